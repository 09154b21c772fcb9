"""One mail per request, not one per receipt (issue 17, item 5).

Erasing everywhere brings five or eleven receipts within minutes. Each answer still enqueues its
"receipt" notification (desk.requests.services, in the answer's transaction); that job no longer
mails: it feeds a digest job of its request, which waits a short quiet period for the others
and mails them together, each receipt linked. The request's last answer sends the digest at once.

The digest is an outbox job like any other (kind `mail.receipt_digest`): pending, it gathers
receipt ids in its payload; once claimed it is closed, and the next receipt opens a new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.db_rows import placeholder
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.services import enqueue
from desk.requests.effects import JobSpec
from desk.requests.fulfilling import open_requests
from desk.requests.models import Delivery, DeliveryState, RequestKind, RightsRequest
from desk.requests.states import FINAL_STATES
from desk.residents.views import kind_label
from desk.runtime import Runtime

log = logging.getLogger("desk.residents.digest")

KIND = "mail.receipt_digest"


def _key_prefix(request_id: int) -> str:
    return f"receipt-digest-{request_id}-"


async def _digests(request_id: int, conn: BaseDBAsyncClient) -> list[OutboxJob]:
    return list(
        await OutboxJob.filter(kind=KIND, idempotency_key__startswith=_key_prefix(request_id))
        .using_db(conn)
        .order_by("id")
    )


async def feed(*, request_id: int, receipt_id: str, quiet_seconds: float) -> None:
    """Put one receipt in its request's pending digest, or open a digest for it.

    Run by the receipt notification's job; a retry of that job adds nothing twice.
    """
    now = clock.now()
    async with in_transaction() as conn:
        # Feeds of one request wait for each other: two receipts fed at the same instant by two
        # workers would each find no pending digest and open one each (PostgreSQL; SQLite's
        # BEGIN IMMEDIATE already serialises them). Other requests are not held up.
        await RightsRequest.filter(id=request_id).using_db(conn).select_for_update().first()
        complete = not await (
            Delivery.filter(request_id=request_id)
            .using_db(conn)
            .exclude(state__in=list(FINAL_STATES))
            .exists()
        )
        digests = await _digests(request_id, conn)
        if any(receipt_id in (job.payload.get("receipts") or []) for job in digests):
            return
        pending = next((job for job in digests if job.state == JobState.PENDING), None)
        if pending is not None:
            # Claimed meanwhile (its state changed under us): a new digest is opened instead.
            receipts = [*(pending.payload.get("receipts") or []), receipt_id]
            run_after = now if complete else pending.run_after
            updated = await (
                OutboxJob.filter(id=pending.id, state=JobState.PENDING)
                .using_db(conn)
                .update(payload={**pending.payload, "receipts": receipts}, run_after=run_after)
            )
            if updated:
                return
        await enqueue(
            kind=KIND,
            payload={"request_id": request_id, "receipts": [receipt_id]},
            idempotency_key=f"{_key_prefix(request_id)}{receipt_id}",
            run_after=now if complete else now + timedelta(seconds=quiet_seconds),
            connection=conn,
        )


async def feed_many(
    feeds: Sequence[tuple[int, str]], quiet_seconds: float, connection: BaseDBAsyncClient
) -> list[JobSpec]:
    """`feed` for receipts issued together, inside the transaction that issues them: (request
    id, receipt id) pairs. A batch of answers (desk.requests.fulfilling) feeds the digests
    itself rather than through one notification job per receipt; the receipts are new, so none
    can be in a digest already. A few statements for the lot, whatever their number; the
    digests to open are returned, for the caller to write with its other jobs."""
    if not feeds:
        return []
    conn = connection
    by_request: dict[int, list[str]] = {}
    for request_id, receipt_id in feeds:
        by_request.setdefault(request_id, []).append(receipt_id)
    ids = sorted(by_request)
    marks = [placeholder(conn, n) for n in range(1, 2 * len(ids) + 3)]
    if conn.capabilities.dialect == "postgres":
        # As in `feed`: the feeds of one request wait for each other, in request order.
        await conn.execute_query(
            f"SELECT id FROM rights_request WHERE id IN ({', '.join(marks[: len(ids)])}) "  # noqa: S608
            "ORDER BY id FOR UPDATE",
            ids,
        )
    open_ = await open_requests(ids, connection=conn)
    prefixes = {_key_prefix(r): r for r in ids}
    # The pending digests of these requests: among the pending jobs (the claim's index), never
    # the whole history of done ones.
    keys = " OR ".join(f"idempotency_key LIKE {m}" for m in marks[2 : 2 + len(ids)])
    _, rows = await conn.execute_query(
        "SELECT id, idempotency_key, payload FROM outbox_job "  # noqa: S608
        f"WHERE state = {marks[0]} AND kind = {marks[1]} AND ({keys}) ORDER BY id",
        [JobState.PENDING.value, KIND, *(f"{prefix}%" for prefix in prefixes)],
    )
    payload_field = OutboxJob._meta.fields_map["payload"]
    pending: dict[int, tuple[int, dict[str, Any]]] = {}
    for job_id, key, payload in rows:
        of = prefixes.get(str(key)[: str(key).rfind("-") + 1])
        if of is not None and of not in pending:
            pending[of] = (int(job_id), payload_field.to_python_value(payload))
    now = clock.now()
    opened: list[JobSpec] = []
    for request_id in ids:
        receipts = by_request[request_id]
        complete = request_id not in open_
        if request_id in pending:
            job_id, payload = pending[request_id]
            gathered = {**payload, "receipts": [*(payload.get("receipts") or []), *receipts]}
            # Claimed meanwhile (its state changed under us): a new digest is opened instead.
            query = OutboxJob.filter(id=job_id, state=JobState.PENDING).using_db(conn)
            changes: dict[str, Any] = {"payload": gathered}
            if complete:
                changes["run_after"] = now
            if await query.update(**changes):
                continue
        opened.append(
            JobSpec(
                kind=KIND,
                payload={"request_id": request_id, "receipts": receipts},
                idempotency_key=f"{_key_prefix(request_id)}{receipts[0]}",
                # Complete: at once (PostgreSQL wakes a worker for it).
                run_after=None if complete else now + timedelta(seconds=quiet_seconds),
            )
        )
    # Written by the caller with the batch's other jobs, in one statement.
    return opened


async def send_digest(job: OutboxJob, rt: Runtime) -> None:
    """Mail the receipts a digest gathered: one mail, each receipt linked (a batch of one)."""
    [error] = await send_digests([job], rt)
    if error is not None:
        raise error


async def send_digests(jobs: Sequence[OutboxJob], rt: Runtime) -> list[Exception | None]:
    """The digests claimed together: their requests and residents read in one query, their
    receipts in another, the mails sent together (over the mailer's kept connections); for each
    job, None (done) or the error its retry is decided by."""
    request_ids = sorted({int(job.payload["request_id"]) for job in jobs})
    receipt_ids = sorted({str(r) for job in jobs for r in job.payload.get("receipts") or []})
    db = OutboxJob._choose_db()
    requests = await _requests(db, request_ids)
    receipts = await _receipts(db, receipt_ids)
    results = await asyncio.gather(
        *(_send(job, requests, receipts, rt) for job in jobs), return_exceptions=True
    )
    errors: list[Exception | None] = []
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result  # cancelled, or the process is stopping
        errors.append(result)
    return errors


# A request as its digest names it: (kind, reference, resident's email, resident's locale).
_RequestRow = tuple[RequestKind, str, str | None, str | None]
# A receipt as its digest links it: (id, signatory's name, denied).
_ReceiptRow = tuple[str, str, bool]


async def _requests(db: BaseDBAsyncClient, ids: list[int]) -> dict[int, _RequestRow]:
    if not ids:
        return {}
    marks = ", ".join(placeholder(db, n) for n in range(1, len(ids) + 1))
    _, rows = await db.execute_query(
        "SELECT r.id, r.kind, r.reference, p.email, p.locale FROM rights_request r "  # noqa: S608
        f"JOIN resident p ON p.id = r.resident_id WHERE r.id IN ({marks})",
        ids,
    )
    kind = RightsRequest._meta.fields_map["kind"].to_python_value
    return {int(r[0]): (kind(r[1]), str(r[2]), r[3], r[4]) for r in rows}


async def _receipts(db: BaseDBAsyncClient, ids: list[str]) -> list[_ReceiptRow]:
    """In the order they were issued."""
    if not ids:
        return []
    marks = ", ".join(placeholder(db, n) for n in range(1, len(ids) + 1))
    _, rows = await db.execute_query(
        "SELECT c.id, s.name, d.state FROM receipt c "  # noqa: S608
        "JOIN delivery d ON d.id = c.delivery_id JOIN signatory s ON s.id = d.signatory_id "
        f"WHERE c.id IN ({marks}) ORDER BY c.issued_at, c.id",
        ids,
    )
    return [(str(r[0]), str(r[1]), r[2] == DeliveryState.DENIED.value) for r in rows]


async def _send(
    job: OutboxJob, requests: dict[int, _RequestRow], receipts: list[_ReceiptRow], rt: Runtime
) -> None:
    request_id = int(job.payload["request_id"])
    request = requests.get(request_id)
    if request is None:
        return  # reduced or deleted meanwhile: nothing to tell
    kind, reference, email, locale = request
    if not email:
        return  # assisted residents without email hear from their mediator
    wanted = {str(r) for r in job.payload.get("receipts") or []}
    settings = rt.settings
    items: list[dict[str, Any]] = [
        {
            "signatory_name": name,
            "denied": denied,
            "receipt_url": settings.url(f"/recus/{receipt_id}"),
        }
        for receipt_id, name, denied in receipts
        if receipt_id in wanted
    ]
    if not items:
        return
    await rt.send_mail(
        to=email,
        template="receipts_digest",
        context={
            "items": items,
            "count": len(items),
            "kind_label": kind_label(kind),
            "reference": reference,
            "request_url": settings.url(f"/mon-espace/demandes/{reference}"),
            "dashboard_url": settings.url("/mon-espace"),
        },
        idempotency_key=job.idempotency_key,
        locale=locale or "fr",
    )
    log.info(
        "receipt digest of request %s sent (%s receipts, job %s)", request_id, len(items), job.id
    )
