"""Withdrawing what the resident gave: a mandate revoked, a request filed under it withdrawn.

The printed mandate promises "je peux retirer ce mandat à tout moment". The resident revokes it
from their own space, or the mediator does at the help point when the resident asks; from then
on the gate (desk.mediation.access) gives that mediator nothing for that resident. Each change
is written with its audit record and the resident's mail (outbox) in one transaction; audit
rows carry ids only. Both are printed as dated acknowledgements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.mediation.access import audit, contact_of, gate, refuse
from desk.mediation.models import AssistedFiling, Mandate, ResidentContact
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.receipts.keys import Keyring
from desk.registry.models import Signatory
from desk.requests.models import Delivery, RightsRequest
from desk.requests.states import FINAL_STATES
from desk.residents.models import Resident
from desk.residents.services import withdraw
from desk.residents.views import kind_label
from desk.runtime import Runtime
from desk.staff.models import StaffMember

log = logging.getLogger("desk.mediation")

REVOKED_MAIL_JOB = "mail.mediation_mandate_revoked"
# The mediator prints the acknowledgement of a revocation with the resident present: the day
# after, they see nothing of it any more, like the rest of the file.
REPRINT_WINDOW = timedelta(days=1)

BY_RESIDENT = "resident"
BY_MEDIATOR = "mediator"

MANDATE_UNKNOWN = N_("Ce mandat est introuvable.")
ALREADY_REVOKED = N_("Ce mandat est déjà retiré ou n'est plus valable : il ne donne plus rien.")
NOT_FILED_BY_YOU = N_(
    "Vous ne pouvez retirer que les demandes que vous avez déposées avec cette personne."
)
NOTHING_TO_WITHDRAW = N_(
    "Cette demande ne peut plus être retirée : chaque organisme y a déjà répondu, ou elle est "
    "déjà retirée."
)


async def _revoke(*, mandate: Mandate, by: str, actor: str) -> Mandate:
    """Revoke the mandate and, with it, every other live mandate of the same mediator for the
    same resident: the promise is that this person stops acting for them, not that one sheet
    of paper stops while an older one goes on."""
    now = clock.now()
    resident_id: int = mandate.resident_id  # type: ignore[attr-defined]
    mediator_id: int = mandate.mediator_id  # type: ignore[attr-defined]
    async with in_transaction() as conn:
        live = Mandate.filter(
            mediator_id=mediator_id,
            resident_id=resident_id,
            revoked_at__isnull=True,
            valid_until__gt=now,
        ).using_db(conn)
        ids: list[int] = sorted(int(i) for i in await live.values_list("id", flat=True))  # type: ignore[call-overload]
        # Conditional: of two clicks (or the resident and the mediator at once), one wins.
        if mandate.id not in ids or not await live.filter(id__in=ids).update(
            revoked_at=now, revoked_by=by
        ):
            raise DeskError(ALREADY_REVOKED, code="conflict")
        await record_action(
            action="mediation.mandate_revoked",
            actor=actor,
            subject=f"resident:{resident_id}",
            detail={"mandates": ids, "mediator": mediator_id, "by": by},
            connection=conn,
        )
        await enqueue(
            kind=REVOKED_MAIL_JOB,
            payload={"mandate_id": mandate.id},
            idempotency_key=f"mediation-mandate-revoked-{mandate.id}",
            connection=conn,
        )
    mandate.revoked_at = now
    mandate.revoked_by = by
    log.info("mandates %s of resident %s revoked by %s", ids, resident_id, by)
    return mandate


async def revoke_by_mediator(
    *, mediator: StaffMember, resident_id: int, mandate_id: int
) -> Mandate:
    """The mediator revokes, at the resident's word, a mandate they hold from them."""
    await gate(mediator, resident_id, "revoke_mandate")
    mandate = await Mandate.filter(
        id=mandate_id, mediator_id=mediator.id, resident_id=resident_id
    ).first()
    if mandate is None:
        raise await refuse(
            mediator, "revoke_mandate", MANDATE_UNKNOWN, resident_id=resident_id,
            code="not_found",
        )  # fmt: skip
    revoked = await _revoke(mandate=mandate, by=BY_MEDIATOR, actor=f"staff:{mediator.id}")
    await audit(mediator, "revoke_mandate", resident_id=resident_id, detail={"mandate": mandate.id})
    return revoked


async def revoke_by_resident(*, resident_id: int, mandate_id: int) -> Mandate:
    """The resident, logged in to their own space, revokes a mandate given for them."""
    mandate = await Mandate.filter(id=mandate_id, resident_id=resident_id).first()
    if mandate is None:
        raise DeskError(MANDATE_UNKNOWN, code="not_found")
    return await _revoke(mandate=mandate, by=BY_RESIDENT, actor=f"resident:{resident_id}")


