"""One worker running many jobs at once: batched claims, lanes, coalesced kinds, wake-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from desk.outbox import services
from desk.outbox.lanes import current_batch
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import JobRegistry, Worker
from desk.settings import Settings
from tests.helpers import run_worker_until_done

GUARD = 30


async def _enqueue(kind: str, count: int) -> None:
    for n in range(count):
        await services.enqueue(kind=kind, payload={"n": n}, idempotency_key=f"{kind}-{n}")


async def test_two_batch_claims_never_share_a_job(app: Starlette) -> None:
    await _enqueue("ok", 10)
    first = await services.claim_batch(worker_id="w1", limit=6)
    second = await services.claim_batch(worker_id="w2", limit=6)
    assert len(first) == 6 and len(second) == 4
    assert not {j.id for j in first} & {j.id for j in second}
    rows = await OutboxJob.all()
    assert all(r.state == JobState.RUNNING and r.attempts == 1 for r in rows)
    assert {r.locked_by for r in rows} == {"w1", "w2"}
    assert await services.claim_batch(worker_id="w3", limit=6) == []
    # Done in one statement; a job another worker holds is not this one's to finish.
    assert await services.complete_many(jobs=[*first, second[0]]) == 7
    assert await OutboxJob.filter(state=JobState.DONE).count() == 7


async def test_jobs_run_at_once_in_lanes_and_are_all_recorded_done(app: Starlette) -> None:
    lanes = 4
    running = 0
    most = 0
    all_in = asyncio.Event()

    async def waits(job: OutboxJob, ctx: object) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if running == lanes:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), timeout=GUARD)
        running -= 1

    await _enqueue("wait", lanes * 3)
    worker = _quick_worker(JobRegistry(handlers={"wait": waits}), concurrency=lanes)
    task = asyncio.create_task(worker.run_forever())
    for _ in range(GUARD * 20):
        if await OutboxJob.filter(state=JobState.DONE).count() == lanes * 3:
            break
        await asyncio.sleep(0.05)
    worker.stop()
    await asyncio.wait_for(task, timeout=GUARD)
    assert most == lanes  # four at once, never more
    assert await OutboxJob.filter(state=JobState.DONE).count() == lanes * 3


async def test_jobs_of_a_coalesced_kind_claimed_together_run_once(app: Starlette) -> None:
    calls: list[int] = []

    async def append_all(job: OutboxJob, ctx: object) -> None:
        calls.append(job.id)

    await _enqueue("log", 5)
    worker = _quick_worker(
        JobRegistry(handlers={"log": append_all}, coalesce=frozenset({"log"})), concurrency=8
    )
    task = asyncio.create_task(worker.run_forever())
    for _ in range(GUARD * 20):
        if await OutboxJob.filter(state=JobState.DONE).count() == 5:
            break
        await asyncio.sleep(0.05)
    worker.stop()
    await asyncio.wait_for(task, timeout=GUARD)
    assert len(calls) == 1
    assert await OutboxJob.filter(state=JobState.DONE).count() == 5


async def test_a_job_written_wakes_a_worker_that_would_not_poll_for_an_hour(
    app: Starlette, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has no notifications: workers poll")
    ran = asyncio.Event()

    async def mark(job: OutboxJob, ctx: object) -> None:
        ran.set()

    worker = Worker(
        registry=JobRegistry(handlers={"mark": mark}),
        context=None,
        base_delay=0,
        max_delay=0,
        poll_interval=3600,
        maintenance_interval=3600,
        database_url=settings.database_url,
    )
    task = asyncio.create_task(worker.run_forever())
    try:
        for _ in range(GUARD * 20):  # until it listens (it claims once when it starts)
            if worker.wakeup.listening:
                break
            await asyncio.sleep(0.05)
        assert worker.wakeup.listening
        async with in_transaction() as conn:
            await services.enqueue(
                kind="mark", payload={}, idempotency_key="mark-1", connection=conn
            )
        await asyncio.wait_for(ran.wait(), timeout=GUARD)
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=GUARD)
    assert worker.wakeup.dsn is not None


def _quick_worker(registry: JobRegistry, **options: Any) -> Worker:
    """A worker that retries at once and looks for due jobs every 50 ms."""
    return Worker(
        registry=registry, context=None, base_delay=0, max_delay=0, poll_interval=0.05, **options
    )


async def test_a_batch_whose_partners_answered_lets_the_next_one_start_while_it_records(
    app: Starlette,
) -> None:
    """Both places held by the first batch: the second starts only once the first says its
    partners answered, and the first, still recording, keeps its jobs' leases meanwhile."""
    second_started = asyncio.Event()
    order: list[str] = []

    async def batch(jobs: Sequence[OutboxJob], ctx: object) -> list[Exception | None]:
        run = current_batch()
        assert run is not None
        if not order:
            order.append("first")
            run.answered()
            # Recording: longer than a lease, which the heartbeat must keep.
            await asyncio.wait_for(second_started.wait(), timeout=GUARD)
            await asyncio.sleep(1.0)
            order.append("first recorded")
        else:
            order.append("second")
            second_started.set()
        return [None] * len(jobs)

    await _enqueue("b", 4)
    worker = _quick_worker(
        JobRegistry(batches={"b": batch}), concurrency=2, claim_batch=2, lease_seconds=0.6
    )
    await run_worker_until_done(worker, 4)
    assert order == ["first", "second", "first recorded"]
    jobs = await OutboxJob.all()
    assert {job.state for job in jobs} == {JobState.DONE}
    assert {job.attempts for job in jobs} == {1}  # never taken up again: leases kept


async def test_jobs_a_batch_marked_done_with_its_effects_are_recorded_once(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    async def batch(jobs: Sequence[OutboxJob], ctx: object) -> list[Exception | None]:
        run = current_batch()
        assert run is not None
        async with in_transaction() as conn:
            # The batch's effects would be written here, in the same transaction.
            assert await services.complete_many(jobs=jobs[:2], connection=conn) == 2
        run.recorded.update(job.id for job in jobs[:2])
        return [None] * len(jobs)

    await _enqueue("b", 3)
    worker = _quick_worker(JobRegistry(batches={"b": batch}), concurrency=4)
    with caplog.at_level(logging.INFO, logger="desk.worker"):
        await run_worker_until_done(worker, 3)
    assert {job.state for job in await OutboxJob.all()} == {JobState.DONE}
    assert "taken over" not in caplog.text
    assert "done:" in caplog.text
