"""Reduction of closed requests, in batches (the rule: desk.retention.rules; docs/retention.md).

A closed request (every delivery final) loses its free text twelve months after its last
answer: the free-text columns of its deliveries, the note of their outcome, the name of their
(long emptied) access copy, and the free text of their events, which keep a salted commitment
in its place (desk.requests.audit.sealed_detail) so the trails still verify. Receipts are
signed documents of their own and are never touched.

A history never reduced holds hundreds of thousands of due requests: requests go by batches,
each read in a few set-based queries, computed in Python and written back with a few bulk
statements, in one transaction per batch (bench/retention.py: from about 100-200 requests a
second one by one to 1,000-2,000). The batch is claimed first, inside its transaction, by a
conditional update of `reduced_at` that returns the rows it changed: of two workers, each
request goes to exactly one, whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.requests.audit import FREE_TEXT, digest_matches, sealed_detail
from desk.requests.models import AccessCopy, Delivery, DeliveryEvent, RightsRequest
from desk.requests.states import FINAL_STATES
from desk.retention import rules
from desk.retention.rules import RetentionReport

log = logging.getLogger("desk.retention.reduction")

# Free-text columns of a delivery; the outcome's note is the one free text in a JSON column.
TEXT_COLUMNS = ("info_request", "info_answer", "denial_detail", "extension_reason")
# Ids per IN list: far below the bound parameters both databases accept (32,766).
WRITE_CHUNK = 500


def _batch() -> int:
    # Read at call time: tests lower it to exercise several batches.
    return rules.BATCH


def closed_at(deliveries: Iterable[Delivery]) -> datetime | None:
    """When the request's last delivery became final; None while one is not final."""
    listed = list(deliveries)
    if not listed or any(d.state not in FINAL_STATES for d in listed):
        return None
    # A withdrawal sets no completion time: its last change is the closing one.
    return max(d.completed_at or d.updated_at for d in listed)


def _by_request(deliveries: Iterable[Delivery]) -> dict[int, list[Delivery]]:
    grouped: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        grouped.setdefault(delivery.request_id, []).append(delivery)  # type: ignore[attr-defined]
    return grouped


async def _claim(ids: list[int], *, now: datetime, conn: BaseDBAsyncClient) -> list[int]:
    """Mark the requests reduced; the ids this transaction won (not reduced by anyone before).

    One statement, first in the transaction: on PostgreSQL a concurrent claim waits on the row
    locks, then finds `reduced_at` set and skips the row; on SQLite the statement takes the
    write lock before anything is read. RETURNING (SQLite >= 3.35) says which rows changed.
    """
    if not ids:
        return []
    table = RightsRequest._meta.db_table
    postgres = conn.capabilities.dialect == "postgres"
    marks = [f"${n}" if postgres else "?" for n in range(1, len(ids) + 2)]
    sql = (
        f"UPDATE {table} SET reduced_at = {marks[0]} "  # values go as parameters
        f"WHERE reduced_at IS NULL AND id IN ({', '.join(marks[1:])}) RETURNING id"
    )
    rows = await conn.execute_query_dict(sql, [now, *ids])
    return sorted(int(row["id"]) for row in rows)


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), WRITE_CHUNK):
        yield items[start : start + WRITE_CHUNK]


async def reduce_requests(
    request_ids: list[int],
    *,
    now: datetime,
    conn: BaseDBAsyncClient,
    report: RetentionReport,
    cutoff: datetime | None = None,
) -> list[int]:
    """Remove the free text of these requests inside the caller's transaction.

    `cutoff`: reduce only those still closed before it (read again after the claim; the
    others are released). Returns the ids reduced; a request reduced meanwhile is skipped.
    """
    won = await _claim(request_ids, now=now, conn=conn)
    if not won:
        return []
    deliveries = await Delivery.filter(request_id__in=won).using_db(conn)
    if cutoff is not None:
        grouped = _by_request(deliveries)
        late = {
            rid
            for rid in won
            if (closed := closed_at(grouped.get(rid, ()))) is None or closed > cutoff
        }
        if late:
            # Answered again since it was picked: not due after all, released whole.
            await RightsRequest.filter(id__in=sorted(late)).using_db(conn).update(reduced_at=None)
            won = [rid for rid in won if rid not in late]
            deliveries = [d for d in deliveries if d.request_id not in late]  # type: ignore[attr-defined]
    delivery_ids = [d.id for d in deliveries]
    for chunk in _chunks(delivery_ids):
        await Delivery.filter(id__in=chunk).using_db(conn).update(**dict.fromkeys(TEXT_COLUMNS))
        # Copies are long gone (7 days); their file name may still name the person.
        await (
            AccessCopy.filter(delivery_id__in=chunk)
            .using_db(conn)
            .update(filename="copie", content=None)
        )
    noted = []
    for delivery in deliveries:
        if isinstance(delivery.outcome, dict) and "note" in delivery.outcome:
            delivery.outcome = {k: v for k, v in delivery.outcome.items() if k != "note"}
            noted.append(delivery)
    await _update_column(Delivery, "outcome", [(d.id, d.outcome) for d in noted], conn=conn)
    await _seal_events(delivery_ids, conn=conn, report=report)
    report.requests_reduced += len(won)
    return won


