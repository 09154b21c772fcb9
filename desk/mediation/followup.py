"""What a mediator follows: the residents under mandate, their news to tell, letters, copies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from desk.core import clock
from desk.core.errors import DeskError
from desk.mediation import consent
from desk.mediation.access import Access, audit, gate, refuse
from desk.mediation.models import (
    EFFECTIVE_CONSENTS,
    AssistedFiling,
    AssistedSession,
    CopyTaken,
    Mandate,
    MediationEvent,
    ResidentContact,
    ToldMark,
)
from desk.mediation.rules import NOTEWORTHY, TOLD_CHANNELS
from desk.mediation.sessions import signed_signatories
from desk.receipts.models import Receipt
from desk.registry.models import Signatory
from desk.requests import queries
from desk.requests.models import (
    Delivery,
    DeliveryEvent,
    DeliveryState,
    RightsRequest,
)
from desk.requests.states import OPEN_STATES
from desk.residents.models import Resident
from desk.residents.services import Download, take_copy
from desk.staff.models import StaffMember

# --- what a mediator sees ------------------------------------------------------------------------


@dataclass
class Change:
    """A signatory's move on a request: what to tell the resident, and whether it was told."""

    event: DeliveryEvent
    delivery: Delivery
    request: RightsRequest
    told: ToldMark | None
    new: bool = False
    receipt_id: str | None = None


@dataclass
class FollowedResident:
    resident: Resident
    contact: ResidentContact | None
    mandate: Mandate
    requests: list[RightsRequest]
    changes: list[Change] = field(default_factory=list)

    @property
    def has_email(self) -> bool:
        return bool(self.resident.email)

    @property
    def to_tell(self) -> list[Change]:
        return [c for c in self.changes if c.told is None] if not self.has_email else []

    @property
    def open_requests(self) -> list[RightsRequest]:
        return [
            r
            for r in self.requests
            if any(d.state in OPEN_STATES or d.state == DeliveryState.FAILED for d in r.deliveries)
        ]


async def changes_of(resident_ids: list[int], since: datetime | None) -> dict[int, list[Change]]:
    if not resident_ids:
        return {}
    events = (
        await DeliveryEvent.filter(
            delivery__request__resident_id__in=resident_ids, action__in=list(NOTEWORTHY)
        )
        .select_related("delivery__request", "delivery__signatory")
        .order_by("at", "id")
    )
    ids = [e.id for e in events]
    marks = {m.event_id: m for m in await ToldMark.filter(event_id__in=ids)}  # type: ignore[attr-defined]
    receipts = {
        r["delivery_id"]: r["id"]
        for r in await Receipt.filter(delivery_id__in=[e.delivery_id for e in events]).values(  # type: ignore[attr-defined]
            "id", "delivery_id"
        )
    }
    grouped: dict[int, list[Change]] = {}
    for event in events:
        request = event.delivery.request
        grouped.setdefault(request.resident_id, []).append(  # type: ignore[attr-defined]
            Change(
                event=event,
                delivery=event.delivery,
                request=request,
                told=marks.get(event.id),
                new=since is None or event.at > since,
                receipt_id=receipts.get(event.delivery.id)
                if event.action in ("fulfil", "deny")
                else None,
            )
        )
    return grouped


@dataclass
class Home:
    residents: list[FollowedResident]
    last_visit: datetime | None
    # Sessions opened today that wait for the resident's consent (the code from their mailbox).
    awaiting: list[AssistedSession] = field(default_factory=list)


async def home(*, mediator: StaffMember) -> Home:
    """The residents under a valid mandate of this mediator, their requests and what changed."""
    now = clock.now()
    previous = (
        await MediationEvent.filter(mediator_id=mediator.id, action="view_home")
        .order_by("-at", "-id")
        .first()
    )
    mandates = await Mandate.filter(
        mediator_id=mediator.id,
        valid_until__gt=now,
        revoked_at__isnull=True,
        session__consent__in=list(EFFECTIVE_CONSENTS),
    ).order_by("-created_at", "-id")
    latest: dict[int, Mandate] = {}
    for m in mandates:
        latest.setdefault(m.resident_id, m)  # type: ignore[attr-defined]
    ids = list(latest)
    residents = {r.id: r for r in await Resident.filter(id__in=ids)}
    contacts = {c.resident_id: c for c in await ResidentContact.filter(resident_id__in=ids)}  # type: ignore[attr-defined]
    since = previous.at if previous else None
    changes = await changes_of(ids, since)
    followed: list[FollowedResident] = []
    for rid in ids:
        requests = await queries.resident_requests(resident_id=rid)
        followed.append(
            FollowedResident(
                resident=residents[rid],
                contact=contacts.get(rid),
                mandate=latest[rid],
                requests=requests,
                changes=changes.get(rid, []),
            )
        )
    followed.sort(key=lambda f: (not f.to_tell, -(f.mandate.created_at.timestamp())))
    await audit(mediator, "view_home")
    return Home(
        residents=followed,
        last_visit=since,
        awaiting=await consent.pending_for(mediator=mediator),
    )


