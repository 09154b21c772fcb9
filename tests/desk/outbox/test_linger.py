"""A worker lingers before claiming, so that jobs trickling in are claimed (and run) together:
after a wake-up, and when lanes free one by one. A stop ends the linger at once."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette

from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import JobRegistry, Worker

GUARD = 30
# Long beside what the test does meanwhile (a few statements), so what it writes lands
# inside the linger even on a loaded machine; the tests wait for it once or twice.
LINGER = 2.0


async def _ok(job: OutboxJob, ctx: object) -> None:
    return None


def _worker(registry: JobRegistry, **options: Any) -> tuple[Worker, list[int]]:
    """A worker that polls rarely (only a poke wakes it in time) and whose claims' sizes are
    recorded."""
    worker = Worker(
        registry=registry, context=None, base_delay=0, max_delay=0, poll_interval=GUARD, **options
    )
    sizes: list[int] = []
    claim = worker._claim

    async def recorded(limit: int) -> list[OutboxJob]:
        jobs = await claim(limit)
        sizes.append(len(jobs))
        return jobs

    worker._claim = recorded  # type: ignore[method-assign]
    return worker, sizes


async def _until(predicate: Any) -> None:
    for _ in range(GUARD * 20):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


async def _done(count: int) -> bool:
    return await OutboxJob.filter(state=JobState.DONE).count() >= count


async def _enqueue(*keys: str) -> None:
    for key in keys:
        await services.enqueue(kind="ok", payload={}, idempotency_key=key)


async def test_jobs_written_just_after_a_wake_up_are_claimed_with_it(app: Starlette) -> None:
    worker, sizes = _worker(JobRegistry(handlers={"ok": _ok}), concurrency=8, claim_linger=LINGER)
    wait = worker.wakeup.wait
    later: list[asyncio.Task[None]] = []

    async def woken(seconds: float) -> None:
        await wait(seconds)
        if not later and await OutboxJob.all().count():
            # Written once the worker is awake, after the job that woke it: without the
            # linger, the claim was already on its way and took the first job alone.
            later.append(asyncio.create_task(_enqueue("second", "third")))

    worker.wakeup.wait = woken  # type: ignore[method-assign]
    task = asyncio.create_task(worker.run_forever())
    try:
        await _until(lambda: _claimed(sizes))
        await _enqueue("first")
        worker.wakeup.poke()
        await _until(lambda: _done(3))
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=GUARD)
    assert [n for n in sizes if n] == [3]


async def _claimed(sizes: list[int]) -> bool:
    return bool(sizes)


async def test_lanes_freed_one_by_one_are_claimed_for_together(app: Starlette) -> None:
    """Four lanes, all held: a lane freed alone does not claim one job, the worker waits
    (at most the linger) for half of them."""
    releases = {n: asyncio.Event() for n in range(4)}

    async def held(job: OutboxJob, ctx: object) -> None:
        await asyncio.wait_for(releases[int(job.payload["n"])].wait(), timeout=GUARD)

    for n in range(4):
        await services.enqueue(kind="held", payload={"n": n}, idempotency_key=f"held-{n}")
    registry = JobRegistry(handlers={"held": held, "ok": _ok})
    worker, sizes = _worker(registry, concurrency=4, claim_batch=4, claim_linger=LINGER)
    task = asyncio.create_task(worker.run_forever())
    try:
        await _until(lambda: _claimed(sizes))
        assert sizes == [4]
        await _enqueue("a", "b", "c", "d")
        releases[0].set()
        await _until(lambda: _done(1))
        # Time enough for a claim of the one free lane, had it not waited for a second.
        await asyncio.sleep(0.3)
        releases[1].set()
        await _until(lambda: _done(2 + 2))
        assert sizes[1] == 2
        releases[2].set()
        releases[3].set()
        await _until(lambda: _done(8))
    finally:
        for release in releases.values():
            release.set()
        worker.stop()
        await asyncio.wait_for(task, timeout=GUARD)


async def test_a_stop_ends_the_linger_at_once(app: Starlette) -> None:
    worker, sizes = _worker(JobRegistry(handlers={"ok": _ok}), claim_linger=10 * GUARD)
    task = asyncio.create_task(worker.run_forever())
    await _until(lambda: _claimed(sizes))
    await _enqueue("first")
    worker.wakeup.poke()  # the worker wakes, then lingers far longer than the guard
    await asyncio.sleep(0.1)
    worker.stop()
    await asyncio.wait_for(task, timeout=GUARD)
    assert await OutboxJob.filter(state=JobState.PENDING).count() == 1
