"""A partner's endpoint failing in the ways networks fail, on a real socket.

5xx, silence past the deadline, a connection reset mid-response, bytes trickling in, 429 with
Retry-After: each attempt is a failed attempt with backoff (Retry-After honoured), the partner
sees the same idempotency key every time, and in the end the delivery is sent, or failed where
the back office sees it. No call outlives its deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from starlette.applications import Starlette

from desk.core import clock, crypto
from desk.jobs import job_registry
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.partners.webhooks import new_secret
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory
from tests.faults.servers import FaultyPartner, free_port, listening

# Generous enough for a loaded CI machine to answer a real request in time.
DEADLINE = 2.0
HANG_GUARD = 15.0


async def _delivery(app: Starlette, adapter: str, settings: dict[str, object]) -> Delivery:
    signatory = await make_signatory("eau-du-ponant", adapter=adapter)
    signatory.adapter_settings = {**settings, "timeout": DEADLINE}
    await signatory.save()
    resident = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    return await Delivery.get(request_id=request.id)


async def _webhook_delivery(app: Starlette, port: int) -> Delivery:
    secret = crypto.encrypt(app.state.settings.secret_key, new_secret())
    return await _delivery(
        app, "webhook", {"url": f"http://127.0.0.1:{port}/hook", "secrets": [secret]}
    )


async def _attempt(worker: Worker) -> OutboxJob:
    """One attempt of the dispatch job (bounded: it must end by its deadline)."""
    assert await asyncio.wait_for(worker.run_once(), timeout=HANG_GUARD)
    return await OutboxJob.get(kind="delivery.dispatch")


async def _drive(worker: Worker, done: Callable[[OutboxJob], bool]) -> OutboxJob:
    for _ in range(100):
        await asyncio.wait_for(worker.run_until_idle(), timeout=HANG_GUARD)
        job = await OutboxJob.get(kind="delivery.dispatch")
        if done(job):
            return job
        await asyncio.sleep(0.03)
    raise AssertionError(f"dispatch job stuck: {job.state} after {job.attempts} attempts")


def _keys(partner: FaultyPartner, header: str) -> set[str]:
    return {request[header] for request in partner.requests}


async def test_5xx_until_the_last_attempt_fails_the_delivery_same_id_each_time(
    app: Starlette, worker: Worker
) -> None:
    port = free_port()
    partner = FaultyPartner("503")
    delivery = await _webhook_delivery(app, port)
    await OutboxJob.filter(kind="delivery.dispatch").update(max_attempts=3)

    async with listening(port, partner.handle):
        job = await _drive(worker, lambda j: j.state == JobState.DEAD)

    assert job.attempts == 3 and len(partner.requests) == 3
    assert _keys(partner, "webhook-id") == {f"delivery-{delivery.id}"}
    assert "503" in (job.last_error or "")
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.FAILED


async def test_silence_reset_and_trickle_are_each_an_attempt_then_it_goes_through(
    app: Starlette, worker: Worker
) -> None:
    port = free_port()
    partner = FaultyPartner("silent", "reset", "trickle", "ok")
    delivery = await _webhook_delivery(app, port)

    async with listening(port, partner.handle):
        errors = []
        for _ in range(3):  # each one ends by the deadline: the guard in _attempt checks it
            job = await _attempt(worker)
            assert job.state == JobState.PENDING
            errors.append(job.last_error or "")
            await OutboxJob.filter(id=job.id).update(run_after=clock.now())
        job = await _attempt(worker)

    assert f"no answer within {DEADLINE:g} s" in errors[0]  # silent
    assert "RemoteProtocolError" in errors[1] or "ReadError" in errors[1]  # reset
    assert f"no answer within {DEADLINE:g} s" in errors[2]  # trickle
    assert job.state == JobState.DONE and job.attempts == 4
    assert len(partner.requests) == 4
    assert _keys(partner, "webhook-id") == {f"delivery-{delivery.id}"}
    sent = await Delivery.get(id=delivery.id)
    assert sent.state == DeliveryState.SENT and sent.dispatch_ref == "webhook:204"


async def test_429_retry_after_is_honoured(app: Starlette) -> None:
    port = free_port()
    partner = FaultyPartner("429:120", "ok")
    delivery = await _webhook_delivery(app, port)
    runtime = app.state.runtime
    # Backoff alone would come back within a second here: only Retry-After explains the wait.
    worker = Worker(registry=job_registry(), context=runtime, base_delay=0.01, max_delay=3600)

    async with listening(port, partner.handle):
        before = clock.now()
        job = await _attempt(worker)
        assert job.state == JobState.PENDING
        assert job.run_after >= before + timedelta(seconds=120)
        assert "retry after 120 s" in (job.last_error or "")
        assert not await worker.run_once()  # nothing is due before the partner's time
        assert len(partner.requests) == 1

        # Two minutes later (the clock moved on): the partner takes it.
        await OutboxJob.filter(id=job.id).update(run_after=clock.now())
        job = await _attempt(worker)

    assert job.state == JobState.DONE
    assert _keys(partner, "webhook-id") == {f"delivery-{delivery.id}"}
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.SENT


async def test_rest_partner_sees_one_idempotency_key_through_5xx_and_a_trickled_body(
    app: Starlette, worker: Worker
) -> None:
    port = free_port()
    partner = FaultyPartner("503", "trickle-body", "created")
    token = crypto.encrypt(app.state.settings.secret_key, "jeton-du-partenaire")
    delivery = await _delivery(
        app, "rest", {"base_url": f"http://127.0.0.1:{port}", "token": token, "poll_interval": 600}
    )

    async with listening(port, partner.handle):
        first = await _attempt(worker)
        await OutboxJob.filter(id=first.id).update(run_after=clock.now())
        second = await _attempt(worker)
        await OutboxJob.filter(id=first.id).update(run_after=clock.now())
        job = await _attempt(worker)

    assert "503" in (first.last_error or "")
    assert f"no answer within {DEADLINE:g} s" in (second.last_error or "")
    assert job.state == JobState.DONE and job.attempts == 3
    assert _keys(partner, "idempotency-key") == {f"delivery-{delivery.id}"}
    sent = await Delivery.get(id=delivery.id)
    assert sent.state == DeliveryState.SENT and sent.dispatch_ref == "drp-1"
