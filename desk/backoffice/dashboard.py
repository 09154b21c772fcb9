"""The back office's dashboard and one signatory's page: deliveries counted by state, the
late ones, the dead outbox jobs, and one signatory's deliveries filtered by state and kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.functions import Count

from desk.backoffice.postal import postal_query
from desk.backoffice.services import LIST_LIMIT, STATE_ORDER, channel_of
from desk.core import clock
from desk.core.errors import DeskError
from desk.outbox.models import JobState, OutboxJob
from desk.registry.models import Signatory
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.states import FINAL_STATES


@dataclass
class SignatoryLine:
    signatory: Signatory
    counts: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class DeadJob:
    job: OutboxJob
    delivery: Delivery | None
    # The adapter that failed ("email", "webhook"...), for delivery jobs.
    connector: str | None


@dataclass
class Overview:
    lines: list[SignatoryLine]
    dead: list[DeadJob]
    states: list[str]
    postal_waiting: int


async def state_counts(*, signatory_id: int | None = None) -> dict[int, dict[str, int]]:
    """signatory id → {state: deliveries}, in one aggregated query."""
    query = Delivery.all()
    if signatory_id is not None:
        query = query.filter(signatory_id=signatory_id)
    rows = (
        await query.annotate(n=Count("id"))
        .group_by("signatory_id", "state")
        .values("signatory_id", "state", "n")
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        state = str(DeliveryState(row["state"]).value)
        counts.setdefault(row["signatory_id"], {})[state] = int(row["n"])
    return counts


async def overdue_counts(*, now: datetime, signatory_id: int | None = None) -> dict[int, int]:
    query = Delivery.filter(due_at__lt=now, paused_since__isnull=True).exclude(
        state__in=list(FINAL_STATES)
    )
    if signatory_id is not None:
        query = query.filter(signatory_id=signatory_id)
    rows = await query.annotate(n=Count("id")).group_by("signatory_id").values("signatory_id", "n")
    return {row["signatory_id"]: int(row["n"]) for row in rows}


async def dead_jobs() -> list[DeadJob]:
    """Parked jobs, newest first, with the delivery and signatory they were about."""
    jobs = await OutboxJob.filter(state=JobState.DEAD).order_by("-finished_at", "-id")
    ids = {
        int(job.payload["delivery_id"])
        for job in jobs
        if str(job.payload.get("delivery_id", "")).isdigit()
    }
    deliveries = {
        d.id: d
        for d in await Delivery.filter(id__in=list(ids)).select_related("signatory", "request")
    }
    out: list[DeadJob] = []
    for job in jobs:
        raw = str(job.payload.get("delivery_id", ""))
        delivery = deliveries.get(int(raw)) if raw.isdigit() else None
        connector = channel_of(delivery) if delivery and job.kind.startswith("delivery.") else None
        out.append(DeadJob(job=job, delivery=delivery, connector=connector))
    return out


async def overview(*, now: datetime | None = None) -> Overview:
    moment = now or clock.now()
    signatories = await Signatory.all().order_by("name")
    counts = await state_counts()
    overdue = await overdue_counts(now=moment)
    lines = [
        SignatoryLine(signatory=s, counts=counts.get(s.id, {}), overdue=overdue.get(s.id, 0))
        for s in signatories
    ]
    return Overview(
        lines=lines,
        dead=await dead_jobs(),
        states=STATE_ORDER,
        postal_waiting=await postal_query(printed=False).count(),
    )


@dataclass
class SignatoryView:
    signatory: Signatory
    counts: dict[str, int]
    overdue: int
    deliveries: list[Delivery]
    truncated: bool
    state: str | None
    kind: str | None
    late_only: bool


def parse_state(raw: str | None) -> DeliveryState | None:
    if not raw:
        return None
    try:
        return DeliveryState(raw)
    except ValueError as exc:
        raise DeskError("État inconnu : choisissez un état dans la liste.") from exc


def parse_kind(raw: str | None) -> RequestKind | None:
    if not raw:
        return None
    try:
        return RequestKind(raw)
    except ValueError as exc:
        raise DeskError("Type de demande inconnu : choisissez-en un dans la liste.") from exc


async def signatory_view(
    *,
    slug: str,
    state: str | None = None,
    kind: str | None = None,
    late_only: bool = False,
    now: datetime | None = None,
) -> SignatoryView:
    moment = now or clock.now()
    signatory = await Signatory.filter(slug=slug[:64]).first()
    if signatory is None:
        raise DeskError("Ce signataire est introuvable.", code="not_found")
    wanted_state = parse_state(state)
    wanted_kind = parse_kind(kind)
    query = Delivery.filter(signatory_id=signatory.id)
    if wanted_state is not None:
        query = query.filter(state=wanted_state)
    if wanted_kind is not None:
        query = query.filter(request__kind=wanted_kind)
    if late_only:
        query = query.filter(due_at__lt=moment).exclude(state__in=list(FINAL_STATES))
    rows = await query.select_related("request").order_by("due_at", "id").limit(LIST_LIMIT + 1)
    counts = await state_counts(signatory_id=signatory.id)
    overdue = await overdue_counts(now=moment, signatory_id=signatory.id)
    return SignatoryView(
        signatory=signatory,
        counts=counts.get(signatory.id, {}),
        overdue=overdue.get(signatory.id, 0),
        deliveries=list(rows[:LIST_LIMIT]),
        truncated=len(rows) > LIST_LIMIT,
        state=wanted_state.value if wanted_state else None,
        kind=wanted_kind.value if wanted_kind else None,
        late_only=late_only,
    )
