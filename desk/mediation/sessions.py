"""Opening a session with a resident present: identity checked, contact kept, mandate recorded."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from desk.core import clock
from desk.core.emails import normalise_email
from desk.core.errors import DeskError
from desk.mediation import consent, telling
from desk.mediation.access import Access, audit, gate, known_resident, refuse
from desk.mediation.models import (
    AssistedSession,
    Consent,
    IdentityCheck,
    Mandate,
    ResidentContact,
)
from desk.mediation.rules import (
    MANDATE_MONTHS,
    ContactInput,
    DuplicateResident,
    MandateInput,
    end_of_day,
    match_key,
)
from desk.registry.models import CharterStatus, Signatory
from desk.residents.models import Resident
from desk.staff.models import StaffMember

# --- opening a session ---------------------------------------------------------------------------


async def find_duplicates(*, contact: ContactInput) -> list[Resident]:
    key = match_key(contact.full_name, contact.address_lines)
    rows = await ResidentContact.filter(match_key=key).select_related("resident")
    return [row.resident for row in rows]


async def signed_signatories() -> list[Signatory]:
    return await Signatory.filter(charter_status=CharterStatus.SIGNED).order_by("name")


async def _check_mandate(mandate: MandateInput) -> None:
    if not mandate.kinds:
        raise DeskError("Cochez au moins un type de demande couvert par le mandat.")
    if mandate.months not in MANDATE_MONTHS:
        raise DeskError("Choisissez la durée du mandat : 1, 3 ou 6 mois.")
    if mandate.signatory_ids is not None:
        if not mandate.signatory_ids:
            raise DeskError(
                "Cochez au moins un organisme couvert par le mandat, ou « tous les signataires »."
            )
        known = await Signatory.filter(
            id__in=mandate.signatory_ids, charter_status=CharterStatus.SIGNED
        ).count()
        if known != len(set(mandate.signatory_ids)):
            raise DeskError("Un des organismes choisis n'est pas signataire de la charte.")


def _check_contact(contact: ContactInput) -> None:
    if not contact.full_name.strip():
        raise DeskError("Indiquez le nom et le prénom de la personne.")
    if len(contact.full_name) > 200 or any(len(x) > 200 for x in contact.address_lines):
        raise DeskError("Le nom ou une ligne de l'adresse est trop long (200 caractères au plus).")
    if contact.reached_at_help_point:
        return
    if not contact.address_complete:
        raise DeskError(
            "L'adresse postale est incomplète : indiquez le numéro et la rue, le code postal "
            "(5 chiffres) et la commune, ou cochez « joindre la personne au point d'aide »."
        )


async def open_session(
    *,
    mediator: StaffMember,
    identity_check: IdentityCheck,
    mandate: MandateInput,
    resident_id: int | None = None,
    email: str | None = None,
    contact: ContactInput | None = None,
    use_existing_id: int | None = None,
    homonym_confirmed: bool = False,
    secret_key: str | None = None,
    now: datetime | None = None,
) -> tuple[AssistedSession, Mandate]:
    """Open a session with a resident present and record their mandate.

    The resident is one already followed (`resident_id`), found or created by `email`, or
    created without email from `contact`; a contact whose name and address match an existing one
    raises DuplicateResident unless the existing one is chosen (`use_existing_id`) or the
    mediator confirmed it is another person.

    A resident who already has an account (an address, and not created just now) must consent:
    the session then awaits the code mailed to them (`secret_key` seals it in the mail job) and
    gives the mediator nothing until it is typed (desk.mediation.consent).
    """
    moment = now or clock.now()
    await _check_mandate(mandate)
    created = False
    if resident_id is not None:
        resident = await known_resident(mediator=mediator, resident_id=resident_id)
    elif email is not None and email.strip():
        address = normalise_email(email)
        existing = await Resident.filter(email=address).first()
        if existing is None:
            resident = await Resident.create(email=address, pseudonym=secrets.token_hex(16))
            created = True
        else:
            resident = existing
    elif contact is not None:
        _check_contact(contact)
        duplicates = await find_duplicates(contact=contact)
        chosen = [r for r in duplicates if use_existing_id is not None and r.id == use_existing_id]
        if chosen:
            resident = chosen[0]
        elif duplicates and not homonym_confirmed:
            await audit(
                mediator,
                "duplicate_proposed",
                resident_id=duplicates[0].id,
                outcome="refused",
                detail={"candidates": [r.id for r in duplicates]},
            )
            raise DuplicateResident(duplicates)
        else:
            async with in_transaction() as conn:
                resident = await Resident.create(
                    email=None, pseudonym=secrets.token_hex(16), using_db=conn
                )
                await ResidentContact.create(
                    resident=resident,
                    full_name=contact.full_name.strip(),
                    address_lines=[] if not contact.address_complete else contact.address_lines,
                    reached_at_help_point=contact.reached_at_help_point,
                    help_point=mediator.help_point,
                    match_key=match_key(contact.full_name, contact.address_lines),
                    using_db=conn,
                )
            created = True
    else:
        raise DeskError(
            "Indiquez l'adresse électronique de la personne, ou son nom et son adresse postale."
        )
    needs_consent = consent.consent_needed(resident, created=created)
    if needs_consent:
        if secret_key is None:
            raise ValueError("a consent code is sealed with the desk's secret key")
        await consent.check_ration(mediator=mediator, resident_id=resident.id, now=moment)
    async with in_transaction() as conn:
        session = await AssistedSession.create(
            mediator_id=mediator.id,
            resident_id=resident.id,
            opened_at=moment,
            closes_at=end_of_day(moment),
            identity_check=identity_check,
            consent=Consent.AWAITING if needs_consent else Consent.NOT_NEEDED,
            using_db=conn,
        )
        record = await Mandate.create(
            session=session,
            resident_id=resident.id,
            mediator_id=mediator.id,
            kinds=[k.value for k in mandate.kinds],
            signatory_ids=sorted(set(mandate.signatory_ids))
            if mandate.signatory_ids is not None
            else None,
            valid_until=clock.add_months(moment, mandate.months),
            paper_signed=mandate.paper_signed,
            signed_recorded_at=moment if mandate.paper_signed else None,
            help_point=mediator.help_point,
            using_db=conn,
        )
        if needs_consent:
            assert secret_key is not None
            await consent.send_code(
                session=session, mediator=mediator, resident_id=resident.id,
                secret_key=secret_key, conn=conn, now=moment,
            )  # fmt: skip
        elif resident.email:
            # Every mandate given for a resident with a mailbox is mailed to them.
            await telling.tell_mandate(mandate=record, conn=conn)
    await audit(
        mediator,
        "open_session",
        resident_id=resident.id,
        detail={
            "session": session.id,
            "mandate": record.id,
            "identity_check": identity_check.value,
            "kinds": record.kinds,
            "signatories": record.signatory_ids,
            "months": mandate.months,
            "paper_signed": mandate.paper_signed,
            "resident_created": created,
            "consent": session.consent.value,
        },
    )
    return session, record


async def record_paper_signed(
    *, mediator: StaffMember, resident_id: int, mandate_id: int
) -> Mandate:
    access = await gate(mediator, resident_id, "mandate_signed")
    mandate = await Mandate.filter(
        id=mandate_id, mediator_id=mediator.id, resident_id=resident_id
    ).first()
    if mandate is None:
        raise await refuse(
            mediator, "mandate_signed", "Ce mandat est introuvable.", resident_id=resident_id,
            code="not_found",
        )  # fmt: skip
    if mandate.id != access.mandate.id:
        raise await refuse(
            mediator,
            "mandate_signed",
            "Ce mandat n'est plus le mandat en cours de cette personne.",
            resident_id=resident_id,
            code="conflict",
        )
    if not mandate.paper_signed:
        mandate.paper_signed = True
        mandate.signed_recorded_at = clock.now()
        await mandate.save(update_fields=["paper_signed", "signed_recorded_at"])
        await audit(
            mediator, "mandate_signed", resident_id=resident_id, detail={"mandate": mandate.id}
        )
    return mandate


@dataclass
class MandateSheet:
    access: Access
    mandate: Mandate
    signatories: list[Signatory]
    all_signatories: bool


async def mandate_sheet(
    *, mediator: StaffMember, resident_id: int, mandate_id: int
) -> MandateSheet:
    access = await gate(mediator, resident_id, "print_mandate")
    mandate = (
        await Mandate.filter(id=mandate_id, mediator_id=mediator.id, resident_id=resident_id)
        .select_related("session")
        .first()
    )
    if mandate is None:
        raise await refuse(
            mediator, "print_mandate", "Ce mandat est introuvable.", resident_id=resident_id,
            code="not_found",
        )  # fmt: skip
    signatories = await signed_signatories()
    if mandate.signatory_ids is not None:
        signatories = [s for s in signatories if s.id in set(mandate.signatory_ids)]
    await audit(mediator, "print_mandate", resident_id=resident_id, detail={"mandate": mandate.id})
    return MandateSheet(
        access=access,
        mandate=mandate,
        signatories=signatories,
        all_signatories=mandate.signatory_ids is None,
    )