async def withdraw_filed(
    *,
    mediator: StaffMember,
    resident_id: int,
    reference: str,
    keyring: Keyring,
    issuer: str,
) -> RightsRequest:
    """The mediator withdraws, with the resident, a request they filed with them: every part
    not yet answered, through the resident's own withdrawal (the same state machine)."""
    action = "withdraw_request"
    await gate(mediator, resident_id, action, reference=reference)
    request = await RightsRequest.filter(reference=reference[:32], resident_id=resident_id).first()
    if request is None:
        raise await refuse(
            mediator, action, "Cette demande est introuvable.", resident_id=resident_id,
            code="not_found", reference=reference,
        )  # fmt: skip
    if not await AssistedFiling.filter(request_id=request.id, mediator_id=mediator.id).exists():
        raise await refuse(
            mediator, action, NOT_FILED_BY_YOU, resident_id=resident_id,
            reference=request.reference,
        )  # fmt: skip
    open_ids = [
        d.id for d in await Delivery.filter(request_id=request.id, state__not_in=list(FINAL_STATES))
    ]
    withdrawn: list[int] = []
    for delivery_id in sorted(open_ids):
        try:
            await withdraw(
                resident_id=resident_id,
                reference=request.reference,
                delivery_id=delivery_id,
                keyring=keyring,
                issuer=issuer,
                actor=f"mediator:{mediator.id}",
            )
        except DeskError as exc:
            # An answer that arrived meanwhile stands: that part is no longer withdrawable.
            if exc.code != "conflict":
                raise
            continue
        withdrawn.append(delivery_id)
    if not withdrawn:
        raise DeskError(NOTHING_TO_WITHDRAW, code="conflict")
    await audit(
        mediator, action, resident_id=resident_id, reference=request.reference,
        detail={"deliveries": withdrawn},
    )  # fmt: skip
    return request


# --- the dated acknowledgements ------------------------------------------------------------------


@dataclass
class RevocationSheet:
    resident: Resident
    contact: ResidentContact | None
    mandate: Mandate
    mediator: StaffMember
    printed_at: datetime


async def _sheet(mandate: Mandate | None) -> RevocationSheet:
    if mandate is None or mandate.revoked_at is None:
        raise DeskError(MANDATE_UNKNOWN, code="not_found")
    return RevocationSheet(
        resident=mandate.resident,
        contact=await contact_of(resident_id=mandate.resident.id),
        mandate=mandate,
        mediator=mandate.mediator,
        printed_at=clock.now(),
    )


async def revocation_sheet_for_mediator(
    *, mediator: StaffMember, resident_id: int, mandate_id: int
) -> RevocationSheet:
    """The acknowledgement of a revocation this mediator recorded, printable the same day."""
    mandate = (
        await Mandate.filter(
            id=mandate_id,
            mediator_id=mediator.id,
            resident_id=resident_id,
            revoked_by=BY_MEDIATOR,
            revoked_at__gt=clock.now() - REPRINT_WINDOW,
        )
        .select_related("resident", "mediator")
        .first()
    )
    if mandate is None:
        raise await refuse(
            mediator, "print_revocation", MANDATE_UNKNOWN, resident_id=resident_id,
            code="not_found",
        )  # fmt: skip
    await audit(mediator, "print_revocation", resident_id=resident_id)
    return await _sheet(mandate)


async def revocation_sheet_for_resident(*, resident_id: int, mandate_id: int) -> RevocationSheet:
    mandate = (
        await Mandate.filter(id=mandate_id, resident_id=resident_id)
        .select_related("resident", "mediator")
        .first()
    )
    return await _sheet(mandate)


@dataclass
class WithdrawalSheet:
    resident: Resident
    contact: ResidentContact | None
    request: RightsRequest
    deliveries: list[Delivery]
    withdrawn_at: datetime | None
    mediator: StaffMember
    printed_at: datetime


async def withdrawal_sheet(
    *, mediator: StaffMember, resident_id: int, reference: str
) -> WithdrawalSheet:
    """The dated acknowledgement of a request withdrawn at the help point."""
    access = await gate(mediator, resident_id, "print_withdrawal", reference=reference)
    request = (
        await RightsRequest.filter(reference=reference[:32], resident_id=resident_id)
        .prefetch_related("deliveries__signatory", "deliveries__events")
        .first()
    )
    if request is None:
        raise await refuse(
            mediator, "print_withdrawal", "Cette demande est introuvable.",
            resident_id=resident_id, code="not_found",
        )  # fmt: skip
    deliveries = list(request.deliveries)
    moments = [e.at for d in deliveries for e in d.events if e.action == "withdraw"]
    await audit(mediator, "print_withdrawal", resident_id=resident_id, reference=reference)
    return WithdrawalSheet(
        resident=access.resident,
        contact=access.contact,
        request=request,
        deliveries=deliveries,
        withdrawn_at=max(moments) if moments else None,
        mediator=mediator,
        printed_at=clock.now(),
    )


# --- telling the resident ------------------------------------------------------------------------


async def send_mandate_revoked(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler: the resident hears that a mandate given for them was withdrawn."""
    mandate = (
        await Mandate.filter(id=int(job.payload.get("mandate_id", 0)))
        .select_related("resident", "mediator")
        .first()
    )
    if mandate is None or mandate.revoked_at is None or not mandate.resident.email:
        return  # gone, or a resident without email: the printed acknowledgement tells them
    names: list[str] = []
    if mandate.signatory_ids is not None:
        names = [s.name for s in await Signatory.filter(id__in=mandate.signatory_ids)]
    await rt.send_mail(
        to=mandate.resident.email,
        template="mediation_mandate_revoked",
        context={
            "revoked_at": mandate.revoked_at,
            "by_resident": mandate.revoked_by == BY_RESIDENT,
            "mediator_name": mandate.mediator.display_name,
            "help_point": mandate.mediator.help_point,
            "kinds": [kind_label(k) for k in mandate.kinds],
            "signatories": sorted(names),
            "dashboard_url": rt.settings.url("/mon-espace"),
            "contact": rt.settings.dpo_contact,
        },
        idempotency_key=job.idempotency_key,
        locale=mandate.resident.locale or "fr",
    )
    log.info("revocation of mandate %s mailed to resident %s", mandate.id, mandate.resident.id)


HANDLERS = {REVOKED_MAIL_JOB: send_mandate_revoked}
