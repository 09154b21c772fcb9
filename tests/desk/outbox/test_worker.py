from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from starlette.applications import Starlette
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import JobRegistry, PermanentJobError, Worker
from desk.settings import Settings


def _worker(registry: JobRegistry, worker_id: str = "w1") -> Worker:
    return Worker(
        registry=registry, context=None, base_delay=0.0, max_delay=0.0, worker_id=worker_id
    )


async def test_enqueue_is_idempotent_by_key(app: Starlette) -> None:
    a = await services.enqueue(kind="k", payload={"n": 1}, idempotency_key="same")
    b = await services.enqueue(kind="k", payload={"n": 2}, idempotency_key="same")
    assert a.id == b.id
    assert await OutboxJob.all().count() == 1


async def test_jobs_written_as_rows_keep_an_earlier_key_only_when_asked(app: Starlette) -> None:
    """enqueue_rows: a batch run again leaves its earlier jobs as they are (skip_existing); a
    key thought new but taken fails the whole statement, so nothing of the lot is written."""
    first = [{"kind": "k", "idempotency_key": "a", "payload": {"n": 1}}]
    later = clock.now() + timedelta(hours=1)
    async with in_transaction() as conn:
        await services.enqueue_rows(rows=first, connection=conn)
    again = [
        {"kind": "k", "idempotency_key": "a", "payload": {"n": 2}, "run_after": later},
        {"kind": "k", "idempotency_key": "b", "payload": {"n": 3}, "run_after": later},
    ]
    async with in_transaction() as conn:
        await services.enqueue_rows(rows=again, connection=conn, skip_existing=True)
    jobs = {job.idempotency_key: job for job in await OutboxJob.all()}
    assert jobs["a"].payload == {"n": 1}  # left as it was
    assert jobs["b"].payload == {"n": 3} and jobs["b"].run_after == later
    with pytest.raises(IntegrityError):
        async with in_transaction() as conn:
            await services.enqueue_new(
                kind="k", jobs=[("c", {"n": 4}), ("a", {"n": 5})], connection=conn
            )
    assert await OutboxJob.filter(idempotency_key="c").count() == 0


async def test_a_failing_job_is_retried_then_parked_dead(app: Starlette) -> None:
    calls: list[int] = []
    dead: list[str] = []

    async def flaky(job: OutboxJob, ctx: object) -> None:
        calls.append(job.attempts)
        raise OSError("partner down")

    async def on_dead(job: OutboxJob, ctx: object, error: str) -> None:
        dead.append(error)

    await services.enqueue(kind="flaky", payload={}, idempotency_key="f1", max_attempts=3)
    worker = _worker(JobRegistry(handlers={"flaky": flaky}, on_dead={"flaky": on_dead}))
    await worker.run_until_idle()
    job = await OutboxJob.get(idempotency_key="f1")
    assert calls == [1, 2, 3]
    assert job.state == JobState.DEAD
    assert "partner down" in (job.last_error or "")
    assert dead == ["OSError: partner down"]
    assert [j.id for j in await services.dead_jobs()] == [job.id]
    assert await services.retry_dead(job_id=job.id)
    assert (await OutboxJob.get(id=job.id)).state == JobState.PENDING


async def test_backoff_grows_and_is_capped() -> None:
    delays = [services.backoff_delay(attempts=n, base=5, maximum=60) for n in range(1, 9)]
    assert all(0 < d <= 60 for d in delays)
    assert services.backoff_delay(attempts=1, base=5, maximum=60) <= 5


async def test_a_permanent_error_parks_the_job_at_once(app: Starlette) -> None:
    async def broken(job: OutboxJob, ctx: object) -> None:
        raise PermanentJobError("no adapter")

    await services.enqueue(kind="broken", payload={}, idempotency_key="b1")
    await _worker(JobRegistry(handlers={"broken": broken})).run_until_idle()
    job = await OutboxJob.get(idempotency_key="b1")
    assert job.state == JobState.DEAD and job.attempts == 1


async def test_a_job_of_a_killed_worker_is_reclaimed_after_its_lease(app: Starlette) -> None:
    done: list[str] = []

    async def ok(job: OutboxJob, ctx: object) -> None:
        done.append(job.idempotency_key)

    await services.enqueue(kind="ok", payload={}, idempotency_key="lease-1")
    claimed = await services.claim(worker_id="dead-worker", lease_seconds=60)
    assert claimed is not None  # ...and that worker dies here, mid-job.
    other = _worker(JobRegistry(handlers={"ok": ok}), worker_id="w2")
    assert await other.run_until_idle() == 0  # the lease still holds
    await OutboxJob.filter(id=claimed.id).update(locked_until=clock.now() - timedelta(seconds=1))
    assert await other.run_until_idle() == 1
    job = await OutboxJob.get(id=claimed.id)
    assert job.state == JobState.DONE and job.locked_by == "w2" and job.attempts == 2
    assert done == ["lease-1"]


async def test_two_workers_never_run_the_same_job(app: Starlette) -> None:
    for n in range(20):
        await services.enqueue(kind="ok", payload={}, idempotency_key=f"j{n}")
    claimed: list[int] = []

    async def grab(worker_id: str) -> None:
        while (job := await services.claim(worker_id=worker_id)) is not None:
            claimed.append(job.id)
            await services.complete(job=job)

    await asyncio.gather(grab("a"), grab("b"))
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 20


