"""Migration 0021_postgres_writes on PostgreSQL: the outbox's only non-unique index leaves done
jobs out, the claim and the back office still find jobs by state, and deliveries keep room on
their pages for in-place updates. How the claim walks that index: test_claim_postgres.py in
tests/desk/outbox."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from tortoise import connections

from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob


def _postgres_only() -> None:
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("PostgreSQL's indexes and storage options")


async def test_the_outbox_indexes_only_jobs_not_done(app: Starlette) -> None:
    _postgres_only()
    _, rows = await connections.get("default").execute_query(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'outbox_job' "
        "AND indexdef NOT LIKE 'CREATE UNIQUE%' ORDER BY indexname"
    )
    found = {str(row[0]): str(row[1]) for row in rows}
    # `(state, run_after)` and `(run_after)` each took an entry at every update of every job.
    assert sorted(found) == ["outbox_job_dead", "outbox_job_due"]
    assert "(run_after, id) WHERE ((state)::text = ANY" in found["outbox_job_due"]
    assert "(finished_at, id) WHERE ((state)::text = 'dead'::text)" in found["outbox_job_dead"]


async def test_jobs_are_still_claimed_done_and_found_by_state(app: Starlette) -> None:
    _postgres_only()
    for n in range(3):
        await services.enqueue(kind="test.kind", payload={"n": n}, idempotency_key=f"k-{n}")
    jobs = await services.claim_batch(worker_id="w", limit=2)
    assert [job.payload["n"] for job in jobs] == [0, 1]
    assert await services.complete_many(jobs=jobs) == 2
    [last] = await services.claim_batch(worker_id="w", limit=5)
    await services.fail(job=last, error="boom", base_delay=1, max_delay=1, permanent=True)
    assert [job.id for job in await services.dead_jobs()] == [last.id]
    assert await services.pending_count() == 0
    assert await services.seconds_until_due() is None
    assert await OutboxJob.filter(state=JobState.DONE).count() == 2
    # A key seen before still deduplicates (its unique index is untouched).
    again = await services.enqueue(kind="test.kind", payload={}, idempotency_key="k-0")
    assert again.id == jobs[0].id


async def test_deliveries_keep_room_for_updates_in_place(app: Starlette) -> None:
    _postgres_only()
    _, rows = await connections.get("default").execute_query(
        "SELECT reloptions FROM pg_class WHERE relname = 'delivery'"
    )
    assert "fillfactor=70" in list(rows[0][0] or [])
