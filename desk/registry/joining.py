"""Joining the charter and the dated steps of a signatory's life (principle 2).

An organisation applies on the public "Rejoindre la charte" form; the desk's team (role
`register`, or an admin) accepts it as a candidate, asks for more, or refuses with a reason.
A candidate shows its capacity (declarations and a first self-evaluation, reviewed by the team),
then signs a given version of the charter; the committee may suspend or exclude it (desk.charter
.committee); it may leave. Every step is a `StatusChange` row: dated, with its reason, public.

Every change writes its audit record and its mail job in the transaction of the change.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.charter import versions
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.registry.models import (
    ApplicationState,
    CharterApplication,
    CharterStatus,
    Signatory,
    SignatoryKind,
    StatusChange,
)
from desk.residents.services import InvalidEmail, normalise_email
from desk.runtime import Runtime

log = logging.getLogger("desk.registry.joining")

# The version in force is the one new signatories sign (desk.charter.versions: versions as data).
CURRENT_CHARTER_VERSION = versions.CURRENT.number
CHARTER_ADOPTED_ON: date = versions.CURRENT.adopted_on or date(2022, 10, 13)

MAIL_JOB = "mail.charter_application"
NAME_MAX = 200
ADDRESS_MAX = 1000
WEBSITE_MAX = 300
REASON_MAX = 2000

# The steps the desk's team records; the committee's own (suspended, excluded) go through
# desk.charter.committee, which calls `record_status` too.
TEAM_TRANSITIONS: dict[CharterStatus, frozenset[CharterStatus]] = {
    CharterStatus.CANDIDATE: frozenset({CharterStatus.CAPACITY_SHOWN, CharterStatus.LEFT}),
    CharterStatus.CAPACITY_SHOWN: frozenset({CharterStatus.SIGNED, CharterStatus.LEFT}),
    CharterStatus.SIGNED: frozenset({CharterStatus.LEFT}),
    CharterStatus.SUSPENDED: frozenset({CharterStatus.SIGNED, CharterStatus.LEFT}),
    CharterStatus.EXCLUDED: frozenset(),
    CharterStatus.LEFT: frozenset(),
}

MSG_NOT_FOUND = N_("Cette candidature n'existe pas.")
MSG_ALREADY_DECIDED = N_(
    "Cette candidature a déjà reçu une réponse définitive : elle ne peut plus changer."
)
MSG_REASON_NEEDED = N_("Indiquez la raison : elle est envoyée à l'organisation et publiée.")
MSG_REASON_TOO_LONG = N_("La raison est trop longue : 2 000 caractères au plus.")
MSG_BAD_TRANSITION = N_(
    "Ce changement de statut n'est pas possible depuis le statut actuel de l'organisation."
)
MSG_NO_SIGNATORY = N_("Aucune organisation ne correspond à cette adresse.")
MSG_UNKNOWN_VERSION = N_(
    "Cette version de la charte n'existe pas ou n'est pas en vigueur : une organisation signe "
    "la version en vigueur."
)


class ApplicationInvalid(DeskError):
    """Form errors by field name, each a French sentence saying what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(N_("Le formulaire contient des erreurs : corrigez les champs signalés."))
        self.errors = errors


# --- SIREN / SIRET -------------------------------------------------------------------------------


