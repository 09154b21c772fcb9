"""The resident's consent before a mediator joins their online account, and what they are told.

A mediator who opens a session for a resident who already has an account (an email address)
sees and does nothing in it until the resident agrees at that moment: the desk mails the
resident a six-digit code, which they read out to the mediator at the help point (or they
confirm from their own space). The code is kept as a keyed hash, works once, for
CODE_MINUTES, with MAX_TRIES tries; codes are rationed per resident and per mediator.

Every mandate that takes effect and every request filed under a mandate is mailed to the
resident (outbox, in the transaction of the change: desk.mediation.telling). Audit rows carry ids
only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock, crypto
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.mediation import telling
from desk.mediation.access import audit, refuse
from desk.mediation.models import (
    AssistedSession,
    Consent,
    ConsentCode,
    Mandate,
)
from desk.mediation.rules import CONSENT_PENDING, NOT_YOURS
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.residents.models import Resident
from desk.runtime import Runtime
from desk.staff.models import StaffMember

log = logging.getLogger("desk.mediation")

CODE_MINUTES = 15
MAX_TRIES = 5
CODE_DIGITS = 6
# Rationing: a resident's mailbox is not flooded, and guessing stays hopeless (a code dies after
# MAX_TRIES; at most CODES_PER_RESIDENT codes an hour, so 15 guesses out of a million).
RATION_WINDOW = timedelta(hours=1)
CODES_PER_RESIDENT = 3
CODES_PER_MEDIATOR = 10

CODE_MAIL_JOB = "mail.mediation_consent_code"
# The code is useless once expired: a mail still failing after a few minutes helps nobody.
CODE_MAIL_ATTEMPTS = 4

WRONG_CODE = N_("Ce code n'est pas le bon. Vérifiez-le avec la personne et tapez-le à nouveau.")
MALFORMED_CODE = N_("Le code est fait de 6 chiffres : tapez-le tel que la personne le lit.")
# CODE_MINUTES, spelt out: the English catalogue translates this sentence as it is.
EXPIRED_CODE = N_(
    "Ce code a expiré (il est valable 15 minutes). Envoyez un nouveau code à la personne."
)
NO_CODE = N_("Aucun code en cours pour cette personne : envoyez-lui un nouveau code.")
TOO_MANY_TRIES = N_(
    "Trop d'essais : ce code ne fonctionne plus, pour protéger le compte de la personne. "
    "Envoyez-lui un nouveau code."
)
TOO_MANY_CODES = N_(
    "Trop de codes ont été envoyés à cette personne ou par vous dans la dernière heure. Pour "
    "protéger son compte, attendez un peu avant d'en demander un autre."
)
SESSION_OVER = N_(
    "La séance est terminée : l'accord de la personne se donne le jour même. Ouvrez une "
    "nouvelle séance avec elle."
)


def _digest(secret_key: str, code: str) -> str:
    # Keyed: six digits alone would be found from a copy of the database in a second.
    key = hashlib.sha256(b"desk.mediation-consent:" + secret_key.encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def spoken(code: str) -> str:
    """ "123456" → "123 456": easier to read out loud and to type."""
    return f"{code[:3]} {code[3:]}"


def consent_needed(resident: Resident, *, created: bool) -> bool:
    """Joining an account that exists (it has an address) needs its owner's consent now."""
    return bool(resident.email) and not created


def mask_email(address: str) -> str:
    """ "camille@exemple.invalid" → "c…@exemple.invalid": which mailbox, without spelling it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


# --- asking ----------------------------------------------------------------------------------


async def check_ration(*, mediator: StaffMember, resident_id: int, now: datetime) -> None:
    since = now - RATION_WINDOW
    for_resident = await ConsentCode.filter(resident_id=resident_id, created_at__gte=since).count()
    by_mediator = await ConsentCode.filter(mediator_id=mediator.id, created_at__gte=since).count()
    if for_resident >= CODES_PER_RESIDENT or by_mediator >= CODES_PER_MEDIATOR:
        raise await refuse(
            mediator, "consent_code", TOO_MANY_CODES, resident_id=resident_id, code="too_many"
        )


async def send_code(
    *,
    session: AssistedSession,
    mediator: StaffMember,
    resident_id: int,
    secret_key: str,
    conn: BaseDBAsyncClient,
    now: datetime,
) -> ConsentCode:
    """A new code for this session and its mail job, in the caller's transaction."""
    code = new_code()
    row = await ConsentCode.create(
        session=session,
        resident_id=resident_id,
        mediator_id=mediator.id,
        digest=_digest(secret_key, code),
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
        using_db=conn,
    )
    await enqueue(
        kind=CODE_MAIL_JOB,
        payload={"code_id": row.id, "code": crypto.encrypt(secret_key, code)},
        idempotency_key=f"mediation-consent-code-{row.id}",
        connection=conn,
        max_attempts=CODE_MAIL_ATTEMPTS,
    )
    await record_action(
        action="mediation.consent_asked",
        actor=f"staff:{mediator.id}",
        subject=f"resident:{resident_id}",
        detail={"session": session.id, "code": row.id},
        connection=conn,
    )
    return row


