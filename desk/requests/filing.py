"""Writing filed requests: many filings in one transaction, one commit for all (group commit).

A filing's transaction is short (a request, its deliveries, their first events and dispatch
jobs), but its commit waits for the disk (`synchronous=FULL` on SQLite: an fsync, about 3 ms on
the bench box) and, on SQLite, for the one write lock every process shares; the process's one
SQLite connection is held meanwhile, so concurrent filings of a process queued behind each
other's commits (bench/concurrent_load.py --mode intake: 8–9 ms per filing, serialised).
Filings that arrive while a group is being written wait for it, then are written together:
one BEGIN, one statement per table for all of them, one NOTIFY, one commit; on PostgreSQL,
one statement that does all of it (desk.requests.filing_pg), and two groups at once. A filing
alone is written at once, as before; nobody waits for company. A filing in a mediator's open
transaction is written there, by `write_filings`.

Nothing is shared between filings but the transaction: a repeated submission key (or a
reference drawn twice) skips that filing's row (ON CONFLICT DO NOTHING) and its caller is
told, so the others are written; any other error of a row's data undoes the group, and each
of its filings is then written alone, so one bad filing fails only its own caller. Every
filing answered has been committed, as before.

On SQLite a group's transaction is one trip to the connection's thread (its statements run
there back to back); the rows are built alike on every path (desk.requests.filing_rows).
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.db_rows import columns_of, insert_returning, insert_rows, row_values, values_inserts
from desk.db_sqlite import own_client, write_in_thread
from desk.dbstatus import is_write_conflict
from desk.outbox import intake
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue_rows, job_defaults
from desk.requests import filing_pg
from desk.requests.filing_rows import (
    DELIVERY_SHARED,
    Filing,
    answers,
    delivery_rows,
    events_and_jobs,
    kept_filings,
    request_rows,
)
from desk.requests.models import Delivery, DeliveryEvent, RightsRequest

# PostgreSQL writes two groups at once: while one group's statement runs in its backend, the
# filings that arrived meanwhile are written by another, on the other core, instead of waiting
# for it; the web process's own work (the next filings' pages) overlaps both. With one group
# at a time, a filing's page and its group's statement took turns: to 40 signatories, filings/s
# were 1 / (serve + PostgreSQL CPU per filing) (bench/concurrent_load.py --mode everywhere).
# SQLite has one write lock for every process: a second group would only queue behind it.
GROUPS_AT_ONCE = 2

# One group at most: enough for every filing a process has in flight at once; a group's
# statements stay far below the parameters one statement takes (desk.db_rows).
MAX_FILINGS = 64
MAX_DELIVERIES = 4_000


async def write_filings(
    filings: list[Filing], connection: BaseDBAsyncClient
) -> list[RightsRequest | None]:
    """Write the filings in the caller's transaction; for each, its request, or None when its
    row was skipped (its submission key or reference is taken)."""
    written = await insert_returning(
        RightsRequest,
        shared={},
        rows=request_rows(filings),
        returning=("id", "reference"),
        connection=connection,
        skip_conflicts=True,
    )
    ids = {str(row["reference"]): int(row["id"]) for row in written}
    kept = kept_filings(filings, ids)
    if kept:
        # Deliveries, their first events and their dispatch jobs: three statements for the lot.
        created = await insert_returning(
            Delivery,
            shared=DELIVERY_SHARED,
            rows=delivery_rows(kept),
            returning=("id", "request_id"),
            connection=connection,
        )
        events, jobs = events_and_jobs(kept, created)
        await insert_rows(DeliveryEvent, shared={}, rows=events, connection=connection)
        await enqueue_rows(rows=jobs, connection=connection)
    return answers(filings, ids)


async def write_filings_sqlite(
    client: SqliteClient, filings: list[Filing]
) -> list[RightsRequest | None]:
    """`write_filings` in a write transaction of its own, in one trip to the connection's
    thread: the write lock every process shares is held for the statements alone, not for the
    event loop's turns between them (five trips, each waiting behind the page requests of the
    moment, bench/concurrent_load.py --mode everywhere)."""
    columns = {model: columns_of(model, client) for model in _WRITTEN}
    requests = values_inserts(
        RightsRequest, columns[RightsRequest],
        row_values(RightsRequest, columns[RightsRequest], {}, request_rows(filings)),
        postgres=False, skip_conflicts=True, returning=("id", "reference"),
    )  # fmt: skip
    jobs_shared = job_defaults(clock.now())

    def insert(
        conn: sqlite3.Connection,
        model: type[Model],
        shared: dict[str, Any],
        rows: list[dict[str, Any]],
        returning: tuple[str, ...] = (),
    ) -> list[Any]:
        values = row_values(model, columns[model], shared, rows) if rows else []
        found: list[Any] = []
        for sql, params in values_inserts(
            model, columns[model], values, postgres=False, returning=returning
        ):
            found += conn.execute(sql, params).fetchall()
        return found

    def work(conn: sqlite3.Connection) -> dict[str, int]:
        ids: dict[str, int] = {}
        for sql, params in requests:
            ids.update((str(row[1]), int(row[0])) for row in conn.execute(sql, params))
        kept = kept_filings(filings, ids)
        if kept:
            written = delivery_rows(kept)
            rows = insert(conn, Delivery, DELIVERY_SHARED, written, ("id", "request_id"))
            created = [{"id": row[0], "request_id": row[1]} for row in rows]
            events, jobs = events_and_jobs(kept, created)
            insert(conn, DeliveryEvent, {}, events)
            insert(conn, OutboxJob, jobs_shared, jobs)
        return ids

    ids = await write_in_thread(client, work) or {}
    if ids:
        intake.filed(client.filename)  # workers hold back while residents file
    return answers(filings, ids)


_WRITTEN: tuple[type[Model], ...] = (RightsRequest, Delivery, DeliveryEvent, OutboxJob)


async def write_group(filings: list[Filing]) -> list[RightsRequest | None]:
    """The filings committed together, by the cheapest path the database offers: on SQLite one
    trip to the connection's thread, on PostgreSQL one statement (desk.requests.filing_pg),
    else (a detail holding free text, salted per event) a transaction of their own."""
    client = get_connections().get("default")
    if (own := own_client(client)) is not None:
        return await write_filings_sqlite(own, filings)
    if (tails := filing_pg.event_tails(filings, client)) is not None:
        return answers(filings, await filing_pg.write_group(filings, tails, client))
    async with in_transaction() as connection:
        return await write_filings(filings, connection)


def groups_at_once() -> int:
    """How many groups this process writes at once (GROUPS_AT_ONCE on PostgreSQL, 1 on SQLite)."""
    postgres = get_connections().get("default").capabilities.dialect == "postgres"
    return GROUPS_AT_ONCE if postgres else 1


def in_open_transaction() -> bool:
    """Whether the caller runs inside a transaction (a mediator's filing and what goes with
    it): its filing is written there, not in a group's transaction of its own."""
    return isinstance(get_connections().get("default"), TransactionalDBClient)