async def _seal_events(
    delivery_ids: list[int], *, conn: BaseDBAsyncClient, report: RetentionReport
) -> None:
    sealed_events: list[DeliveryEvent] = []
    for chunk in _chunks(delivery_ids):
        # Only these actions hold free text (and its salt): the others are never changed.
        events = DeliveryEvent.filter(delivery_id__in=chunk, action__in=list(FREE_TEXT))
        for event in await events.using_db(conn):
            sealed = sealed_detail(event.action, event.detail)
            if sealed == event.detail:
                continue
            if not digest_matches(event, legacy=False):
                # Digest over the raw text (written before sealing): keep the text and the chain.
                report.legacy_texts_kept += 1
                continue
            event.detail = sealed
            sealed_events.append(event)
    rows = [(e.id, e.detail) for e in sealed_events]
    await _update_column(DeliveryEvent, "detail", rows, conn=conn)
    report.texts_removed += len(sealed_events)


async def _update_column(
    model: type[Model], column: str, rows: list[tuple[int, Any]], *, conn: BaseDBAsyncClient
) -> None:
    """Give each row (id, value) its own value: one prepared UPDATE run for all (executemany).

    The ORM's `bulk_update` builds one CASE branch per row in Python, which cost more than
    the database's own work (py-spy on bench/retention.py).
    """
    if not rows:
        return
    field = model._meta.fields_map[column]
    postgres = conn.capabilities.dialect == "postgres"
    value, key = ("$1", "$2") if postgres else ("?", "?")
    sql = f"UPDATE {model._meta.db_table} SET {column} = {value} WHERE id = {key}"
    await conn.execute_many(sql, [[field.to_db_value(v, model), pk] for pk, v in rows])


async def reduce_closed_requests(
    *,
    now: datetime,
    months: int,
    report: RetentionReport,
    dry_run: bool = False,
    budget: float | None = None,
) -> bool:
    """Reduce the requests whose last answer is `months` old, batch after batch.

    `budget`: seconds after which no new batch starts (one batch always runs), so that a long
    backlog does not hold the worker away from its other work; None goes on until done.
    Returns whether every due request was reached (False: the budget stopped the run).
    """
    cutoff = clock.add_months(now, -months)
    deadline = None if budget is None else time.monotonic() + budget
    after = 0
    while True:
        # A request closed before the cutoff was filed before it too: a cheap first filter.
        rows: Any = (
            await RightsRequest.filter(id__gt=after, reduced_at__isnull=True, created_at__lt=cutoff)
            .order_by("id")
            .limit(_batch())
            .values_list("id", flat=True)
        )
        candidates = [int(rid) for rid in rows]
        if not candidates:
            return True
        after = candidates[-1]
        grouped = _by_request(await Delivery.filter(request_id__in=candidates))
        due = [
            rid
            for rid, deliveries in sorted(grouped.items())
            if (closed := closed_at(deliveries)) is not None and closed <= cutoff
        ]
        if dry_run:
            report.requests_reduced += len(due)
        elif due:
            async with in_transaction() as conn:
                await reduce_requests(due, now=now, conn=conn, report=report, cutoff=cutoff)
        if deadline is not None and time.monotonic() >= deadline:
            log.info("closed requests: time budget spent after request %s, more may be due", after)
            return False