def luhn_ok(number: str) -> bool:
    """The Luhn check INSEE uses for SIREN and SIRET numbers."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


# La Poste's establishments share one SIREN; their SIRET keys follow another rule (INSEE):
# the sum of the digits is a multiple of 5.
LA_POSTE_SIREN = "356000000"


def check_siret(raw: str) -> str:
    """A SIREN (9 digits) or SIRET (14 digits) without spaces, or a French error message."""
    number = re.sub(r"[\s.\-]", "", raw or "")
    if not number:
        raise ValueError(N_("Indiquez le numéro SIREN (9 chiffres) ou SIRET (14 chiffres)."))
    if not (number.isascii() and number.isdigit()) or len(number) not in (9, 14):
        raise ValueError(
            N_(
                "Le numéro SIREN compte 9 chiffres, le SIRET 14 chiffres : vérifiez-le "
                "(par exemple 123 456 789 ou 123 456 789 00012)."
            )
        )
    if len(number) == 14 and number.startswith(LA_POSTE_SIREN):
        valid = sum(int(c) for c in number) % 5 == 0
    else:
        valid = luhn_ok(number)
    if not valid:
        raise ValueError(
            N_(
                "Ce numéro SIREN ou SIRET n'existe pas : un chiffre est sans doute mal recopié "
                "(sa clé de contrôle ne correspond pas). Vérifiez-le sur votre avis de situation "
                "INSEE."
            )
        )
    return number


# --- the application form -----------------------------------------------------------------------


@dataclass
class ApplicationForm:
    """What the public form carries, as typed (kept to fill the form again on an error)."""

    name: str = ""
    kind: str = ""
    siret: str = ""
    address: str = ""
    website: str = ""
    dpo_name: str = ""
    dpo_email: str = ""
    applicant_name: str = ""
    applicant_email: str = ""
    errors: dict[str, str] = field(default_factory=dict, init=False)


def _validated(form: ApplicationForm) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, label in (("name", "organisation"), ("dpo_name", "dpo"), ("applicant_name", "you")):
        value = " ".join(getattr(form, name).split())
        if not value:
            errors[name] = {
                "organisation": N_("Indiquez le nom de l'organisation."),
                "dpo": N_("Indiquez le nom du délégué à la protection des données (DPO)."),
                "you": N_("Indiquez votre nom : le guichet vous répond personnellement."),
            }[label]
        elif len(value) > NAME_MAX:
            errors[name] = N_("Ce nom est trop long : 200 caractères au plus.")
        values[name] = value
    try:
        values["kind"] = SignatoryKind(form.kind)
    except ValueError:
        errors["kind"] = N_("Choisissez le type d'organisation dans la liste.")
    try:
        values["siret"] = check_siret(form.siret)
    except ValueError as exc:
        errors["siret"] = str(exc)
    address = form.address.strip()
    if not address:
        errors["address"] = N_("Indiquez l'adresse postale de l'organisation.")
    elif len(address) > ADDRESS_MAX:
        errors["address"] = N_("L'adresse est trop longue : 1 000 caractères au plus.")
    values["address"] = address
    website = form.website.strip()
    if website and (
        not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", website) or len(website) > WEBSITE_MAX
    ):
        errors["website"] = N_(
            "L'adresse du site doit commencer par https:// (par exemple https://exemple.fr)."
        )
    values["website"] = website
    for name, message in (
        ("dpo_email", N_("L'adresse du DPO n'est pas valide : elle ressemble à dpo@exemple.fr.")),
        (
            "applicant_email",
            N_("Votre adresse n'est pas valide : elle ressemble à prenom.nom@exemple.fr."),
        ),
    ):
        try:
            values[name] = normalise_email(getattr(form, name))
        except InvalidEmail:
            errors[name] = message
    if errors:
        raise ApplicationInvalid(errors)
    return values


async def submit_application(*, form: ApplicationForm) -> CharterApplication:
    """Record an application and its dated acknowledgement mail, in one transaction."""
    values = _validated(form)
    async with in_transaction() as conn:
        application = await CharterApplication.create(using_db=conn, **values)
        await record_action(
            action="charter.application",
            actor="public",
            subject=f"application:{application.id}",
            connection=conn,
        )
        await _mail(application, event="received", connection=conn)
    log.info("charter application %s received", application.id)
    return application


async def _mail(
    application: CharterApplication, *, event: str, connection: BaseDBAsyncClient
) -> OutboxJob:
    return await enqueue(
        kind=MAIL_JOB,
        payload={"application_id": application.id, "event": event},
        idempotency_key=f"charter-application-{application.id}-{event}-{clock.now().timestamp()}",
        connection=connection,
    )


async def send_application_mail(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler for "mail.charter_application": the applicant hears of each step."""
    application = await CharterApplication.filter(id=int(job.payload["application_id"])).first()
    if application is None:
        return
    event = str(job.payload.get("event", "received"))
    await rt.send_mail(
        to=application.applicant_email,
        template="charter_application",
        context={
            "event": event,
            "name": application.name,
            "applicant_name": application.applicant_name,
            "received_on": clock.local(application.created_at),
            "reference": application.id,
            "reason": application.reason,
            "state": application.state.value,
        },
        idempotency_key=job.idempotency_key,
    )


# --- the team's review --------------------------------------------------------------------------


async def list_applications(*, open_only: bool = False) -> list[CharterApplication]:
    query = CharterApplication.all()
    if open_only:
        query = query.filter(state__in=[ApplicationState.RECEIVED, ApplicationState.MORE_INFO])
    return list(await query.order_by("-created_at", "-id"))


async def get_application(*, application_id: int) -> CharterApplication:
    application = (
        await CharterApplication.filter(id=application_id).prefetch_related("signatory").first()
    )
    if application is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    return application


def _reason(raw: str, *, required: bool) -> str:
    reason = (raw or "").strip()
    if required and not reason:
        raise DeskError(MSG_REASON_NEEDED)
    if len(reason) > REASON_MAX:
        raise DeskError(MSG_REASON_TOO_LONG)
    return reason


async def _open_application(application_id: int, conn: BaseDBAsyncClient) -> CharterApplication:
    application = (
        await CharterApplication.filter(id=application_id)
        .using_db(conn)
        .select_for_update()
        .first()
    )
    if application is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    if application.state in (ApplicationState.ACCEPTED, ApplicationState.REFUSED):
        raise DeskError(MSG_ALREADY_DECIDED, code="conflict")
    return application


async def ask_more(*, application_id: int, reason: str, actor: str) -> CharterApplication:
    """Ask the applicant for more (what is missing is said in `reason`)."""
    text = _reason(reason, required=True)
    async with in_transaction() as conn:
        application = await _open_application(application_id, conn)
        application.state = ApplicationState.MORE_INFO
        application.reason = text
        await application.save(using_db=conn, update_fields=["state", "reason"])
        await record_action(
            action="charter.application_more_info",
            actor=actor,
            subject=f"application:{application.id}",
            connection=conn,
        )
        await _mail(application, event="more_info", connection=conn)
    return application


