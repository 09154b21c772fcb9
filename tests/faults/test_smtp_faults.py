"""A mail server that is down, busy, refusing or trickling, on a real socket.

The delivery to a signatory's DPO mailbox is never lost: it is retried with backoff (always
with the same Message-ID), or parked as dead after its last attempt, the delivery then
`failed` where the back office sees it. No send outlives its total deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from starlette.applications import Starlette

from desk.jobs import build_worker
from desk.mail.sender import SmtpMailer
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory
from tests.faults.servers import FaultySmtp, free_port, listening

DEADLINE = 2.0
# Far beyond DEADLINE: a send still running by then did not honour its deadline.
HANG_GUARD = 15.0


def _worker_mailing_to(app: Starlette, port: int) -> Worker:
    runtime = app.state.runtime
    # aiosmtplib's own timeout (20 s per read) is left as is: only the total deadline can cut
    # a trickling server short.
    settings = replace(runtime.settings, smtp_port=port, smtp_deadline=DEADLINE)
    return build_worker(replace(runtime, settings=settings, mailer=SmtpMailer(settings)))


async def _email_delivery(*, max_attempts: int = 8) -> Delivery:
    await make_signatory("eau-du-ponant", adapter="email")
    resident = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    await OutboxJob.filter(kind="delivery.dispatch").update(max_attempts=max_attempts)
    return await Delivery.get(request_id=request.id)


async def _run(worker: Worker) -> None:
    await asyncio.wait_for(worker.run_until_idle(), timeout=HANG_GUARD)


async def _attempt(worker: Worker) -> OutboxJob:
    """One attempt of the dispatch job; the job as it stands afterwards."""
    assert await asyncio.wait_for(worker.run_once(), timeout=HANG_GUARD)
    return await OutboxJob.get(kind="delivery.dispatch")


async def _drive(worker: Worker, done: Callable[[OutboxJob], bool]) -> OutboxJob:
    """Run due jobs (backoff is a few hundredths of a second here) until the job is `done`."""
    for _ in range(100):
        await _run(worker)
        job = await OutboxJob.get(kind="delivery.dispatch")
        if done(job):
            return job
        await asyncio.sleep(0.03)
    raise AssertionError(f"dispatch job stuck: {job.state} after {job.attempts} attempts")


def _message_id(delivery: Delivery) -> str:
    return f"<delivery-{delivery.id}@desk.invalid>"


async def test_mail_server_down_then_back_delivers_once(app: Starlette) -> None:
    port = free_port()
    worker = _worker_mailing_to(app, port)
    delivery = await _email_delivery()

    job = await _attempt(worker)  # nobody listens: connection refused

    assert job.state == JobState.PENDING and job.attempts == 1
    assert "SMTPConnectError" in (job.last_error or "")
    assert job.run_after > job.created_at  # backoff before the next attempt
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.PENDING

    smtp = FaultySmtp("ok")
    async with listening(port, smtp.handle):
        job = await _drive(worker, lambda j: j.state == JobState.DONE)
    assert smtp.accepted == [_message_id(delivery)]
    delivered = await Delivery.get(id=delivery.id)
    assert delivered.state == DeliveryState.SENT
    assert delivered.dispatch_ref == _message_id(delivery)


async def test_a_busy_server_4xx_is_retried_with_the_same_message_id(app: Starlette) -> None:
    port = free_port()
    worker = _worker_mailing_to(app, port)
    smtp = FaultySmtp("busy", "busy", "ok")
    delivery = await _email_delivery()

    async with listening(port, smtp.handle):
        job = await _drive(worker, lambda j: j.state == JobState.DONE)

    assert job.attempts == 3
    # The server saw the message three times, always under the same Message-ID, and kept it once.
    assert smtp.message_ids == [_message_id(delivery)] * 3
    assert smtp.accepted == [_message_id(delivery)]
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.SENT


async def test_a_5xx_refusal_parks_the_job_dead_and_fails_the_delivery(app: Starlette) -> None:
    port = free_port()
    worker = _worker_mailing_to(app, port)
    smtp = FaultySmtp("refuse")
    delivery = await _email_delivery()

    async with listening(port, smtp.handle):
        job = await _drive(worker, lambda j: j.state == JobState.DEAD)

    assert job.attempts == 1  # a permanent refusal: no retry can mend it
    assert smtp.message_ids == []
    assert "550" in (job.last_error or "")
    assert "@" not in (job.last_error or "")  # the refused address is not kept in the error
    assert [j.id for j in await services.dead_jobs()] == [job.id]
    # The back office sees a failed delivery, with the reason, and can retry it.
    failed = await Delivery.get(id=delivery.id)
    assert failed.state == DeliveryState.FAILED


async def test_a_trickling_server_is_cut_at_the_deadline_then_parked_dead(
    app: Starlette,
) -> None:
    port = free_port()
    worker = _worker_mailing_to(app, port)
    smtp = FaultySmtp("trickle")
    delivery = await _email_delivery(max_attempts=2)

    async with listening(port, smtp.handle):
        job = await _attempt(worker)  # the HANG_GUARD fails it if the send outlives its deadline
        assert job.state == JobState.PENDING and job.attempts == 1
        assert f"not done within {DEADLINE:g} s" in (job.last_error or "")
        job = await _drive(worker, lambda j: j.state == JobState.DEAD)

    assert job.attempts == 2 and smtp.connections == 2
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.FAILED