@dataclass
class _Waiting:
    filing: Filing
    answer: asyncio.Future[RightsRequest | None]


class GroupCommit:
    """Filings queued while a group is being written; writer tasks write them group by group,
    one at a time on SQLite (one writer per database), two on PostgreSQL (see GROUPS_AT_ONCE)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[_Waiting] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def file(self, filing: Filing) -> RightsRequest | None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing carries over
            self._loop, self._queue, self._writers = loop, [], set()
        waiting = _Waiting(filing, loop.create_future())
        self._queue.append(waiting)
        if len(self._writers) < groups_at_once():
            self._writers.add(loop.create_task(self._drain()))
        # A caller cancelled meanwhile (the client went away) leaves its filing to be written:
        # the resident may send the form again, and its submission key finds it.
        return await waiting.answer

    async def _drain(self) -> None:
        group: list[_Waiting] = []
        try:
            while self._queue:
                group = self._take()
                await self._write(group)
                group = []
        except BaseException:
            # Stopped (the process shuts down): nobody waits forever.
            for waiting in group + self._queue:
                if not waiting.answer.done():
                    waiting.answer.cancel()
            self._queue = []
            raise
        finally:
            # Here, not in a done callback: one runs a loop turn later, and a filing queued
            # meanwhile would find every writer slot taken by writers that have ended.
            self._writers.discard(asyncio.current_task())

    def _take(self) -> list[_Waiting]:
        group: list[_Waiting] = []
        deliveries = 0
        while self._queue and len(group) < MAX_FILINGS:
            deliveries += len(self._queue[0].filing.targets)
            if group and deliveries > MAX_DELIVERIES:
                break
            group.append(self._queue.pop(0))
        return group

    async def _write(self, group: list[_Waiting]) -> None:
        try:
            results = await write_group([w.filing for w in group])
        except Exception as exc:
            # One filing's data (a resident or signatory deleted meanwhile), or two groups
            # written at once that each waited for the other's row (the same submission keys,
            # sent twice in crossed order, PostgreSQL's deadlock): each alone. Anything else
            # (the database locked or gone) is the same for all.
            if len(group) > 1 and (isinstance(exc, IntegrityError) or is_write_conflict(exc)):
                for waiting in group:
                    await self._write([waiting])
                return
            _tell(group, exc)
            return
        for waiting, result in zip(group, results, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(result)


def _tell(group: list[_Waiting], exc: Exception) -> None:
    for waiting in group:
        if not waiting.answer.done():
            waiting.answer.set_exception(exc)


GROUP = GroupCommit()