async def _awaiting_session(
    mediator: StaffMember, resident_id: int, action: str
) -> AssistedSession:
    session = (
        await AssistedSession.filter(
            mediator_id=mediator.id, resident_id=resident_id, consent=Consent.AWAITING
        )
        .order_by("-opened_at", "-id")
        .first()
    )
    if session is None:
        raise await refuse(mediator, action, NOT_YOURS, resident_id=resident_id, code="not_found")
    return session


async def resend_code(*, mediator: StaffMember, resident_id: int, secret_key: str) -> ConsentCode:
    """Another code for the session awaiting consent (the first expired, or was mistyped)."""
    session = await _awaiting_session(mediator, resident_id, "consent_code")
    now = clock.now()
    if session.closes_at <= now:
        raise await refuse(
            mediator, "consent_code", SESSION_OVER, resident_id=resident_id, code="gone"
        )
    await check_ration(mediator=mediator, resident_id=resident_id, now=now)
    async with in_transaction() as conn:
        row = await send_code(
            session=session, mediator=mediator, resident_id=resident_id,
            secret_key=secret_key, conn=conn, now=now,
        )  # fmt: skip
    await audit(
        mediator, "consent_code", resident_id=resident_id,
        detail={"session": session.id, "code": row.id},
    )  # fmt: skip
    return row


# --- the mediator's waiting page -------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    session: AssistedSession
    mailbox: str
    code: ConsentCode | None

    @property
    def tries_left(self) -> int:
        return max(0, MAX_TRIES - self.code.attempts) if self.code else 0

    @property
    def code_live(self) -> bool:
        code = self.code
        return (
            code is not None
            and code.used_at is None
            and code.attempts < MAX_TRIES
            and code.expires_at > clock.now()
        )


async def pending(*, mediator: StaffMember, resident_id: int) -> Pending:
    session = await _awaiting_session(mediator, resident_id, "view_consent")
    resident = await Resident.get(id=resident_id)
    code = await ConsentCode.filter(session_id=session.id).order_by("-created_at", "-id").first()
    await audit(mediator, "view_consent", resident_id=resident_id, detail={"session": session.id})
    return Pending(session=session, mailbox=mask_email(resident.email or ""), code=code)


async def pending_for(*, mediator: StaffMember) -> list[AssistedSession]:
    """This mediator's sessions still waiting for a resident's consent today."""
    return await AssistedSession.filter(
        mediator_id=mediator.id, consent=Consent.AWAITING, closes_at__gt=clock.now()
    ).order_by("-opened_at", "-id")


# --- the code typed --------------------------------------------------------------------------


async def _code_refused(
    mediator: StaffMember, resident_id: int, row: ConsentCode | None, reason: str, code: str,
    message: str,
) -> DeskError:  # fmt: skip
    await record_action(
        action="mediation.consent_code_refused",
        actor=f"staff:{mediator.id}",
        subject=f"resident:{resident_id}",
        detail={"code": row.id if row else None, "reason": reason},
    )
    return await refuse(mediator, "consent_given", message, resident_id=resident_id, code=code)


async def confirm_code(
    *, mediator: StaffMember, resident_id: int, typed: str, secret_key: str
) -> AssistedSession:
    """The code the resident read out: the session and its mandate take effect."""
    session = await _awaiting_session(mediator, resident_id, "consent_given")
    now = clock.now()
    if session.closes_at <= now:
        raise await _code_refused(mediator, resident_id, None, "session_over", "gone", SESSION_OVER)
    digits = "".join(typed.split())
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise await refuse(
            mediator, "consent_given", MALFORMED_CODE, resident_id=resident_id, code="invalid"
        )
    row = await ConsentCode.filter(session_id=session.id).order_by("-created_at", "-id").first()
    if row is None or row.used_at is not None:
        raise await _code_refused(mediator, resident_id, row, "none", "gone", NO_CODE)
    if row.expires_at <= now:
        raise await _code_refused(mediator, resident_id, row, "expired", "gone", EXPIRED_CODE)
    # Counted before it is compared, in one conditional UPDATE: concurrent guesses cannot
    # exceed the bound.
    counted = await ConsentCode.filter(
        id=row.id, used_at__isnull=True, attempts__lt=MAX_TRIES
    ).update(attempts=F("attempts") + 1)
    if not counted:
        raise await _code_refused(
            mediator, resident_id, row, "too_many_tries", "too_many", TOO_MANY_TRIES
        )
    if not hmac.compare_digest(row.digest, _digest(secret_key, digits)):
        left = MAX_TRIES - (row.attempts + 1)
        message = WRONG_CODE if left > 0 else TOO_MANY_TRIES
        raise await _code_refused(
            mediator, resident_id, row, "wrong", "invalid" if left > 0 else "too_many", message
        )
    async with in_transaction() as conn:
        used = (
            await ConsentCode.filter(id=row.id, used_at__isnull=True)
            .using_db(conn)
            .update(used_at=now)
        )
        if not used:
            raise DeskError(NO_CODE, code="gone")
        await _give(session, method="code", actor=f"staff:{mediator.id}", conn=conn, now=now)
    await audit(
        mediator, "consent_given", resident_id=resident_id,
        detail={"session": session.id, "method": "code"},
    )  # fmt: skip
    return session


