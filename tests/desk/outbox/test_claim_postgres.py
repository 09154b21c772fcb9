"""PostgreSQL: a claim and a completion read about the jobs they take, not the whole backlog,
whatever the planner believes of the queue (migration 0024_outbox_claim, services._held).

The table here is never analysed, as on a database minutes old or with autovacuum off: the
planner took the index of due jobs for small and gathered every due job at each claim, then
again at each completion."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from tests.helpers import enqueue_backlog

# The backlog of 300 filings to 40 signatories; at 3,000 jobs the old claim still walked.
BACKLOG = 12_000
TAKEN = 32

# Index entries read by this transaction, of the due jobs' index and of the primary key.
_READ = (
    "SELECT relname, pg_stat_get_xact_tuples_returned(oid) FROM pg_class "
    "WHERE relname IN ('outbox_job_due', 'outbox_job_pkey')"
)


async def _reads(connection: BaseDBAsyncClient) -> dict[str, int]:
    _, rows = await connection.execute_query(_READ)
    return {str(r[0]): int(r[1]) for r in rows}


def _more(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in after}


@pytest.fixture
async def backlog(app: Starlette) -> None:
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("PostgreSQL's planner and per-transaction index statistics")
    await enqueue_backlog(1, BACKLOG)


async def test_a_claim_walks_the_due_jobs_in_order_and_stops_at_its_limit(backlog: None) -> None:
    async with in_transaction() as connection:
        before = await _reads(connection)
        jobs = await services.claim_batch(worker_id="w1", limit=TAKEN)
        read = _more(await _reads(connection), before)
    assert [job.idempotency_key for job in jobs] == [f"backlog-{n}" for n in range(1, TAKEN + 1)]
    assert all(job.state is JobState.RUNNING and job.locked_by == "w1" for job in jobs)
    # The walk reads the jobs it takes (and whatever another claim holds); the gathering read
    # all 12,000.
    assert read["outbox_job_due"] <= 2 * TAKEN
    taken = await OutboxJob.filter(state=JobState.RUNNING).count()
    assert taken == TAKEN


async def test_a_second_claim_skips_what_the_first_took(backlog: None) -> None:
    first = await services.claim_batch(worker_id="w1", limit=TAKEN)
    async with in_transaction() as connection:
        before = await _reads(connection)
        second = await services.claim_batch(worker_id="w2", limit=TAKEN)
        read = _more(await _reads(connection), before)
    assert {job.id for job in first}.isdisjoint(job.id for job in second)
    assert [job.idempotency_key for job in second] == [
        f"backlog-{n}" for n in range(TAKEN + 1, 2 * TAKEN + 1)
    ]
    # The first claim's jobs, still running under their lease, are walked past.
    assert read["outbox_job_due"] <= 3 * TAKEN


async def test_two_claims_at_once_take_the_oldest_jobs_between_them_never_one_twice(
    backlog: None,
) -> None:
    """Two workers' claims at the same moment, each on its own PostgreSQL session: each skips
    the rows the other has locked, and together they take the oldest jobs."""
    first, second = await asyncio.gather(
        services.claim_batch(worker_id="w1", limit=TAKEN),
        services.claim_batch(worker_id="w2", limit=TAKEN),
    )
    taken = [job.idempotency_key for job in [*first, *second]]
    assert len(first) == len(second) == TAKEN
    assert sorted(taken, key=lambda key: int(key.split("-")[1])) == [
        f"backlog-{n}" for n in range(1, 2 * TAKEN + 1)
    ]
    assert await OutboxJob.filter(state=JobState.RUNNING).count() == 2 * TAKEN


async def test_completing_a_batch_reads_its_jobs_by_key(backlog: None) -> None:
    jobs = await services.claim_batch(worker_id="w1", limit=TAKEN)
    async with in_transaction() as connection:
        before = await _reads(connection)
        done = await services.complete_many(jobs=jobs, connection=connection)
        read = _more(await _reads(connection), before)
    assert done == TAKEN
    assert read["outbox_job_due"] == 0
    assert read["outbox_job_pkey"] <= 2 * TAKEN
    assert await OutboxJob.filter(state=JobState.DONE).count() == TAKEN
    # A job another worker holds now is not completed by the one that lost it.
    again = await services.claim_batch(worker_id="w1", limit=1)
    stolen = again[0]
    await OutboxJob.filter(id=stolen.id).update(locked_by="w2", attempts=stolen.attempts + 1)
    assert await services.complete_many(jobs=again) == 0
    assert (await OutboxJob.get(id=stolen.id)).state is JobState.RUNNING
