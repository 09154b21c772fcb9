"""SQLite: a claim takes the write lock only when a job is due, waits for another process's
write lock without holding the process's connection, and completion counts only held jobs."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import TransactionManagementError

from desk.core import clock
from desk.outbox import services, statements
from desk.outbox.models import JobState, OutboxJob
from tests.helpers import enqueue_backlog

GUARD = 30


@pytest.fixture
def sqlite_db(app: Starlette, database_url: str) -> Iterator[SqliteClient]:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    client = OutboxJob._meta.db
    assert isinstance(client, SqliteClient)
    pragmas = client.pragmas
    before = pragmas.get("busy_timeout")
    # Another process's lock held for longer than this makes a writer give up at once.
    pragmas["busy_timeout"] = 200
    yield client
    if before is None:
        pragmas.pop("busy_timeout", None)
    else:
        pragmas["busy_timeout"] = before


def _other_process_holding_the_lock(client: SqliteClient) -> sqlite3.Connection:
    holder = sqlite3.connect(client.filename, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def test_a_claim_with_nothing_due_leaves_the_write_lock_alone(
    sqlite_db: SqliteClient,
) -> None:
    holder = _other_process_holding_the_lock(sqlite_db)
    try:
        # Without the read first, the claim asked for the write lock and gave up on it.
        assert await services.claim_batch(worker_id="w1", limit=8) == []
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_claim_waits_for_another_process_then_takes_its_jobs(
    sqlite_db: SqliteClient,
) -> None:
    for n in range(3):
        await services.enqueue(kind="ok", payload={"n": n}, idempotency_key=f"ok-{n}")
    holder = _other_process_holding_the_lock(sqlite_db)
    try:
        with pytest.raises(TransactionManagementError):
            await services.claim_batch(worker_id="w1", limit=8)
        sqlite_db.pragmas["busy_timeout"] = GUARD * 1000
        claim = asyncio.create_task(services.claim_batch(worker_id="w1", limit=2))
        # While it waits, the process's connection still serves others.
        assert await OutboxJob.filter(state=JobState.PENDING).count() == 3
        assert not claim.done()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    jobs = await asyncio.wait_for(claim, timeout=GUARD)
    assert [job.payload["n"] for job in jobs] == [0, 1]
    assert all(job.state == JobState.RUNNING and job.attempts == 1 for job in jobs)
    rows = {job.id: job for job in await OutboxJob.filter(state=JobState.RUNNING)}
    assert set(rows) == {job.id for job in jobs}
    assert {row.locked_by for row in rows.values()} == {"w1"}
    # Completion counts the jobs still held as claimed: not one whose attempt moved on.
    jobs[1].attempts += 1
    assert await services.complete_many(jobs=jobs) == 1
    assert await OutboxJob.filter(state=JobState.DONE).count() == 1


def _claim_steps(path: str, limit: int) -> tuple[int, list[str]]:
    """SQLite's virtual-machine steps for one claim (by hundreds), and the keys it took; rolled
    back. Steps, not time: what the claim does while it holds the write lock, on any machine."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.set_progress_handler(count, 100)
        conn.execute("BEGIN IMMEDIATE")
        now = statements._db_time(clock.now())
        values = statements.claim_values("w1", now, now, limit)
        rows = conn.execute(statements._CLAIM_SQLITE, values).fetchall()
        keys = [str(row[3]) for row in sorted(rows, key=lambda row: int(row[0]))]
        conn.execute("ROLLBACK")
    return steps[0], keys


async def test_a_claim_does_not_grow_with_the_backlog(sqlite_db: SqliteClient) -> None:
    """With the OR of pending and running, SQLite gathered and sorted every due job at each
    claim, holding the write lock that every filing waits for."""
    await enqueue_backlog(1, 1000)
    small, taken = _claim_steps(sqlite_db.filename, 32)
    assert taken == [f"backlog-{n}" for n in range(1, 33)]
    await enqueue_backlog(1001, 12_000)
    large, taken = _claim_steps(sqlite_db.filename, 32)
    assert taken == [f"backlog-{n}" for n in range(1, 33)]
    # The gathering took twelve times the steps for twelve times the backlog.
    assert large <= 2 * small
    # A lapsed lease comes back in its turn among the pending ones.
    jobs = await services.claim_batch(worker_id="w1", limit=2)
    await OutboxJob.filter(id=jobs[1].id).update(locked_until=clock.now() - timedelta(seconds=1))
    again = await services.claim_batch(worker_id="w2", limit=2)
    assert [job.idempotency_key for job in again] == ["backlog-2", "backlog-3"]