async def test_a_partner_retry_after_is_honoured(app: Starlette) -> None:
    from adapters.base import RetryLater

    async def busy(job: OutboxJob, ctx: object) -> None:
        raise RetryLater("429", retry_after=120)

    await services.enqueue(kind="busy", payload={}, idempotency_key="r1")
    worker = Worker(
        registry=JobRegistry(handlers={"busy": busy}), context=None, base_delay=1, max_delay=600
    )
    await worker.run_once()
    job = await OutboxJob.get(idempotency_key="r1")
    assert job.state == JobState.PENDING
    assert job.run_after >= clock.now() + timedelta(seconds=100)


async def test_a_job_locked_by_another_worker_is_skipped_not_waited_for(
    app: Starlette, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("row locks are PostgreSQL's; SQLite claims with a conditional UPDATE")
    import asyncpg

    first = await services.enqueue(kind="ok", payload={}, idempotency_key="locked-1")
    second = await services.enqueue(kind="ok", payload={}, idempotency_key="free-2")
    other = await asyncpg.connect(settings.database_url.replace("postgres://", "postgresql://"))
    try:
        # Another worker is in the middle of claiming the first job: its row is locked.
        async with other.transaction():
            await other.execute("SELECT id FROM outbox_job WHERE id = $1 FOR UPDATE", first.id)
            # A worker waiting on that lock would hang here until the guard below fails it.
            claimed = await asyncio.wait_for(services.claim(worker_id="w2"), timeout=10)
    finally:
        await other.close()
    assert claimed is not None and claimed.id == second.id
    assert claimed.state == JobState.RUNNING and claimed.attempts == 1
    assert (await OutboxJob.get(id=first.id)).state == JobState.PENDING


async def test_the_lease_is_extended_while_a_long_job_runs(app: Starlette) -> None:
    release = asyncio.Event()
    first_lease: list[datetime | None] = []

    async def long_job(job: OutboxJob, ctx: object) -> None:
        first_lease.append(job.locked_until)
        await release.wait()

    await services.enqueue(kind="long", payload={}, idempotency_key="long-1")
    worker = Worker(
        registry=JobRegistry(handlers={"long": long_job}),
        context=None,
        base_delay=0,
        max_delay=0,
        worker_id="w1",
        lease_seconds=1.5,
    )
    running = asyncio.create_task(worker.run_once())
    for _ in range(200):  # the heartbeat beats every 0.5 s: wait for its first beat
        await asyncio.sleep(0.05)
        job = await OutboxJob.get(idempotency_key="long-1")
        lease = first_lease[0] if first_lease else None
        if lease and job.locked_until and job.locked_until > lease:
            break
    assert lease and job.locked_until and job.locked_until > lease
    # Long past its first lease, the job is still this worker's: nobody else may take it.
    await asyncio.sleep(1.6)
    assert await services.claim(worker_id="w2", lease_seconds=60) is None
    release.set()
    assert await running
    job = await OutboxJob.get(idempotency_key="long-1")
    assert job.state == JobState.DONE and job.attempts == 1 and job.locked_by == "w1"


async def test_a_worker_whose_job_was_taken_over_does_not_overwrite_it(app: Starlette) -> None:
    await services.enqueue(kind="ok", payload={}, idempotency_key="stale-1")
    stale = await services.claim(worker_id="slow", lease_seconds=60)
    assert stale is not None
    # Its lease lapsed (the database was out of its reach, say) and another worker took over.
    await OutboxJob.filter(id=stale.id).update(locked_until=clock.now() - timedelta(seconds=1))
    fresh = await services.claim(worker_id="fresh", lease_seconds=60)
    assert fresh is not None and fresh.id == stale.id and fresh.attempts == 2

    assert not await services.extend_lease(job=stale, lease_seconds=60)
    assert not await services.fail(job=stale, error="late", base_delay=0, max_delay=0)
    assert not await services.fail(
        job=stale, error="late", base_delay=0, max_delay=0, permanent=True
    )
    assert not await services.complete(job=stale)
    job = await OutboxJob.get(id=stale.id)
    assert job.state == JobState.RUNNING and job.locked_by == "fresh" and job.last_error is None

    assert await services.complete(job=fresh)
    assert (await OutboxJob.get(id=stale.id)).state == JobState.DONE


async def test_a_database_outage_is_logged_once_then_its_end(
    app: Starlette, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker(
        registry=JobRegistry(), context=None, base_delay=0.0, max_delay=0.0, poll_interval=0.001
    )
    polls = 0

    async def claim(limit: int) -> list[OutboxJob]:
        nonlocal polls
        polls += 1
        if polls <= 5:
            raise ConnectionRefusedError("database away")
        if polls >= 8:
            worker.stop()
        return []

    monkeypatch.setattr(worker, "_claim", claim)
    monkeypatch.setattr(worker, "maintain", lambda: asyncio.sleep(0))
    caplog.set_level("INFO", logger="desk.worker")
    await asyncio.wait_for(worker.run_forever(), timeout=10)

    lines = [r.getMessage() for r in caplog.records if r.name == "desk.worker"]
    assert sum("cannot reach its jobs" in line for line in lines) == 1
    assert sum("reaches its jobs again" in line for line in lines) == 1
    assert not any(r.exc_info for r in caplog.records if r.levelname != "DEBUG")
