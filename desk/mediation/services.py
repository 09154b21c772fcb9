"""The mediators' rules: sessions, mandates, filing on a resident's behalf, follow-up, purge.

Every function takes the acting mediator and checks, before anything else, that the resident is
one of theirs (a session was opened with them: otherwise "not found") and that the mandate
covers the action (otherwise "forbidden"). Done and refused actions are written to the audit
table (MediationEvent), with ids only.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from desk import clock
from desk.mediation.models import (
    AssistedFiling,
    AssistedSession,
    IdentityCheck,
    Mandate,
    MediationEvent,
    ResidentContact,
    ToldMark,
)
from desk.receipts.models import Receipt
from desk.registry.models import CharterStatus, Signatory
from desk.requests import queries
from desk.requests.errors import RequestError
from desk.requests.models import (
    Delivery,
    DeliveryEvent,
    DeliveryState,
    RequestKind,
    RightsRequest,
)
from desk.requests.services import file_request
from desk.requests.states import FINAL_STATES, OPEN_STATES
from desk.residents.models import Resident
from desk.residents.services import Download, InvalidEmail, normalise_email, take_copy
from desk.staff.models import StaffMember

log = logging.getLogger("desk.mediation")

RETENTION_MONTHS = 6
MANDATE_MONTHS = (1, 3, 6)
# What a signatory does that the resident must hear about.
NOTEWORTHY = ("extend", "fulfil", "deny", "need_info")
TOLD_CHANNELS = ("help_point", "letter")

IDENTITY_LABELS: dict[str, str] = {
    IdentityCheck.DOCUMENT_SHOWN: "pièce d'identité montrée (rien n'est copié ni noté)",
    IdentityCheck.KNOWN_TO_HELP_POINT: "personne connue du point d'aide",
    IdentityCheck.FRANCECONNECT_ON_SITE: "connexion FranceConnect sur place",
}

NOT_YOURS = (
    "Cette personne est introuvable parmi les habitants que vous accompagnez. Un médiateur ne "
    "voit que les personnes avec qui il a ouvert une séance."
)
NO_MANDATE = (
    "Le mandat de cette personne a expiré : ouvrez une nouvelle séance avec elle, en sa "
    "présence, pour le renouveler."
)
SESSION_CLOSED = (
    "La séance avec cette personne est terminée : une demande se dépose en sa présence. "
    "Ouvrez une nouvelle séance pour en déposer une."
)
PAPER_UNSIGNED = (
    "Le mandat papier n'est pas encore signé : imprimez-le, faites-le signer par la personne, "
    "puis indiquez qu'il est signé."
)
KIND_OUTSIDE = "Le mandat de cette personne ne couvre pas ce type de demande."
SIGNATORY_OUTSIDE = "Le mandat de cette personne ne couvre pas tous les organismes choisis."


class MediationRefused(RequestError):
    def __init__(self, message: str, *, code: str = "forbidden") -> None:
        super().__init__(message, code=code)


class DuplicateResident(RequestError):
    """The person looks already known: the form proposes the existing record."""

    def __init__(self, existing: list[Resident]) -> None:
        super().__init__(
            "Une personne avec le même nom et la même adresse est déjà enregistrée. Utilisez sa "
            "fiche, ou confirmez qu'il s'agit d'une autre personne.",
            code="conflict",
        )
        self.existing = existing


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactInput:
    full_name: str
    street: str = ""
    street_more: str = ""
    postcode: str = ""
    city: str = ""
    reached_at_help_point: bool = False

    @property
    def address_lines(self) -> list[str]:
        town = f"{self.postcode.strip()} {self.city.strip().upper()}".strip()
        return [x for x in (self.street.strip(), self.street_more.strip(), town) if x]

    @property
    def address_complete(self) -> bool:
        return bool(
            self.street.strip()
            and re.fullmatch(r"\d{5}", self.postcode.strip())
            and self.city.strip()
        )


@dataclass(frozen=True)
class MandateInput:
    kinds: list[RequestKind]
    # None: every signatory of the charter.
    signatory_ids: list[int] | None
    months: int
    paper_signed: bool = False


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", bare.lower())


def match_key(full_name: str, address_lines: list[str]) -> str:
    """Name and address folded (case, accents, spaces, punctuation) to find duplicates."""
    return f"{_fold(full_name)}|{_fold(''.join(address_lines))}"[:200]


async def _audit(
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


async def _refuse(
    mediator: StaffMember,
    action: str,
    message: str,
    *,
    resident_id: int | None,
    code: str = "forbidden",
    reference: str | None = None,
) -> MediationRefused:
    await _audit(
        mediator,
        action,
        resident_id=resident_id,
        outcome="refused",
        reference=reference,
        detail={"code": code},
    )
    return MediationRefused(message, code=code)


def end_of_day(moment: datetime) -> datetime:
    """Midnight at the end of the local (Paris) day of `moment`, in UTC."""
    local = clock.local(moment)
    tomorrow = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0), tzinfo=clock.PARIS).astimezone(moment.tzinfo)


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


async def _gate(
    mediator: StaffMember, resident_id: int, action: str, *, reference: str | None = None
) -> Access:
    """The mediator's current hold on this resident, or a refusal (audited)."""
    resident = await Resident.filter(id=resident_id).first()
    sessions_exist = (
        resident is not None
        and await AssistedSession.filter(mediator_id=mediator.id, resident_id=resident_id).exists()
    )
    if resident is None or not sessions_exist:
        raise await _refuse(
            mediator, action, NOT_YOURS, resident_id=resident_id, code="not_found",
            reference=reference,
        )  # fmt: skip
    now = clock.now()
    mandate = (
        await Mandate.filter(mediator_id=mediator.id, resident_id=resident_id, valid_until__gt=now)
        .order_by("-created_at", "-id")
        .select_related("session")
        .first()
    )
    if mandate is None:
        raise await _refuse(
            mediator, action, NO_MANDATE, resident_id=resident_id, reference=reference
        )
    session = (
        await AssistedSession.filter(mediator_id=mediator.id, resident_id=resident_id)
        .order_by("-opened_at", "-id")
        .first()
    )
    assert session is not None
    contact = await ResidentContact.filter(resident_id=resident_id).first()
    return Access(resident=resident, contact=contact, mandate=mandate, session=session)