@dataclass
class ResidentFile:
    access: Access
    followed: FollowedResident
    receipts: dict[int, queries.ReceiptInfo]
    copies: dict[int, list[queries.CopyInfo]]
    signatories: list[Signatory]
    filed_by_me: set[int]

    @property
    def can_file(self) -> bool:
        return self.access.session_open and self.access.mandate.paper_signed

    @property
    def questions(self) -> list[tuple[RightsRequest, Delivery]]:
        """Signatories' questions still waiting for the resident's answer."""
        return [
            (r, d)
            for r in self.followed.requests
            for d in r.deliveries
            if d.state == DeliveryState.AWAITING_INFO
        ]


async def _followed(access: Access) -> FollowedResident:
    rid = access.resident.id
    return FollowedResident(
        resident=access.resident,
        contact=access.contact,
        mandate=access.mandate,
        requests=await queries.resident_requests(resident_id=rid),
        changes=(await changes_of([rid], None)).get(rid, []),
    )


async def resident_file(*, mediator: StaffMember, resident_id: int) -> ResidentFile:
    access = await gate(mediator, resident_id, "view_resident")
    followed = await _followed(access)
    requests = followed.requests
    delivery_ids = [d.id for r in requests for d in r.deliveries]
    signatories = await signed_signatories()
    if access.mandate.signatory_ids is not None:
        allowed = set(access.mandate.signatory_ids)
        signatories = [s for s in signatories if s.id in allowed]
    filings = await AssistedFiling.filter(
        mediator_id=mediator.id, request_id__in=[r.id for r in requests]
    )
    await audit(mediator, "view_resident", resident_id=resident_id)
    return ResidentFile(
        access=access,
        followed=followed,
        receipts=await queries.receipts_for(delivery_ids=delivery_ids),
        copies=await queries.copies_for(delivery_ids=delivery_ids),
        signatories=signatories,
        filed_by_me={f.request_id for f in filings},  # type: ignore[attr-defined]
    )


async def take_copy_for(*, mediator: StaffMember, resident_id: int, copy_id: str) -> Download:
    """A resident's access copy, handed to their mediator to print: once, like online."""
    await gate(mediator, resident_id, "download_copy")
    try:
        download = await take_copy(resident_id=resident_id, copy_id=copy_id)
    except DeskError as exc:
        raise await refuse(
            mediator, "download_copy", exc.message, resident_id=resident_id, code=exc.code
        ) from exc
    # Not in take_copy's transaction: an expired copy must stay emptied when this refuses.
    # take_copy's conditional UPDATE already lets one click only get here.
    await CopyTaken.create(
        copy_id=copy_id, resident_id=resident_id, mediator_id=mediator.id,
        help_point=mediator.help_point, taken_at=clock.now(),
    )  # fmt: skip
    await audit(mediator, "download_copy", resident_id=resident_id, detail={"copy": copy_id[:40]})
    return download


async def mark_told(
    *, mediator: StaffMember, resident_id: int, event_id: int, channel: str = "help_point"
) -> ToldMark:
    await gate(mediator, resident_id, "mark_told")
    if channel not in TOLD_CHANNELS:
        raise DeskError("Indiquez comment la personne a été prévenue.")
    event = await DeliveryEvent.filter(
        id=event_id, action__in=list(NOTEWORTHY), delivery__request__resident_id=resident_id
    ).first()
    if event is None:
        raise await refuse(
            mediator, "mark_told", "Cette nouvelle est introuvable.", resident_id=resident_id,
            code="not_found",
        )  # fmt: skip
    existing = await ToldMark.filter(event_id=event.id).first()
    if existing is not None:
        return existing
    mark = await ToldMark.create(
        event=event, resident_id=resident_id, mediator_id=mediator.id, channel=channel,
        at=clock.now(),
    )  # fmt: skip
    await audit(
        mediator,
        "mark_told",
        resident_id=resident_id,
        detail={"event": event.id, "channel": channel},
    )
    return mark


@dataclass
class Letter:
    access: Access
    contact: ResidentContact
    changes: list[Change]
    open_requests: list[RightsRequest]
    written_on: datetime


async def letter(
    *, mediator: StaffMember, resident_id: int, action: str = "print_letter"
) -> Letter:
    """A letter for the post to a resident without email: what changed, what is still open."""
    access = await gate(mediator, resident_id, action)
    contact = access.contact
    # Complete addresses are stored whole (street and town), incomplete ones not at all.
    if contact is None or len(contact.address_lines) < 2:
        raise await refuse(
            mediator,
            action,
            "L'adresse postale de cette personne est incomplète : une lettre ne peut pas lui "
            "être envoyée. Prévenez-la au point d'aide, ou ouvrez une nouvelle séance avec elle "
            "pour noter son adresse complète.",
            resident_id=resident_id,
            code="invalid",
        )
    followed = await _followed(access)
    await audit(mediator, action, resident_id=resident_id)
    return Letter(
        access=access,
        contact=contact,
        changes=followed.to_tell,
        open_requests=followed.open_requests,
        written_on=clock.now(),
    )


async def letter_posted(*, mediator: StaffMember, resident_id: int) -> int:
    """The letter went to the post: what it told counts as told. Returns how many changes."""
    sent = await letter(mediator=mediator, resident_id=resident_id, action="letter_posted")
    now = clock.now()
    count = 0
    for change in sent.changes:
        if not await ToldMark.filter(event_id=change.event.id).exists():
            await ToldMark.create(
                event=change.event, resident_id=resident_id, mediator_id=mediator.id,
                channel="letter", at=now,
            )  # fmt: skip
            count += 1
    return count
