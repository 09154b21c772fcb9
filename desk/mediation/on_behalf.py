"""Filing a request on a resident's behalf, with them present and within the mandate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from desk.core import clock
from desk.core.errors import DeskError
from desk.mediation import telling
from desk.mediation.access import Access, audit, gate, refuse
from desk.mediation.models import (
    AssistedFiling,
)
from desk.mediation.rules import (
    KIND_OUTSIDE,
    PAPER_UNSIGNED,
    SESSION_CLOSED,
    SIGNATORY_OUTSIDE,
)
from desk.requests.models import (
    Delivery,
    RequestKind,
    RightsRequest,
)
from desk.requests.services import file_request
from desk.staff.models import StaffMember

# --- filing --------------------------------------------------------------------------------------


async def file_for_resident(
    *,
    mediator: StaffMember,
    resident_id: int,
    kind: RequestKind,
    signatory_ids: list[int],
    submission_key: str | None = None,
) -> RightsRequest:
    """File one request with the resident present, within the mandate."""
    access = await gate(mediator, resident_id, "file_request")
    mandate = access.mandate
    if not access.session_open:
        raise await refuse(mediator, "file_request", SESSION_CLOSED, resident_id=resident_id)
    if not mandate.paper_signed:
        raise await refuse(mediator, "file_request", PAPER_UNSIGNED, resident_id=resident_id)
    if kind.value not in mandate.kinds:
        raise await refuse(mediator, "file_request", KIND_OUTSIDE, resident_id=resident_id)
    wanted = sorted(set(signatory_ids))
    if not wanted:
        raise DeskError("Choisissez au moins un organisme.")
    if mandate.signatory_ids is not None and not set(wanted) <= set(mandate.signatory_ids):
        raise await refuse(mediator, "file_request", SIGNATORY_OUTSIDE, resident_id=resident_id)
    if submission_key:
        earlier = await RightsRequest.filter(submission_key=submission_key).first()
        if earlier is not None and earlier.resident_id == resident_id:  # type: ignore[attr-defined]
            return earlier  # a double click: the first one stands
    help_point = mediator.help_point
    async with in_transaction() as conn:
        request = await file_request(
            resident_id=resident_id,
            kind=kind,
            signatory_ids=wanted,
            submission_key=submission_key,
            filed_via="assisted",
            # Every assisted session starts with an identity check (AssistedSession).
            assurance="in_person",
            # The audit trail names who really filed it.
            actor=f"mediator:{mediator.id}",
            actor_detail={"mediator_name": mediator.display_name, "help_point": help_point},
        )
        await AssistedFiling.create(
            request_id=request.id,
            session_id=access.session.id,
            mediator_id=mediator.id,
            help_point=help_point,
            filed_at=request.created_at,
            using_db=conn,
        )
        await telling.tell_filed(request=request, conn=conn)
    await audit(
        mediator,
        "file_request",
        resident_id=resident_id,
        reference=request.reference,
        detail={"kind": kind.value, "signatories": wanted, "mandate": mandate.id},
    )
    return request


@dataclass
class Acknowledgement:
    access: Access
    request: RightsRequest
    deliveries: list[Delivery]
    filing: AssistedFiling | None
    mediator: StaffMember
    printed_at: datetime


async def acknowledgement(
    *, mediator: StaffMember, resident_id: int, reference: str
) -> Acknowledgement:
    """The dated "accusé de réception" of a request, to hand over on paper."""
    access = await gate(mediator, resident_id, "print_acknowledgement", reference=reference)
    request = (
        await RightsRequest.filter(reference=reference[:32], resident_id=resident_id)
        .prefetch_related("deliveries__signatory")
        .first()
    )
    if request is None:
        raise await refuse(
            mediator, "print_acknowledgement", "Cette demande est introuvable.",
            resident_id=resident_id, code="not_found",
        )  # fmt: skip
    filing = await AssistedFiling.filter(request_id=request.id).select_related("mediator").first()
    await audit(
        mediator, "print_acknowledgement", resident_id=resident_id, reference=request.reference
    )
    return Acknowledgement(
        access=access,
        request=request,
        deliveries=list(request.deliveries),
        filing=filing,
        mediator=filing.mediator if filing else mediator,
        printed_at=clock.now(),
    )