async def known_resident(*, mediator: StaffMember, resident_id: int) -> Resident:
    """A resident this mediator once opened a session with (mandate valid or not)."""
    resident = await Resident.filter(id=resident_id).first()
    if (
        resident is None
        or not await AssistedSession.filter(
            mediator_id=mediator.id, resident_id=resident_id
        ).exists()
    ):
        raise await _refuse(
            mediator, "renew_form", NOT_YOURS, resident_id=resident_id, code="not_found"
        )
    return resident


async def contact_of(*, resident_id: int) -> ResidentContact | None:
    return await ResidentContact.filter(resident_id=resident_id).first()


async def contact_identifiers(resident_id: int) -> dict[str, str]:
    """What a signatory may use to find a resident met at a help point (identity checked there).

    Registered with desk.requests.identifiers; envelopes keep only the kinds a signatory accepts.
    """
    contact = await contact_of(resident_id=resident_id)
    if contact is None:
        return {}
    found = {"full_name": contact.full_name}
    if contact.address_lines:
        found["postal_address"] = ", ".join(line for line in contact.address_lines if line)
    return found


# --- opening a session ---------------------------------------------------------------------------


async def find_duplicates(*, contact: ContactInput) -> list[Resident]:
    key = match_key(contact.full_name, contact.address_lines)
    rows = await ResidentContact.filter(match_key=key).select_related("resident")
    return [row.resident for row in rows]


async def signed_signatories() -> list[Signatory]:
    return await Signatory.filter(charter_status=CharterStatus.SIGNED).order_by("name")


async def _check_mandate(mandate: MandateInput) -> None:
    if not mandate.kinds:
        raise RequestError("Cochez au moins un type de demande couvert par le mandat.")
    if mandate.months not in MANDATE_MONTHS:
        raise RequestError("Choisissez la durée du mandat : 1, 3 ou 6 mois.")
    if mandate.signatory_ids is not None:
        if not mandate.signatory_ids:
            raise RequestError(
                "Cochez au moins un organisme couvert par le mandat, ou « tous les signataires »."
            )
        known = await Signatory.filter(
            id__in=mandate.signatory_ids, charter_status=CharterStatus.SIGNED
        ).count()
        if known != len(set(mandate.signatory_ids)):
            raise RequestError("Un des organismes choisis n'est pas signataire de la charte.")


