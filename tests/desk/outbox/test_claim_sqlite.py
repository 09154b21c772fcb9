"""SQLite: a claim takes the write lock only when a job is due, waits for another process's
write lock without holding the process's connection, and completion counts only held jobs."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import TransactionManagementError

from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob

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
