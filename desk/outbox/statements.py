"""The outbox's hottest statements written once as SQL text, and on SQLite run in one trip to the
connection's thread.

Tortoise builds a query set's SQL with pypika at every await: with jobs trickling in (a worker
beside `desk serve`, bench/concurrent_load.py --mode intake) the claim and the completion were
built at every call and were a quarter of the worker's samples on SQLite, the completion a tenth
on PostgreSQL. PostgreSQL's claim is one statement already (services._CLAIM_POSTGRES); its
completion is `services.completion_postgres`'s text, run on its own here.

SQLite: a claim was BEGIN IMMEDIATE, SELECT, UPDATE and COMMIT, four trips to the connection's
thread and back (each a wake-up of the event loop), and took the write lock even when nothing was
due. It is now one function run in the thread (desk.db_sqlite.write_in_thread): a read of whether
anything is due (no lock under WAL), then BEGIN IMMEDIATE, one `UPDATE … RETURNING`, COMMIT.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient

from desk.db_sqlite import write_in_thread
from desk.outbox.models import OutboxJob

# Due: pending and due, or running with its lease lapsed (its worker was lost), as services._due.
_DUE_SQLITE = "(state = 'pending' AND run_after <= ?) OR (state = 'running' AND locked_until < ?)"
_ANY_DUE_SQLITE = f"SELECT 1 FROM outbox_job WHERE {_DUE_SQLITE} LIMIT 1"  # noqa: S608
# Each state walks its own part of the index (state, run_after, id) in the claim's order and
# stops at the limit; then at most twice the limit is sorted. With the OR of the two states
# SQLite gathered every due job (two index searches merged) and sorted them all, at every claim
# and with the write lock held: 1.98 ms against 0.022 ms for 32 jobs of a 12,000 backlog.
_CLAIM_SQLITE = (
    "UPDATE outbox_job SET state = 'running', locked_by = ?, locked_until = ?, "
    "attempts = attempts + 1 WHERE id IN (SELECT id FROM ("
    "SELECT * FROM (SELECT id, run_after FROM outbox_job WHERE state = 'pending' "
    "AND run_after <= ? ORDER BY run_after, id LIMIT ?) UNION ALL "
    "SELECT * FROM (SELECT id, run_after FROM outbox_job WHERE state = 'running' "
    "AND locked_until < ? ORDER BY run_after, id LIMIT ?)"
    ") ORDER BY run_after, id LIMIT ?) RETURNING *"
)


def claim_values(worker_id: str, lease_end: Any, now: Any, limit: int) -> tuple[Any, ...]:
    """`_CLAIM_SQLITE`'s parameters, in its order."""
    return (worker_id, lease_end, now, limit, now, limit, limit)


# One run per job (executemany: the statement is prepared once); `_held` in services. SQLite finds
# the row by its id whatever the state test says; PostgreSQL needs services._STILL_RUNNING.
_COMPLETE_SQLITE = (
    "UPDATE outbox_job SET state = 'done', finished_at = ?, locked_until = NULL, "
    "last_error = NULL WHERE id = ? AND locked_by = ? AND attempts = ? AND state = 'running'"
)
_NEXT_DUE = "SELECT run_after FROM outbox_job WHERE state = 'pending' ORDER BY run_after LIMIT 1"


def _db_time(value: datetime) -> Any:
    return OutboxJob._meta.fields_map["run_after"].to_db_value(value, OutboxJob)


async def claim_sqlite(
    client: SqliteClient, *, worker_id: str, limit: int, moment: datetime, until: datetime
) -> list[OutboxJob]:
    """Up to `limit` due jobs, oldest due first, RUNNING and leased to `worker_id`."""
    now, lease_end = _db_time(moment), _db_time(until)

    def any_due(conn: sqlite3.Connection) -> bool:
        return conn.execute(_ANY_DUE_SQLITE, (now, now)).fetchone() is not None

    def claim(conn: sqlite3.Connection) -> list[Any]:
        values = claim_values(worker_id, lease_end, now, limit)
        return conn.execute(_CLAIM_SQLITE, values).fetchall()

    rows = await write_in_thread(client, claim, any_due)
    jobs = [OutboxJob._init_from_db(**dict(row)) for row in rows or ()]
    jobs.sort(key=lambda job: (job.run_after, job.id))
    return jobs


def _completion_values(jobs: Sequence[OutboxJob], at: datetime) -> list[tuple[Any, ...]]:
    when = OutboxJob._meta.fields_map["finished_at"].to_db_value(at, OutboxJob)
    return [(when, job.id, job.locked_by, job.attempts) for job in jobs]


async def complete_sqlite(client: SqliteClient, jobs: Sequence[OutboxJob], at: datetime) -> int:
    """Mark jobs done in a write transaction of their own; how many were still held."""
    values = _completion_values(jobs, at)

    def complete(conn: sqlite3.Connection) -> int:
        return _run_many(conn, _COMPLETE_SQLITE, values)

    return int(await write_in_thread(client, complete) or 0)


def _run_many(conn: sqlite3.Connection, sql: str, values: list[tuple[Any, ...]]) -> int:
    return max(conn.executemany(sql, values).rowcount, 0)


async def complete_in(transaction: SqliteClient, jobs: Sequence[OutboxJob], at: datetime) -> int:
    """Mark jobs done inside the caller's SQLite transaction; how many were still held."""
    values = _completion_values(jobs, at)
    async with transaction.acquire_connection() as connection:
        done = await connection._execute(_run_many, connection._conn, _COMPLETE_SQLITE, values)
    return int(done)


async def next_due(client: BaseDBAsyncClient) -> datetime | None:
    """When the earliest pending job is due, None when none is pending."""
    _, rows = await client.execute_query(_NEXT_DUE)
    if not rows:
        return None
    value = OutboxJob._meta.fields_map["run_after"].to_python_value(rows[0][0])
    assert isinstance(value, datetime)
    return value
