"""Read-only queries for a resident's dashboard: a fixed number of queries, never one per row."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.query_utils import Prefetch

from desk.receipts.models import Receipt
from desk.registry.models import CharterStatus, Declaration, Signatory
from desk.requests.models import (
    AccessCopy,
    Delivery,
    DeliveryEvent,
    RequestKind,
    RightsRequest,
)

# After a copy is first opened, the browser session that opened it may take it again for this
# long (an interrupted download, the readable page then the file), then its content is erased.
COPY_RETRY_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class CopyInfo:
    """An access copy without its content (the bytes are loaded only to be downloaded)."""

    id: str
    delivery_id: int
    filename: str
    content_type: str
    size: int
    created_at: datetime
    expires_at: datetime
    downloaded_at: datetime | None
    deleted_at: datetime | None
    # SHA-256 of the browser key that took it (desk.residents.copies).
    taken_by: str | None = None

    @property
    def available(self) -> bool:
        return self.downloaded_at is None and self.deleted_at is None

    @property
    def retry_until(self) -> datetime | None:
        """Until when the browser that took it may take it again (None: not taken)."""
        if self.downloaded_at is None or self.deleted_at is not None:
            return None
        return self.downloaded_at + COPY_RETRY_WINDOW


@dataclass(frozen=True)
class ReceiptInfo:
    id: str
    delivery_id: int
    issued_at: datetime


@dataclass
class RequestDetail:
    request: RightsRequest
    deliveries: list[Delivery]
    events: dict[int, list[DeliveryEvent]] = field(default_factory=dict)
    copies: dict[int, list[CopyInfo]] = field(default_factory=dict)
    receipts: dict[int, ReceiptInfo] = field(default_factory=dict)
    # signatory id → {declaration code: title}, to name what a discovery answer points at.
    declaration_titles: dict[int, dict[str, str]] = field(default_factory=dict)


def _deliveries_with_signatory() -> Prefetch:
    return Prefetch("deliveries", queryset=Delivery.all().select_related("signatory"))


async def resident_requests(*, resident_id: int) -> list[RightsRequest]:
    """Every request of a resident, newest first, with deliveries and their signatories."""
    return (
        await RightsRequest.filter(resident_id=resident_id)
        .order_by("-created_at", "-id")
        .prefetch_related(_deliveries_with_signatory())
    )


async def latest_discovery(*, resident_id: int) -> RightsRequest | None:
    return (
        await RightsRequest.filter(resident_id=resident_id, kind=RequestKind.DISCOVERY)
        .order_by("-created_at", "-id")
        .prefetch_related(_deliveries_with_signatory())
        .first()
    )


async def resident_request(*, resident_id: int, reference: str) -> RequestDetail | None:
    """One request of this resident, with everything its page shows; None if not theirs."""
    request = (
        await RightsRequest.filter(reference=reference, resident_id=resident_id)
        .prefetch_related(_deliveries_with_signatory())
        .first()
    )
    if request is None:
        return None
    deliveries = list(request.deliveries)
    ids = [d.id for d in deliveries]
    detail = RequestDetail(request=request, deliveries=deliveries)
    if not ids:
        return detail
    for event in await DeliveryEvent.filter(delivery_id__in=ids).order_by("at", "id"):
        detail.events.setdefault(event.delivery_id, []).append(event)  # type: ignore[attr-defined]
    detail.copies = await copies_for(delivery_ids=ids)
    detail.receipts = await receipts_for(delivery_ids=ids)
    signatory_ids = [d.signatory_id for d in deliveries]  # type: ignore[attr-defined]
    for sid, code, title in await Declaration.filter(signatory_id__in=signatory_ids).values_list(
        "signatory_id", "code", "title"
    ):
        detail.declaration_titles.setdefault(sid, {})[code] = title
    return detail


async def copies_for(*, delivery_ids: list[int]) -> dict[int, list[CopyInfo]]:
    rows = (
        await AccessCopy.filter(delivery_id__in=delivery_ids)
        .order_by("created_at")
        .values(
            "id",
            "delivery_id",
            "filename",
            "content_type",
            "size",
            "created_at",
            "expires_at",
            "downloaded_at",
            "deleted_at",
            "taken_by",
        )  # fmt: skip
    )
    grouped: dict[int, list[CopyInfo]] = defaultdict(list)
    for row in rows:
        grouped[row["delivery_id"]].append(CopyInfo(**row))
    return dict(grouped)


async def receipts_for(*, delivery_ids: list[int]) -> dict[int, ReceiptInfo]:
    if not delivery_ids:
        return {}
    rows = await Receipt.filter(delivery_id__in=delivery_ids).values(
        "id", "delivery_id", "issued_at"
    )
    return {row["delivery_id"]: ReceiptInfo(**row) for row in rows}


async def resident_copy(*, resident_id: int, copy_id: str) -> AccessCopy | None:
    """An access copy (with its content) if it belongs to this resident."""
    if not copy_id or len(copy_id) > 40:
        return None
    return await AccessCopy.filter(id=copy_id, delivery__request__resident_id=resident_id).first()


async def signed_signatories() -> list[Signatory]:
    """The charter's current signatories with their declarations, by name."""
    return (
        await Signatory.filter(charter_status=CharterStatus.SIGNED)
        .order_by("name")
        .prefetch_related(Prefetch("declarations", queryset=Declaration.all().order_by("id")))
    )


@dataclass(frozen=True)
class SignatoryRef:
    """What the dashboard shows of a signatory: enough to name it and link to it."""

    id: int
    slug: str
    name: str


@dataclass
class DashboardData:
    """The dashboard's rows, read in three queries whatever the number of signatories."""

    # Signed signatories, by name.
    signatories: list[SignatoryRef]
    # Every signatory's name by id (a delivery may go to one no longer signed).
    names: dict[int, str]
    # signatory id → {declaration code: title}
    declaration_titles: dict[int, dict[str, str]]
    # The resident's requests, newest first, with their deliveries (signatories not loaded).
    requests: list[RightsRequest]


async def dashboard_data(*, resident_id: int) -> DashboardData:
    """Signatories and declarations read as tuples, deliveries without their signatory's row:
    the dashboard spent half its time building models and decoding JSON (descriptions,
    settings, declarations' texts) it never shows (bench/dashboard.py)."""
    signed: list[SignatoryRef] = []
    names: dict[int, str] = {}
    for sid, slug, name, status in (
        await Signatory.all().order_by("name").values_list("id", "slug", "name", "charter_status")
    ):
        names[sid] = name
        if status == CharterStatus.SIGNED:
            signed.append(SignatoryRef(id=sid, slug=slug, name=name))
    titles: dict[int, dict[str, str]] = {}
    for sid, code, title in (
        await Declaration.filter(signatory__charter_status=CharterStatus.SIGNED)
        .order_by("id")
        .values_list("signatory_id", "code", "title")
    ):
        titles.setdefault(sid, {})[code] = title
    requests = (
        await RightsRequest.filter(resident_id=resident_id)
        .order_by("-created_at", "-id")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.all()))
    )
    return DashboardData(
        signatories=signed, names=names, declaration_titles=titles, requests=list(requests)
    )
