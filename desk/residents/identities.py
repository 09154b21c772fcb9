"""External identities (FranceConnect) and the resident accounts they open.

One person, one account: a resident known by their email link who later comes through
FranceConnect with the same verified address is the same resident (the identity is linked to
that account); a first FranceConnect login with an unknown address creates the account.
Afterwards the identity is found by (provider, subject), whatever address it carries then.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.core.emails import InvalidEmail, normalise_email
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.residents.franceconnect import PROVIDER, FranceConnectError, FranceConnectIdentity
from desk.residents.models import Resident, ResidentIdentity
from desk.runtime import Runtime

log = logging.getLogger("desk.residents.identities")

LINKED_MAIL_JOB = "mail.identity_linked"
LINKED_MAIL_TEMPLATE = "identity_linked"


@dataclass(frozen=True)
class IdentityLogin:
    resident: Resident
    # "known" (identity seen before), "linked" (to an account opened by email), "created".
    outcome: str


async def log_in_with_franceconnect(*, identity: FranceConnectIdentity) -> IdentityLogin:
    """The resident this FranceConnect identity logs in, linking or creating the account."""
    try:
        return await _log_in(identity)
    except IntegrityError:
        # Two first logins of one person at once: the other one linked it; use that.
        return await _log_in(identity)


async def _log_in(identity: FranceConnectIdentity) -> IdentityLogin:
    now = clock.now()
    async with in_transaction() as conn:
        known = (
            await ResidentIdentity.filter(provider=PROVIDER, subject=identity.subject)
            .using_db(conn)
            .select_related("resident")
            .first()
        )
        if known is not None:
            resident = known.resident
            known.last_used_at = now
            await known.save(using_db=conn, update_fields=["last_used_at"])
            outcome = "known"
        else:
            if not identity.email or not identity.email_verified:
                raise FranceConnectError("email")
            try:
                email = normalise_email(identity.email)
            except InvalidEmail as exc:
                raise FranceConnectError("email") from exc
            existing = await Resident.filter(email=email).using_db(conn).first()
            if existing is not None:
                resident, outcome = existing, "linked"
            else:
                resident = await Resident.create(
                    email=email, pseudonym=secrets.token_hex(16), using_db=conn
                )
                outcome = "created"
            linked = await ResidentIdentity.create(
                resident=resident,
                provider=PROVIDER,
                subject=identity.subject,
                last_used_at=now,
                using_db=conn,
            )
            await record_action(
                action="resident.identity_linked",
                actor=f"resident:{resident.id}",
                detail={"provider": PROVIDER, "account": outcome},
                connection=conn,
            )
            if outcome == "linked":
                # ASVS 2.2.3: the account's owner hears of the new way in, in case it was not them.
                await enqueue(
                    kind=LINKED_MAIL_JOB,
                    payload={"resident_id": resident.id, "linked_at": now.isoformat()},
                    idempotency_key=f"identity-linked-{linked.id}",
                    connection=conn,
                )
        resident.last_login_at = now
        await resident.save(using_db=conn, update_fields=["last_login_at"])
        await record_action(
            action="resident.login",
            actor=f"resident:{resident.id}",
            detail={"method": PROVIDER},
            connection=conn,
        )
    log.info("resident %s logged in with franceconnect (%s)", resident.id, outcome)
    return IdentityLogin(resident=resident, outcome=outcome)


async def send_identity_linked(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler: tell the resident FranceConnect now opens their account, and what to do
    if they did not do it."""
    resident = await Resident.filter(id=int(job.payload.get("resident_id", 0))).first()
    if resident is None or not resident.email:
        return  # deleted meanwhile: nobody to tell
    settings = rt.settings
    await rt.send_mail(
        to=resident.email,
        template=LINKED_MAIL_TEMPLATE,
        context={
            "linked_at": datetime.fromisoformat(str(job.payload["linked_at"])),
            "sessions_url": settings.url("/mon-espace/connexions"),
            "login_url": settings.url("/connexion"),
            "contact": settings.dpo_contact,
        },
        idempotency_key=job.idempotency_key,
        locale=resident.locale or "fr",
    )
    log.info("identity-linked mail sent to resident %s (job %s)", resident.id, job.id)
