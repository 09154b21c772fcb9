"""Workers killed with SIGKILL while thousands of deliveries are on their way to a partner.

Real `desk worker` processes share the database; the reference partner (its own uvicorn, real
HTTP) records every webhook it receives. Workers are killed at random moments and restarted.
In the end every filed delivery reached the partner, none is lost or stuck, and a delivery sent
twice (its worker died before recording the send) carried the same idempotency key each time,
which the partner used to drop the copy.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from desk.demo.reference_partner import PartnerState, create_reference_partner, serve_in_thread
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.partners.webhooks import new_secret
from desk.requests.models import Delivery, DeliveryState
from desk.settings import Settings
from tests.faults.support import WorkerProcesses, file_webhook_deliveries, worker_environment

# Short leases so a killed worker's job is taken up again within the test.
LEASE_SECONDS = "3"
WORKERS = 4
KILLS = 8
# Jobs each worker runs at once: a worker killed mid-work leaves at most that many half-sent.
CONCURRENCY = 4
HANG_GUARD_SECONDS = 240


def _partner(settings: Settings) -> tuple[Starlette, str]:
    secret = new_secret()
    partner = create_reference_partner(
        desk_base_url=settings.base_url,
        client_id="",
        client_secret="",
        webhook_secrets=[secret],
        auto_answer=False,
    )
    return partner, secret


def _slowed(partner: Starlette, seconds: float) -> ASGIApp:
    """The partner answering each request after `seconds`: a batched worker would otherwise
    send a few hundred deliveries before the test could kill it mid-work."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(seconds)
        await partner(scope, receive, send)

    return app


async def _wait_until_sent(
    workers: WorkerProcesses, *, kills: int = 0, rng: random.Random | None = None
) -> None:
    """Kill (and replace) a random worker every moment or so, until the outbox is empty.

    Not until every delivery is sent: a worker killed between recording the send and marking
    its job done leaves that job RUNNING until its lease expires.
    """
    rng = rng or random.Random(0)
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while await services.pending_count():
        assert time.monotonic() < deadline, "deliveries still pending:\n" + workers.logs()[-5000:]
        # A kill every 0.4 s or so: batched workers send the 2,000 deliveries in seconds.
        await asyncio.sleep(rng.uniform(0.1, 0.7))
        if workers.killed < kills and workers.kill_one_at_work(rng):
            workers.start()


def _cpu_seconds() -> float:
    """CPU time of this process (partner, checks) and of the workers it has reaped."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


async def _check_everything_arrived(filed: set[int], received: PartnerState) -> int:
    """The outbox and the partner agree: all delivered, none twice but by the same key."""
    expected_keys = {f"delivery-{delivery_id}" for delivery_id in filed}
    assert set(received.seen) == expected_keys
    assert {w.payload["data"]["delivery_id"] for w in received.webhooks} == filed
    assert len(received.webhooks) == len(filed)  # each one handled once by the partner
    # A copy sent in the same second would have been refused as a replay (409).
    assert received.rejected == []
    assert await Delivery.filter(state=DeliveryState.SENT).count() == len(filed)
    dispatches = OutboxJob.filter(kind="delivery.dispatch")
    assert await dispatches.filter(state=JobState.DONE).count() == len(filed)
    assert not await OutboxJob.filter(state=JobState.RUNNING).exists()
    assert not await OutboxJob.filter(state=JobState.DEAD).exists()
    return sum(len(stamps) - 1 for stamps in received.seen.values())


async def test_workers_killed_at_random_lose_no_delivery(
    app: Starlette, settings: Settings, tmp_path: Path
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite: one worker works, see the stand-by test below")
    partner, secret = _partner(settings)
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    # Slowed so that the eight kills fall while deliveries are still on their way: workers that
    # send a batch in one statement drained the 2,000 of them before the sixth kill.
    with serve_in_thread(_slowed(partner, 0.05)) as partner_url:
        filed = await file_webhook_deliveries(
            settings, url=partner_url + "/webhooks/desk", secret=secret, signatories=10,
            residents=200,
        )  # fmt: skip
        assert len(filed) == 2000
        env = worker_environment(settings, DESK_OUTBOX_LEASE_SECONDS=LEASE_SECONDS)
        workers = WorkerProcesses(env=env, log_dir=tmp_path)
        workers.start(WORKERS)
        started = time.monotonic()
        cpu_before = _cpu_seconds()
        try:
            await _wait_until_sent(workers, kills=KILLS, rng=rng)
        finally:
            codes = workers.stop()
        received: PartnerState = partner.state.partner
        duplicates = await _check_everything_arrived(filed, received)
    reclaimed = await OutboxJob.filter(kind="delivery.dispatch", attempts__gt=1).count()
    print(
        f"seed={seed} deliveries={len(filed)} kills={workers.killed} "
        f"worker processes={workers.started} jobs reclaimed after a kill={reclaimed} "
        f"sent twice (same key)={duplicates} seconds={time.monotonic() - started:.1f} "
        f"cpu seconds (test process + workers)={_cpu_seconds() - cpu_before:.1f}"
    )
    assert workers.killed == KILLS
    assert codes == [0] * WORKERS  # the survivors stop cleanly on SIGTERM


async def test_on_sqlite_one_worker_works_the_other_stands_by_and_takes_over(
    app: Starlette, settings: Settings, tmp_path: Path
) -> None:
    if not settings.is_sqlite:
        pytest.skip("on PostgreSQL every worker works: see the test above")
    partner, secret = _partner(settings)
    # About 40 deliveries a second (4 at once, 0.1 s each): the active worker is still at work
    # when it is killed, a third of the way.
    with serve_in_thread(_slowed(partner, 0.1)) as partner_url:
        filed = await file_webhook_deliveries(
            settings, url=partner_url + "/webhooks/desk", secret=secret, signatories=10,
            residents=30,
        )  # fmt: skip
        env = worker_environment(
            settings,
            DESK_OUTBOX_LEASE_SECONDS=LEASE_SECONDS,
            DESK_WORKER_CONCURRENCY=str(CONCURRENCY),
        )
        workers = WorkerProcesses(env=env, log_dir=tmp_path)
        workers.start(2)
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while not (standing_by := [w for w in workers.running if "standing by" in w.log_text()]):
            assert time.monotonic() < deadline, workers.logs()
            await asyncio.sleep(0.1)
        (standby,) = standing_by
        (active,) = [w for w in workers.running if w is not standby]
        while await Delivery.filter(state=DeliveryState.SENT).count() < len(filed) // 3:
            assert time.monotonic() < deadline, workers.logs()
            await asyncio.sleep(0.1)
        assert "delivery.dispatch) done" not in standby.log_text()  # it only stood by

        workers.kill(active)
        try:
            await _wait_until_sent(workers)
            workers.start()  # a new one finds the survivor working, and stands by in turn
            while "standing by" not in workers.running[-1].log_text():
                assert time.monotonic() < deadline, workers.logs()
                await asyncio.sleep(0.1)
        finally:
            codes = workers.stop()
        received: PartnerState = partner.state.partner
        duplicates = await _check_everything_arrived(filed, received)
    assert "taking over" in standby.log_text()
    assert "delivery.dispatch) done" in standby.log_text()
    # At most the jobs the active worker was running when killed (a job whose send it had
    # recorded finds its delivery sent, and sends nothing again).
    assert duplicates <= CONCURRENCY
    assert codes == [0, 0]  # the one working and the one standing by both stop cleanly