async def refuse(*, application_id: int, reason: str, actor: str) -> CharterApplication:
    text = _reason(reason, required=True)
    async with in_transaction() as conn:
        application = await _open_application(application_id, conn)
        application.state = ApplicationState.REFUSED
        application.reason = text
        application.decided_at = clock.now()
        await application.save(using_db=conn, update_fields=["state", "reason", "decided_at"])
        await record_action(
            action="charter.application_refused",
            actor=actor,
            subject=f"application:{application.id}",
            connection=conn,
        )
        await _mail(application, event="refused", connection=conn)
    return application


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return (slug or "organisation")[:56].strip("-")


async def _free_slug(name: str, conn: BaseDBAsyncClient) -> str:
    base = slugify(name)
    slug, n = base, 1
    while await Signatory.filter(slug=slug).using_db(conn).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


async def accept(
    *, application_id: int, reason: str, actor: str, connection: BaseDBAsyncClient
) -> tuple[CharterApplication, Signatory]:
    """Make the applicant a `candidate` on the public register (inside the caller's transaction:
    desk.organisations adds its DPO's account in the same one)."""
    text = _reason(reason, required=False)
    application = await _open_application(application_id, connection)
    signatory = await Signatory.create(
        slug=await _free_slug(application.name, connection),
        name=application.name,
        kind=application.kind,
        charter_status=CharterStatus.CANDIDATE,
        signed_on=None,
        website=application.website,
        dpo_email=application.dpo_email,
        dpo_name=application.dpo_name,
        siret=application.siret,
        address=application.address,
        using_db=connection,
    )
    await StatusChange.create(
        signatory=signatory,
        status=CharterStatus.CANDIDATE,
        reason=text or "Candidature reçue et acceptée par l'équipe du guichet.",
        using_db=connection,
    )
    application.state = ApplicationState.ACCEPTED
    application.reason = text
    application.decided_at = clock.now()
    application.signatory = signatory
    await application.save(
        using_db=connection, update_fields=["state", "reason", "decided_at", "signatory_id"]
    )
    await record_action(
        action="charter.application_accepted",
        actor=actor,
        subject=f"application:{application.id}",
        detail={"signatory": signatory.id},
        connection=connection,
    )
    await _mail(application, event="accepted", connection=connection)
    return application, signatory


# --- statuses -----------------------------------------------------------------------------------


async def record_status(
    *,
    signatory_id: int,
    status: CharterStatus,
    reason: str,
    connection: BaseDBAsyncClient,
    charter_version: str = "",
    on: datetime | None = None,
) -> StatusChange:
    """Write a signatory's new status and its dated, public step (in the caller's transaction)."""
    values: dict[str, Any] = {"charter_status": status}
    if status == CharterStatus.SIGNED and charter_version:
        values["charter_version"] = charter_version
        values["signed_on"] = clock.local(on or clock.now()).date()
    await Signatory.filter(id=signatory_id).using_db(connection).update(**values)
    change = await StatusChange.create(
        signatory_id=signatory_id,
        status=status,
        reason=reason,
        charter_version=charter_version,
        using_db=connection,
    )
    if on is not None:
        await StatusChange.filter(id=change.id).using_db(connection).update(changed_at=on)
    return change


async def change_status(
    *,
    slug: str,
    status: str,
    reason: str,
    actor: str,
    charter_version: str = CURRENT_CHARTER_VERSION,
) -> Signatory:
    """The team records a step of the charter's life: capacity shown, signed, left."""
    try:
        target = CharterStatus(status)
    except ValueError as exc:
        raise DeskError(MSG_BAD_TRANSITION) from exc
    text = _reason(reason, required=True)
    if target == CharterStatus.SIGNED and charter_version not in versions.SIGNABLE:
        raise DeskError(MSG_UNKNOWN_VERSION)
    async with in_transaction() as conn:
        signatory = await Signatory.filter(slug=slug).using_db(conn).select_for_update().first()
        if signatory is None:
            raise DeskError(MSG_NO_SIGNATORY, code="not_found")
        if target not in TEAM_TRANSITIONS[signatory.charter_status]:
            raise DeskError(MSG_BAD_TRANSITION, code="conflict")
        await record_status(
            signatory_id=signatory.id,
            status=target,
            reason=text,
            charter_version=charter_version if target == CharterStatus.SIGNED else "",
            connection=conn,
        )
        await record_action(
            action="charter.status",
            actor=actor,
            subject=f"signatory:{signatory.id}",
            detail={"status": target.value},
            connection=conn,
        )
    await signatory.refresh_from_db()
    log.info("signatory %s is now %s", signatory.id, target.value)
    return signatory


async def status_history(*, signatory_id: int) -> list[StatusChange]:
    return list(await StatusChange.filter(signatory_id=signatory_id).order_by("changed_at", "id"))
