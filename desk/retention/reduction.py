"""Retention steps that change requests and accounts (durations: desk.retention.rules).

- A closed request (every delivery final) is reduced to what accountability needs: free text
  leaves the deliveries and their events, in batches (desk.retention.closed_requests). Events
  keep a salted commitment in place of each text (desk.requests.audit.sealed_detail), so the
  delivery trails still verify; receipts are signed documents and are never touched.
- An account without login for the set time, and without an open request, is warned by mail;
  if it stays unused through the notice, it is deleted: the row itself when it never filed a
  request, otherwise emptied of everything but the pseudonym its receipts carry, with its
  requests reduced at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.identity.models import LoginChallenge, WebSession
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.requests.models import Delivery, RightsRequest
from desk.requests.states import FINAL_STATES
from desk.residents.models import Resident, ResidentIdentity
from desk.retention import rules
from desk.retention.closed_requests import reduce_requests
from desk.retention.rules import RetentionReport

if TYPE_CHECKING:
    from desk.runtime import Runtime

log = logging.getLogger("desk.retention.reduction")

WARNING_JOB = "mail.inactivity_warning"
WARNING_TEMPLATE = "inactivity_warning"
ACTOR = "system:retention"
_FINAL = [s.value for s in FINAL_STATES]


def _ints(rows: Any) -> list[int]:
    """Ids out of `values_list(..., flat=True)` (typed as tuples by the ORM's stubs)."""
    return [int(r) for r in rows]


# Public under a plain name for desk.retention.closing, which reads ids the same way.
ids_of = _ints


def _batch() -> int:
    # Read at call time: tests lower it to exercise several batches.
    return rules.BATCH


# --- inactive accounts -----------------------------------------------------------------------


async def _with_open_requests(resident_ids: list[int]) -> set[int]:
    rows = (
        await Delivery.filter(request__resident_id__in=resident_ids)
        .exclude(state__in=_FINAL)
        .values_list("request__resident_id", flat=True)
    )
    return set(_ints(rows))


async def _recently_identified(resident_ids: list[int], cutoff: datetime) -> set[int]:
    """Residents who logged in through FranceConnect since the cutoff."""
    rows = await ResidentIdentity.filter(
        resident_id__in=resident_ids, last_used_at__gte=cutoff
    ).values_list("resident_id", flat=True)
    return set(_ints(rows))


def _inactive_since(cutoff: datetime) -> Q:
    # created_at: an account that never logged in (made by a mediator, say) ages from birth.
    return Q(last_login_at__lt=cutoff) | Q(last_login_at__isnull=True, created_at__lt=cutoff)


async def _still_inactive(ids: list[int], cutoff: datetime) -> list[int]:
    if not ids:
        return []
    excluded = await _with_open_requests(ids) | await _recently_identified(ids, cutoff)
    return [i for i in ids if i not in excluded]


async def handle_inactive_accounts(
    *, now: datetime, months: int, notice: timedelta, report: RetentionReport, dry_run: bool
) -> None:
    cutoff = clock.add_months(now, -months)
    await _withdraw_warnings(cutoff=cutoff, report=report, dry_run=dry_run)
    await _warn(now=now, cutoff=cutoff, notice=notice, report=report, dry_run=dry_run)
    await _delete(now=now, cutoff=cutoff, notice=notice, report=report, dry_run=dry_run)


async def _withdraw_warnings(*, cutoff: datetime, report: RetentionReport, dry_run: bool) -> None:
    """A warned resident who came back (logged in, or filed a request) is no longer warned."""
    after = 0
    while True:
        rows = (
            await Resident.filter(id__gt=after, inactivity_warned_at__isnull=False)
            .order_by("id")
            .limit(_batch())
            .values_list("id", "last_login_at", "created_at", "inactivity_warned_at")
        )
        if not rows:
            return
        after = int(rows[-1][0])
        inactive = set(await _still_inactive([int(r[0]) for r in rows], cutoff))
        back = [
            int(rid)
            for rid, last, created, warned in rows
            if int(rid) not in inactive
            or (last or created) >= cutoff
            or (last is not None and last > warned)
        ]
        if dry_run:
            report.warnings_withdrawn += len(back)
        elif back:
            updated = await Resident.filter(id__in=back).update(inactivity_warned_at=None)
            report.warnings_withdrawn += int(updated or 0)


async def _warn(
    *,
    now: datetime,
    cutoff: datetime,
    notice: timedelta,
    report: RetentionReport,
    dry_run: bool,
) -> None:
    after = 0
    while True:
        ids = (
            await Resident.filter(
                _inactive_since(cutoff),
                id__gt=after,
                email__isnull=False,
                inactivity_warned_at__isnull=True,
            )
            .order_by("id")
            .limit(_batch())
            .values_list("id", flat=True)
        )
        if not ids:
            return
        after = _ints(ids)[-1]
        due = await _still_inactive(_ints(ids), cutoff)
        if dry_run:
            report.accounts_warned += len(due)
            continue
        if not due:
            continue
        async with in_transaction() as conn:
            for rid in due:
                # Conditional: of two concurrent runs, one warns (one mail).
                won = (
                    await Resident.filter(id=rid, inactivity_warned_at__isnull=True)
                    .using_db(conn)
                    .update(inactivity_warned_at=now)
                )
                if not won:
                    continue
                await enqueue(
                    kind=WARNING_JOB,
                    payload={"resident_id": rid, "delete_after": (now + notice).isoformat()},
                    idempotency_key=f"inactivity-warning-{rid}-{int(now.timestamp())}",
                    connection=conn,
                )
                report.accounts_warned += 1


async def _delete(
    *,
    now: datetime,
    cutoff: datetime,
    notice: timedelta,
    report: RetentionReport,
    dry_run: bool,
) -> None:
    after = 0
    while True:
        ids = (
            await Resident.filter(
                _inactive_since(cutoff), id__gt=after, inactivity_warned_at__lte=now - notice
            )
            .order_by("id")
            .limit(_batch())
            .values_list("id", flat=True)
        )
        if not ids:
            return
        after = _ints(ids)[-1]
        due = await _still_inactive(_ints(ids), cutoff)
        if dry_run:
            with_requests = set(
                await RightsRequest.filter(resident_id__in=due).values_list(
                    "resident_id", flat=True
                )
            )
            report.accounts_anonymised += len(with_requests)
            report.accounts_deleted += len(due) - len(with_requests)
            continue
        if not due:
            continue
        async with in_transaction() as conn:
            for rid in due:
                await _delete_account(rid, now=now, notice=notice, conn=conn, report=report)


async def _delete_account(
    resident_id: int,
    *,
    now: datetime,
    notice: timedelta,
    conn: BaseDBAsyncClient,
    report: RetentionReport,
) -> None:
    resident = (
        await Resident.filter(id=resident_id, inactivity_warned_at__lte=now - notice)
        .using_db(conn)
        .select_for_update()
        .first()
    )
    if resident is None:
        return  # deleted, or came back, meanwhile
    detail = await erase_account(
        resident=resident,
        now=now,
        conn=conn,
        report=report,
        action="resident.deleted",
        actor=ACTOR,
    )
    log.info("inactive resident %s %s", resident_id, detail["mode"])


async def erase_account(
    *,
    resident: Resident,
    now: datetime,
    conn: BaseDBAsyncClient,
    report: RetentionReport,
    action: str,
    actor: str,
) -> dict[str, Any]:
    """Delete or anonymise one account, locked by the caller, and audit it; the audit detail.

    The one code path for an account that goes: the retention job's inactive accounts and a
    resident closing their own (desk.retention.closing) must keep exactly the same things.
    """
    resident_id = resident.id
    email = resident.email
    await WebSession.filter(resident_id=resident_id).using_db(conn).delete()
    if email:
        await LoginChallenge.filter(email=email).using_db(conn).delete()
    requests = (
        await RightsRequest.filter(resident_id=resident_id, reduced_at__isnull=True)
        .using_db(conn)
        .values_list("id", flat=True)
    )
    await reduce_requests(_ints(requests), now=now, conn=conn, report=report)
    detail: dict[str, Any] = {"requests_reduced": len(requests)}
    if await RightsRequest.filter(resident_id=resident_id).using_db(conn).exists():
        # Receipts name the pseudonym: the row stays, holding nothing else about the person.
        await ResidentIdentity.filter(resident_id=resident_id).using_db(conn).delete()
        await (
            Resident.filter(id=resident_id)
            .using_db(conn)
            .update(email=None, locale="fr", last_login_at=None, inactivity_warned_at=None)
        )
        detail["mode"] = "anonymised"
        report.accounts_anonymised += 1
    else:
        # Identities, mediation records and complaints go with the row (ON DELETE CASCADE).
        await Resident.filter(id=resident_id).using_db(conn).delete()
        detail["mode"] = "deleted"
        report.accounts_deleted += 1
    await record_action(
        action=action,
        actor=actor,
        subject=f"resident:{resident_id}",
        detail=detail,
        connection=conn,
    )
    return detail


# --- the warning mail ------------------------------------------------------------------------


async def send_inactivity_warning(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler: tell a resident their unused account will be deleted, unless they log in."""
    resident = await Resident.filter(id=int(job.payload.get("resident_id", 0))).first()
    if resident is None or not resident.email or resident.inactivity_warned_at is None:
        return  # deleted, or back meanwhile: nothing to say
    if (
        resident.last_login_at is not None
        and resident.last_login_at > resident.inactivity_warned_at
    ):
        return
    delete_after = datetime.fromisoformat(str(job.payload["delete_after"]))
    await rt.send_mail(
        to=resident.email,
        template=WARNING_TEMPLATE,
        context={
            "delete_after": delete_after,
            "login_url": rt.settings.url("/connexion"),
            "register_url": rt.settings.url("/registre-du-guichet"),
            "months": _inactive_months(),
        },
        idempotency_key=job.idempotency_key,
        locale=resident.locale or "fr",
    )
    log.info("inactivity warning sent to resident %s (job %s)", resident.id, job.id)


def _inactive_months() -> int:
    return rules.INACTIVE_ACCOUNT_MONTHS