def _check_contact(contact: ContactInput) -> None:
    if not contact.full_name.strip():
        raise RequestError("Indiquez le nom et le prénom de la personne.")
    if len(contact.full_name) > 200 or any(len(x) > 200 for x in contact.address_lines):
        raise RequestError(
            "Le nom ou une ligne de l'adresse est trop long (200 caractères au plus)."
        )
    if contact.reached_at_help_point:
        return
    if not contact.address_complete:
        raise RequestError(
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
    now: datetime | None = None,
) -> tuple[AssistedSession, Mandate]:
    """Open a session with a resident present and record their mandate.

    The resident is one already followed (`resident_id`), found or created by `email`, or
    created without email from `contact`; a contact whose name and address match an existing one
    raises DuplicateResident unless the existing one is chosen (`use_existing_id`) or the
    mediator confirmed it is another person.
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
            await _audit(
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
        raise RequestError(
            "Indiquez l'adresse électronique de la personne, ou son nom et son adresse postale."
        )
    async with in_transaction() as conn:
        session = await AssistedSession.create(
            mediator_id=mediator.id,
            resident_id=resident.id,
            opened_at=moment,
            closes_at=end_of_day(moment),
            identity_check=identity_check,
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
            using_db=conn,
        )
    await _audit(
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
        },
    )
    return session, record


async def record_paper_signed(
    *, mediator: StaffMember, resident_id: int, mandate_id: int
) -> Mandate:
    access = await _gate(mediator, resident_id, "mandate_signed")
    mandate = await Mandate.filter(
        id=mandate_id, mediator_id=mediator.id, resident_id=resident_id
    ).first()
    if mandate is None:
        raise await _refuse(
            mediator, "mandate_signed", "Ce mandat est introuvable.", resident_id=resident_id,
            code="not_found",
        )  # fmt: skip
    if mandate.id != access.mandate.id:
        raise await _refuse(
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
        await _audit(
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
    access = await _gate(mediator, resident_id, "print_mandate")
    mandate = (
        await Mandate.filter(id=mandate_id, mediator_id=mediator.id, resident_id=resident_id)
        .select_related("session")
        .first()
    )
    if mandate is None:
        raise await _refuse(
            mediator, "print_mandate", "Ce mandat est introuvable.", resident_id=resident_id,
            code="not_found",
        )  # fmt: skip
    signatories = await signed_signatories()
    if mandate.signatory_ids is not None:
        signatories = [s for s in signatories if s.id in set(mandate.signatory_ids)]
    await _audit(mediator, "print_mandate", resident_id=resident_id, detail={"mandate": mandate.id})
    return MandateSheet(
        access=access,
        mandate=mandate,
        signatories=signatories,
        all_signatories=mandate.signatory_ids is None,
    )


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
    access = await _gate(mediator, resident_id, "file_request")
    mandate = access.mandate
    if not access.session_open:
        raise await _refuse(mediator, "file_request", SESSION_CLOSED, resident_id=resident_id)
    if not mandate.paper_signed:
        raise await _refuse(mediator, "file_request", PAPER_UNSIGNED, resident_id=resident_id)
    if kind.value not in mandate.kinds:
        raise await _refuse(mediator, "file_request", KIND_OUTSIDE, resident_id=resident_id)
    wanted = sorted(set(signatory_ids))
    if not wanted:
        raise RequestError("Choisissez au moins un organisme.")
    if mandate.signatory_ids is not None and not set(wanted) <= set(mandate.signatory_ids):
        raise await _refuse(mediator, "file_request", SIGNATORY_OUTSIDE, resident_id=resident_id)
    if submission_key:
        earlier = await RightsRequest.filter(submission_key=submission_key).first()
        if earlier is not None and earlier.resident_id == resident_id:  # type: ignore[attr-defined]
            return earlier  # a double click: the first one stands
    help_point = mediator.help_point
    async with in_transaction():
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
        )
    await _audit(
        mediator,
        "file_request",
        resident_id=resident_id,
        reference=request.reference,
        detail={"kind": kind.value, "signatories": wanted, "mandate": mandate.id},
    )
    return request


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


async def _changes(resident_ids: list[int], since: datetime | None) -> dict[int, list[Change]]:
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


async def home(*, mediator: StaffMember) -> Home:
    """The residents under a valid mandate of this mediator, their requests and what changed."""
    now = clock.now()
    previous = (
        await MediationEvent.filter(mediator_id=mediator.id, action="view_home")
        .order_by("-at", "-id")
        .first()
    )
    mandates = await Mandate.filter(mediator_id=mediator.id, valid_until__gt=now).order_by(
        "-created_at", "-id"
    )
    latest: dict[int, Mandate] = {}
    for m in mandates:
        latest.setdefault(m.resident_id, m)  # type: ignore[attr-defined]
    ids = list(latest)
    residents = {r.id: r for r in await Resident.filter(id__in=ids)}
    contacts = {c.resident_id: c for c in await ResidentContact.filter(resident_id__in=ids)}  # type: ignore[attr-defined]
    since = previous.at if previous else None
    changes = await _changes(ids, since)
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
    await _audit(mediator, "view_home")
    return Home(residents=followed, last_visit=since)


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


async def _followed(access: Access) -> FollowedResident:
    rid = access.resident.id
    return FollowedResident(
        resident=access.resident,
        contact=access.contact,
        mandate=access.mandate,
        requests=await queries.resident_requests(resident_id=rid),
        changes=(await _changes([rid], None)).get(rid, []),
    )


async def resident_file(*, mediator: StaffMember, resident_id: int) -> ResidentFile:
    access = await _gate(mediator, resident_id, "view_resident")
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
    await _audit(mediator, "view_resident", resident_id=resident_id)
    return ResidentFile(
        access=access,
        followed=followed,
        receipts=await queries.receipts_for(delivery_ids=delivery_ids),
        copies=await queries.copies_for(delivery_ids=delivery_ids),
        signatories=signatories,
        filed_by_me={f.request_id for f in filings},  # type: ignore[attr-defined]
    )


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
    access = await _gate(mediator, resident_id, "print_acknowledgement", reference=reference)
    request = (
        await RightsRequest.filter(reference=reference[:32], resident_id=resident_id)
        .prefetch_related("deliveries__signatory")
        .first()
    )
    if request is None:
        raise await _refuse(
            mediator, "print_acknowledgement", "Cette demande est introuvable.",
            resident_id=resident_id, code="not_found",
        )  # fmt: skip
    filing = await AssistedFiling.filter(request_id=request.id).select_related("mediator").first()
    await _audit(
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


async def take_copy_for(*, mediator: StaffMember, resident_id: int, copy_id: str) -> Download:
    """A resident's access copy, handed to their mediator to print: once, like online."""
    await _gate(mediator, resident_id, "download_copy")
    try:
        download = await take_copy(resident_id=resident_id, copy_id=copy_id)
    except RequestError as exc:
        raise await _refuse(
            mediator, "download_copy", exc.message, resident_id=resident_id, code=exc.code
        ) from exc
    await _audit(mediator, "download_copy", resident_id=resident_id, detail={"copy": copy_id[:40]})
    return download


