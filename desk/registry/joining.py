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
from datetime import date, datetime
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.registry import charter_versions as versions
from desk.registry.application_form import ApplicationForm, ApplicationInvalid, validated
from desk.registry.models import (
    ApplicationState,
    CharterApplication,
    CharterStatus,
    Signatory,
    StatusChange,
)
from desk.registry.siret import check_siret, luhn_ok

log = logging.getLogger("desk.registry.joining")


class Mailer(Protocol):
    """What the mail job needs of the worker's runtime (desk.runtime.Runtime): named here so
    that the registry imports no runtime (which imports the receipts' keys)."""

    async def send_mail(
        self, *, to: str, template: str, context: dict[str, Any], idempotency_key: str
    ) -> str: ...


# The version in force is the one new signatories sign (desk.registry.charter_versions:
# versions as data).
CURRENT_CHARTER_VERSION = versions.CURRENT.number
CHARTER_ADOPTED_ON: date = versions.CURRENT.adopted_on or date(2022, 10, 13)

MAIL_JOB = "mail.charter_application"
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


async def submit_application(*, form: ApplicationForm) -> CharterApplication:
    """Record an application and its dated acknowledgement mail, in one transaction."""
    values = validated(form)
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


async def send_application_mail(job: OutboxJob, rt: Mailer) -> None:
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


# What the register's routes and the tests take from here (the form lives in application_form).
__all__ = [
    "ApplicationForm",
    "ApplicationInvalid",
    "check_siret",
    "luhn_ok",
]
