"""A resident closes their own desk account (issue 17, item 10).

What goes and what stays is exactly what the retention job does to an inactive account
(`desk.retention.reduction.erase_account`): one code path, so the page, the register and
the job cannot drift apart. Before that, every request still open is withdrawn: a public
service does not leave an organisation working on a request nobody can follow any more, and
a withdrawal is itself on the record (state, date, receipt). The confirmation mail carries
the address encrypted in its outbox job, as login links carry their token, and forgets it
once sent: the database keeps no address after closing.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from desk.core import clock, crypto
from desk.core.errors import DeskError
from desk.mediation.models import Mandate
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.requests import transitions
from desk.requests.models import AccessCopy, Delivery, RightsRequest
from desk.requests.states import FINAL_STATES
from desk.residents.models import Resident, ResidentIdentity
from desk.retention.reduction import erase_account, ids_of
from desk.retention.rules import RetentionReport
from desk.runtime import Runtime

log = logging.getLogger("desk.retention.closing")

MAIL_JOB = "mail.account_closed"
MAIL_TEMPLATE = "account_closed"
_FINAL = [s.value for s in FINAL_STATES]


@dataclass(frozen=True)
class ClosingPreview:
    """What closing would do, counted for the page that explains it first."""

    open_deliveries: int
    requests: int
    copies_waiting: int
    identities: int
    has_email: bool


@dataclass(frozen=True)
class ClosedAccount:
    closed_at: datetime
    withdrawn: int
    requests_kept: int
    mode: str


async def preview_closing(*, resident_id: int) -> ClosingPreview:
    now = clock.now()
    resident = await Resident.get(id=resident_id)
    return ClosingPreview(
        open_deliveries=await Delivery.filter(request__resident_id=resident_id)
        .exclude(state__in=_FINAL)
        .count(),
        requests=await RightsRequest.filter(resident_id=resident_id).count(),
        copies_waiting=await AccessCopy.filter(
            delivery__request__resident_id=resident_id,
            content__isnull=False,
            downloaded_at__isnull=True,
            expires_at__gt=now,
        ).count(),
        identities=await ResidentIdentity.filter(resident_id=resident_id).count(),
        has_email=resident.email is not None,
    )


async def _withdraw_open(*, resident_id: int) -> int:
    """Withdraw every delivery not yet final; one answered meanwhile simply stays answered."""
    ids = (
        await Delivery.filter(request__resident_id=resident_id)
        .exclude(state__in=_FINAL)
        .values_list("id", flat=True)
    )
    withdrawn = 0
    for delivery_id in ids_of(ids):
        try:
            await transitions.withdraw(delivery_id=delivery_id, actor="resident")
            withdrawn += 1
        except DeskError:
            # The organisation answered (or the back office acted) in between: the answer
            # is final, and it is reduced with the rest.
            continue
    return withdrawn


async def close_account(*, resident_id: int, secret_key: str) -> ClosedAccount | None:
    """Withdraw what is open, then in one transaction: erase as the retention job does, audit,
    and queue the confirmation mail. None when the account was closed already (a second POST,
    a double click): nothing happens twice."""
    withdrawn = await _withdraw_open(resident_id=resident_id)
    now = clock.now()
    async with in_transaction() as conn:
        # last_login_at: every logged-in resident has one and erasing clears it, so of two
        # concurrent closings the second finds nothing to close.
        resident = (
            await Resident.filter(id=resident_id, last_login_at__isnull=False)
            .using_db(conn)
            .select_for_update()
            .first()
        )
        if resident is None:
            return None
        email, locale = resident.email, resident.locale or "fr"
        # A closed account gives no one a mandate any more: when the row is kept (requests
        # exist), a mediator's live mandate would otherwise still open it.
        await (
            Mandate.filter(resident_id=resident_id, revoked_at__isnull=True, valid_until__gt=now)
            .using_db(conn)
            .update(revoked_at=now, revoked_by="resident")
        )
        detail = await erase_account(
            resident=resident,
            now=now,
            conn=conn,
            report=RetentionReport(),
            action="resident.closed",
            actor=f"resident:{resident_id}",
        )
        kept = await RightsRequest.filter(resident_id=resident_id).using_db(conn).count()
        if email:
            await enqueue(
                kind=MAIL_JOB,
                payload={
                    "to": crypto.encrypt(secret_key, email),
                    "locale": locale,
                    "closed_at": now.isoformat(),
                    "requests_kept": kept,
                },
                # Random: an id may come back after the row is deleted (SQLite), a mail must not.
                idempotency_key=f"account-closed-{resident_id}-{secrets.token_hex(8)}",
                connection=conn,
            )
    log.info("resident %s closed their account (%s)", resident_id, detail["mode"])
    return ClosedAccount(
        closed_at=now, withdrawn=withdrawn, requests_kept=kept, mode=str(detail["mode"])
    )


async def send_closing_mail(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler: confirm the closing, then forget the address, even encrypted."""
    sealed = job.payload.get("to")
    if not isinstance(sealed, str):
        return  # already sent
    await rt.send_mail(
        to=crypto.decrypt(rt.settings.secret_key, sealed),
        template=MAIL_TEMPLATE,
        context={
            "closed_at": datetime.fromisoformat(str(job.payload["closed_at"])),
            "requests_kept": int(job.payload.get("requests_kept", 0)),
            "register_url": rt.settings.url("/registre-du-guichet"),
        },
        idempotency_key=job.idempotency_key,
        locale=str(job.payload.get("locale", "fr")),
    )
    payload = {k: v for k, v in job.payload.items() if k != "to"}
    await OutboxJob.filter(id=job.id).update(payload=payload)
    log.info("account closing confirmed (job %s)", job.id)