async def mark_told(
    *, mediator: StaffMember, resident_id: int, event_id: int, channel: str = "help_point"
) -> ToldMark:
    await _gate(mediator, resident_id, "mark_told")
    if channel not in TOLD_CHANNELS:
        raise RequestError("Indiquez comment la personne a été prévenue.")
    event = await DeliveryEvent.filter(
        id=event_id, action__in=list(NOTEWORTHY), delivery__request__resident_id=resident_id
    ).first()
    if event is None:
        raise await _refuse(
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
    await _audit(
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
    access = await _gate(mediator, resident_id, action)
    contact = access.contact
    # Complete addresses are stored whole (street and town), incomplete ones not at all.
    if contact is None or len(contact.address_lines) < 2:
        raise await _refuse(
            mediator,
            action,
            "L'adresse postale de cette personne est incomplète : une lettre ne peut pas lui "
            "être envoyée. Prévenez-la au point d'aide, ou ouvrez une nouvelle séance avec elle "
            "pour noter son adresse complète.",
            resident_id=resident_id,
            code="invalid",
        )
    followed = await _followed(access)
    await _audit(mediator, action, resident_id=resident_id)
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


# --- retention -----------------------------------------------------------------------------------


async def purge_contacts(
    *, now: datetime | None = None, retention_months: int = RETENTION_MONTHS
) -> int:
    """Delete the name and address of residents without email once nothing needs them.

    Kept while a request is open or a mandate is valid; deleted `retention_months` after the
    last request closed and the last mandate ended. The resident row stays (their requests and
    receipts point at it) but nothing in it names the person.
    """
    moment = now or clock.now()
    purged = 0
    for contact in await ResidentContact.all():
        rid = contact.resident_id  # type: ignore[attr-defined]
        if (
            await Delivery.filter(request__resident_id=rid)
            .exclude(state__in=list(FINAL_STATES))
            .exists()
        ):
            continue
        last = contact.created_at
        mandate = await Mandate.filter(resident_id=rid).order_by("-valid_until").first()
        if mandate is not None:
            last = max(last, mandate.valid_until)
        closed = (
            await Delivery.filter(request__resident_id=rid, completed_at__isnull=False)
            .order_by("-completed_at")
            .first()
        )
        if closed is not None and closed.completed_at is not None:
            last = max(last, closed.completed_at)
        updated = await Delivery.filter(request__resident_id=rid).order_by("-updated_at").first()
        if updated is not None:
            last = max(last, updated.updated_at)
        if clock.add_months(last, retention_months) <= moment:
            await ResidentContact.filter(id=contact.id).delete()
            purged += 1
            log.info("contact of resident %s deleted (retention over)", rid)
    return purged


def parse_kinds(raw: list[str]) -> list[RequestKind]:
    kinds: list[RequestKind] = []
    for value in raw:
        try:
            kinds.append(RequestKind(value))
        except ValueError as exc:
            raise RequestError("Type de demande inconnu.") from exc
    return kinds


__all__ = [
    "Access",
    "ContactInput",
    "DuplicateResident",
    "IDENTITY_LABELS",
    "InvalidEmail",
    "MandateInput",
    "MediationRefused",
    "acknowledgement",
    "file_for_resident",
    "home",
    "letter",
    "letter_posted",
    "mandate_sheet",
    "mark_told",
    "match_key",
    "open_session",
    "purge_contacts",
    "record_paper_signed",
    "resident_file",
    "take_copy_for",
]