async def _give(
    session: AssistedSession, *, method: str, actor: str, conn: BaseDBAsyncClient, now: datetime
) -> None:
    won = (
        await AssistedSession.filter(id=session.id, consent=Consent.AWAITING)
        .using_db(conn)
        .update(consent=Consent.GIVEN, consented_at=now, consent_method=method)
    )
    if not won:
        raise DeskError(CONSENT_PENDING, code="conflict")
    session.consent = Consent.GIVEN
    resident_id: int = session.resident_id  # type: ignore[attr-defined]
    await record_action(
        action="mediation.consent_given",
        actor=actor,
        subject=f"resident:{resident_id}",
        detail={"session": session.id, "method": method},
        connection=conn,
    )
    for mandate in await Mandate.filter(session_id=session.id).using_db(conn):
        await telling.tell_mandate(mandate=mandate, conn=conn)


# --- the resident's side ---------------------------------------------------------------------


async def resident_answers(*, resident_id: int, session_id: int, accept: bool) -> None:
    """The resident, logged in to their own space, accepts or refuses a mediator's session."""
    session = await AssistedSession.filter(
        id=session_id, resident_id=resident_id, consent=Consent.AWAITING,
        closes_at__gt=clock.now(),
    ).first()  # fmt: skip
    if session is None:
        raise DeskError(
            "Cette demande d'accompagnement est introuvable ou terminée.", code="not_found"
        )
    now = clock.now()
    actor = f"resident:{resident_id}"
    async with in_transaction() as conn:
        if accept:
            await _give(session, method="resident_space", actor=actor, conn=conn, now=now)
        else:
            await (
                AssistedSession.filter(id=session.id, consent=Consent.AWAITING)
                .using_db(conn)
                .update(consent=Consent.REFUSED, consented_at=now, consent_method="resident_space")
            )
            await record_action(
                action="mediation.consent_refused",
                actor=actor,
                subject=actor,
                detail={"session": session.id},
                connection=conn,
            )
    log.info("resident %s %s session %s", resident_id, "accepted" if accept else "refused",
             session.id)  # fmt: skip


# --- the code, by mail -----------------------------------------------------------------------


async def send_consent_code(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler: the code, to the resident's mailbox; then the job forgets it."""
    row = (
        await ConsentCode.filter(id=int(job.payload.get("code_id", 0)))
        .select_related("resident", "mediator", "session")
        .first()
    )
    sealed = job.payload.get("code")
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        return  # used, expired or gone: a dead code helps nobody
    if not isinstance(sealed, str) or not row.resident.email:
        return
    code = crypto.decrypt(rt.settings.secret_key, sealed)
    if not hmac.compare_digest(row.digest, _digest(rt.settings.secret_key, code)):
        return
    mandate = await Mandate.filter(session_id=row.session.id).first()
    await rt.send_mail(
        to=row.resident.email,
        template="mediation_consent_code",
        context={
            "code": spoken(code),
            "minutes": CODE_MINUTES,
            "mediator_name": row.mediator.display_name,
            "help_point": row.mediator.help_point,
            **(await telling.mandate_context(mandate)),
            "dashboard_url": rt.settings.url("/mon-espace"),
            "contact": rt.settings.dpo_contact,
        },
        idempotency_key=job.idempotency_key,
        locale=row.resident.locale or "fr",
    )
    await OutboxJob.filter(id=job.id).update(
        payload={k: v for k, v in job.payload.items() if k != "code"}
    )
    log.info("consent code %s mailed to resident %s", row.id, row.resident.id)


HANDLERS = {CODE_MAIL_JOB: send_consent_code, **telling.HANDLERS}
