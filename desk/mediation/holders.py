"""Who holds a resident's data, on paper: for a person without email, printed by their mediator.

The sheet gathers, for each signatory, its last answer to a discovery request ("holds data",
"holds nothing", refused, still awaited), what it holds in its own declarations' words, an
erasure done since, and the lineage its declarations publish: with whom it shares which data.
It is dated, like every printout of the help point; only a mediator holding a live mandate for
the person prints it (desk.mediation.access.gate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from desk.core import clock
from desk.mediation.access import Access, audit, gate
from desk.registry.models import Declaration, Signatory
from desk.requests import queries
from desk.requests.models import Delivery, DeliveryState, RequestKind, RightsRequest
from desk.staff.models import StaffMember

ACTION = "print_holders"


@dataclass(frozen=True)
class SharedWith:
    """One line of lineage: a declaration of the signatory shares data with a recipient."""

    recipient: str
    declaration: str
    categories: list[str]


@dataclass
class Holder:
    signatory: Signatory
    delivery: Delivery
    request: RightsRequest
    # The declarations the answer named, by title (every one of the signatory's when it named
    # none), and the categories it named.
    declarations: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    shares: list[SharedWith] = field(default_factory=list)
    receipt_id: str | None = None
    erased_at: datetime | None = None


@dataclass
class HoldersSheet:
    access: Access
    holders: list[Holder]
    holds_nothing: list[Holder]
    refused: list[Holder]
    awaited: list[Holder]
    never_asked: list[Signatory]
    printed_at: datetime

    @property
    def asked(self) -> bool:
        return bool(self.holders or self.holds_nothing or self.refused or self.awaited)


def _last_discovery(requests: list[RightsRequest]) -> dict[int, tuple[RightsRequest, Delivery]]:
    """signatory id → its latest discovery delivery, an answered one before a later pending one
    (a new request does not hide the answer already given)."""
    found: dict[int, tuple[RightsRequest, Delivery]] = {}
    answered = (DeliveryState.FULFILLED, DeliveryState.DENIED)
    # resident_requests is newest first: the first answered delivery met is the latest.
    for request in requests:
        if request.kind != RequestKind.DISCOVERY:
            continue
        for d in request.deliveries:
            sid: int = d.signatory_id  # type: ignore[attr-defined]
            if d.state == DeliveryState.WITHDRAWN:
                continue
            kept = found.get(sid)
            if kept is None or (kept[1].state not in answered and d.state in answered):
                found[sid] = (request, d)
    return found


def _erasures(requests: list[RightsRequest]) -> dict[int, datetime]:
    """signatory id → when it last confirmed erasing the resident's data."""
    done: dict[int, datetime] = {}
    for request in requests:
        if request.kind != RequestKind.ERASURE:
            continue
        for d in request.deliveries:
            if d.state == DeliveryState.FULFILLED and d.completed_at is not None:
                sid: int = d.signatory_id  # type: ignore[attr-defined]
                done[sid] = max(done.get(sid, d.completed_at), d.completed_at)
    return done


def _lineage(holder: Holder, declarations: list[Declaration], named: list[str]) -> None:
    chosen = [d for d in declarations if d.code in named] if named else declarations
    holder.declarations = [d.title for d in chosen] or list(named)
    for d in chosen:
        for recipient in dict.fromkeys(r.strip() for r in d.recipients or [] if r.strip()):
            holder.shares.append(
                SharedWith(
                    recipient=recipient, declaration=d.title, categories=list(d.data_categories)
                )
            )


async def holders_sheet(*, mediator: StaffMember, resident_id: int) -> HoldersSheet:
    """The dated sheet of who holds this person's data, from their discovery answers."""
    access = await gate(mediator, resident_id, ACTION)
    requests = await queries.resident_requests(resident_id=resident_id)
    latest = _last_discovery(requests)
    erased = _erasures(requests)
    receipts = await queries.receipts_for(delivery_ids=[d.id for _, d in latest.values()])
    declarations: dict[int, list[Declaration]] = {}
    for declaration in await Declaration.filter(
        signatory_id__in=list(latest), retired_at__isnull=True
    ).order_by("title", "id"):
        declarations.setdefault(declaration.signatory_id, []).append(declaration)  # type: ignore[attr-defined]
    sheet = HoldersSheet(
        access=access, holders=[], holds_nothing=[], refused=[], awaited=[], never_asked=[],
        printed_at=clock.now(),
    )  # fmt: skip
    for sid, (request, delivery) in sorted(latest.items(), key=lambda x: x[1][1].signatory.name):
        holder = Holder(
            signatory=delivery.signatory,
            delivery=delivery,
            request=request,
            receipt_id=receipts[delivery.id].id if delivery.id in receipts else None,
        )
        outcome = delivery.outcome or {}
        if delivery.state == DeliveryState.DENIED:
            sheet.refused.append(holder)
        elif delivery.state != DeliveryState.FULFILLED:
            sheet.awaited.append(holder)
        elif outcome.get("holds_data"):
            holder.categories = [str(c) for c in outcome.get("categories") or []]
            named = [str(c) for c in outcome.get("declarations") or []]
            _lineage(holder, declarations.get(sid, []), named)
            erased_at = erased.get(sid)
            if (
                erased_at is not None
                and delivery.completed_at
                and erased_at > delivery.completed_at
            ):
                holder.erased_at = erased_at
            sheet.holders.append(holder)
        else:
            sheet.holds_nothing.append(holder)
    signed = await queries.signed_signatories()
    sheet.never_asked = [s for s in signed if s.id not in latest]
    await audit(mediator, ACTION, resident_id=resident_id)
    return sheet
