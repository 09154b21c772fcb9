"""Who a mediator may see: a resident they opened a session with, under a valid mandate.

Every check that refuses writes the refusal to the audit table (MediationEvent), ids only.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from desk.core import clock
from desk.mediation.models import (
    EFFECTIVE_CONSENTS,
    AssistedSession,
    Consent,
    Mandate,
    MediationEvent,
    ResidentContact,
)
from desk.mediation.rules import (
    MANDATE_REVOKED,
    NO_MANDATE,
    NOT_YOURS,
    ConsentPending,
    MediationRefused,
)
from desk.residents.models import Resident
from desk.staff.models import StaffMember

log = logging.getLogger("desk.mediation")


async def audit(
    mediator: StaffMember,
    action: str,
    *,
    resident_id: int | None = None,
    outcome: str = "done",
    reference: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await MediationEvent.create(
        mediator_id=mediator.id,
        resident_ref=resident_id,
        action=action,
        outcome=outcome,
        request_reference=reference,
        detail=detail or {},
        at=clock.now(),
    )
    log.info(
        "mediation %s %s by staff %s (resident %s, request %s)",
        action,
        outcome,
        mediator.id,
        resident_id,
        reference,
    )


async def refuse(
    mediator: StaffMember,
    action: str,
    message: str,
    *,
    resident_id: int | None,
    code: str = "forbidden",
    reference: str | None = None,
) -> MediationRefused:
    await audit(
        mediator,
        action,
        resident_id=resident_id,
        outcome="refused",
        reference=reference,
        detail={"code": code},
    )
    return MediationRefused(message, code=code)


# --- who a mediator may see ----------------------------------------------------------------------


@dataclass
class Access:
    """What a mediator holds over one resident right now."""

    resident: Resident
    contact: ResidentContact | None
    mandate: Mandate
    session: AssistedSession

    @property
    def session_open(self) -> bool:
        return self.session.closes_at > clock.now()


def _effective(mediator: StaffMember, resident_id: int) -> Any:
    # Sessions awaiting the resident's consent (or refused) give the mediator nothing.
    return AssistedSession.filter(
        mediator_id=mediator.id, resident_id=resident_id, consent__in=list(EFFECTIVE_CONSENTS)
    )


async def _unknown(
    mediator: StaffMember, resident_id: int, action: str, reference: str | None
) -> MediationRefused:
    """ "Not found", or "consent pending" when this mediator's only session awaits it."""
    if await AssistedSession.filter(
        mediator_id=mediator.id, resident_id=resident_id, consent=Consent.AWAITING
    ).exists():
        await audit(
            mediator, action, resident_id=resident_id, outcome="refused", reference=reference,
            detail={"code": "consent_pending"},
        )  # fmt: skip
        return ConsentPending(resident_id)
    return await refuse(
        mediator, action, NOT_YOURS, resident_id=resident_id, code="not_found",
        reference=reference,
    )  # fmt: skip


async def gate(
    mediator: StaffMember, resident_id: int, action: str, *, reference: str | None = None
) -> Access:
    """The mediator's current hold on this resident, or a refusal (audited)."""
    resident = await Resident.filter(id=resident_id).first()
    if resident is None or not await _effective(mediator, resident_id).exists():
        raise await _unknown(mediator, resident_id, action, reference)
    now = clock.now()
    mandate = (
        await Mandate.filter(
            mediator_id=mediator.id,
            resident_id=resident_id,
            valid_until__gt=now,
            revoked_at__isnull=True,
            session__consent__in=list(EFFECTIVE_CONSENTS),
        )
        .order_by("-created_at", "-id")
        .select_related("session")
        .first()
    )
    if mandate is None:
        # A mandate withdrawn says so: "expired" would send the mediator to renew it behind
        # the resident's back.
        revoked = await Mandate.filter(
            mediator_id=mediator.id, resident_id=resident_id, revoked_at__isnull=False
        ).exists()
        raise await refuse(
            mediator, action, MANDATE_REVOKED if revoked else NO_MANDATE,
            resident_id=resident_id, reference=reference,
            code="forbidden",
        )  # fmt: skip
    session = await _effective(mediator, resident_id).order_by("-opened_at", "-id").first()
    assert session is not None
    contact = await ResidentContact.filter(resident_id=resident_id).first()
    return Access(resident=resident, contact=contact, mandate=mandate, session=session)


async def known_resident(
    *, mediator: StaffMember, resident_id: int, action: str = "renew_form"
) -> Resident:
    """A resident this mediator once opened a session with (mandate valid or not), with the
    resident's consent when they have an account."""
    resident = await Resident.filter(id=resident_id).first()
    if resident is None or not await _effective(mediator, resident_id).exists():
        raise await _unknown(mediator, resident_id, action, None)
    return resident


async def contact_of(*, resident_id: int) -> ResidentContact | None:
    return await ResidentContact.filter(resident_id=resident_id).first()


async def contact_identifiers(resident_id: int) -> dict[str, str]:
    """What a signatory may use to find a resident met at a help point (identity checked there).

    Registered with desk.requests.identifiers; envelopes keep only the kinds a signatory accepts.
    """
    contact = await contact_of(resident_id=resident_id)
    return _identifiers(contact) if contact is not None else {}


async def contact_identifiers_many(resident_ids: Collection[int]) -> dict[int, dict[str, str]]:
    """`contact_identifiers` of many residents, in one query (a worker's batch of deliveries)."""
    if not resident_ids:
        return {}
    contacts = await ResidentContact.filter(resident_id__in=sorted(resident_ids))
    return {c.resident_id: _identifiers(c) for c in contacts}  # type: ignore[attr-defined]


def _identifiers(contact: ResidentContact) -> dict[str, str]:
    found = {"full_name": contact.full_name}
    if contact.address_lines:
        found["postal_address"] = ", ".join(line for line in contact.address_lines if line)
    return found
