"""Poll jobs run as a batch: simulated partners acknowledge then fulfil each delivery, each with
its own chained audit trail and signed receipt; a delivery answered meanwhile by another path is
left alone; a batch interrupted before it is recorded is redone once (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from adapters.base import Answer, Envelope
from adapters.simulated import SimulatedAdapter
from desk.core import clock
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.requests import sending, transitions
from desk.requests.audit import verify_events
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory

SLUGS = ("eau-du-ponant", "bibus", "archipel-habitat")


async def _sent_deliveries(worker: Worker) -> dict[str, int]:
    """One erasure to three simulated signatories, dispatched: delivery ids by slug."""
    for slug in SLUGS:
        await make_signatory(slug, adapter="simulated")
    resident = await make_resident()
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    assert len(await worker._handle_batch(await _due(worker, "delivery.dispatch"))) == 3
    rows = await Delivery.all().prefetch_related("signatory")
    return {d.signatory.slug: d.id for d in rows}


async def _due(worker: Worker, kind: str) -> list[OutboxJob]:
    """Every pending job of `kind` made due now, and claimed together."""
    await OutboxJob.filter(kind=kind, state=JobState.PENDING).update(run_after=clock.now())
    jobs = await services.claim_batch(worker_id=worker.worker_id, limit=100)
    assert {job.kind for job in jobs} == {kind}
    return jobs


async def _trail(delivery_id: int) -> list[str]:
    return [e.action for e in await DeliveryEvent.filter(delivery_id=delivery_id).order_by("id")]


async def _trails_verify() -> None:
    _, problems = await verify_events()
    assert problems == []


async def _states() -> set[DeliveryState]:
    return {d.state for d in await Delivery.all()}


async def test_a_batch_of_polls_acknowledges_then_fulfils_each_delivery(
    app: Starlette, worker: Worker
) -> None:
    ids = await _sent_deliveries(worker)

    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3
    assert await _states() == {DeliveryState.ACKNOWLEDGED}
    # Each delivery's next poll, as one job run alone enqueues it.
    polls = await OutboxJob.filter(kind="delivery.poll", state=JobState.PENDING)
    assert sorted(j.idempotency_key for j in polls) == sorted(f"poll-{i}-2" for i in ids.values())

    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3
    assert await _states() == {DeliveryState.FULFILLED}
    for delivery_id in ids.values():
        assert await _trail(delivery_id) == ["file", "send", "acknowledge", "fulfil"]
        assert await Receipt.filter(delivery_id=delivery_id).count() == 1
    # The resident is told once: the request's three receipts in one digest, due at once
    # since every signatory answered.
    [digest] = await OutboxJob.filter(kind="mail.receipt_digest")
    assert sorted(digest.payload["receipts"]) == sorted(r.id for r in await Receipt.all())
    assert digest.run_after <= clock.now()
    # Final answers: no poll after them.
    assert await OutboxJob.filter(kind="delivery.poll", state=JobState.PENDING).count() == 0
    await _trails_verify()


async def test_a_delivery_answered_meanwhile_by_its_partner_is_left_as_the_partner_put_it(
    app: Starlette, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _sent_deliveries(worker)
    real_poll = SimulatedAdapter.poll

    async def partner_answers_first(self: SimulatedAdapter, envelope: Envelope) -> Answer | None:
        if envelope.delivery_id == ids["bibus"]:
            # The partner acknowledges through the API while the batch asks the simulation.
            await transitions.acknowledge(delivery_id=envelope.delivery_id, actor="partner:bibus")
        return await real_poll(self, envelope)

    monkeypatch.setattr(SimulatedAdapter, "poll", partner_answers_first)
    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3

    for slug, delivery_id in ids.items():
        assert await _trail(delivery_id) == ["file", "send", "acknowledge"]
        actor = "partner:bibus" if slug == "bibus" else "adapter:simulated"
        [ack] = await DeliveryEvent.filter(delivery_id=delivery_id, action="acknowledge")
        assert ack.actor == actor
    assert await _states() == {DeliveryState.ACKNOWLEDGED}
    await _trails_verify()


async def test_a_batch_interrupted_before_its_answers_are_recorded_is_redone_once(
    app: Starlette, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _sent_deliveries(worker)
    real = sending.acknowledge_many

    async def cut(**_: Any) -> list[int]:
        raise ConnectionError("database gone between the answers and their recording")

    monkeypatch.setattr(sending, "acknowledge_many", cut)
    assert await worker._handle_batch(await _due(worker, "delivery.poll")) == []
    assert await _states() == {DeliveryState.SENT}
    assert await DeliveryEvent.filter(action="acknowledge").count() == 0
    polls = await OutboxJob.filter(kind="delivery.poll")
    assert {(j.state, j.attempts) for j in polls} == {(JobState.PENDING, 1)}

    monkeypatch.setattr(sending, "acknowledge_many", real)
    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3
    assert await _states() == {DeliveryState.ACKNOWLEDGED}
    for delivery_id in ids.values():
        assert await _trail(delivery_id) == ["file", "send", "acknowledge"]
    await _trails_verify()


async def test_two_polls_of_one_delivery_in_a_batch_run_one_after_the_other(
    app: Starlette, worker: Worker
) -> None:
    ids = await _sent_deliveries(worker)
    delivery_id = ids["eau-du-ponant"]
    await services.enqueue(
        kind="delivery.poll",
        payload={"delivery_id": delivery_id, "attempt": 1},
        idempotency_key=f"poll-{delivery_id}-again",
    )

    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 4

    # The second poll saw the acknowledgement the first recorded, and fulfilled.
    assert await _trail(delivery_id) == ["file", "send", "acknowledge", "fulfil"]
    assert await Receipt.filter(delivery_id=delivery_id).count() == 1
    assert await _trail(ids["bibus"]) == ["file", "send", "acknowledge"]
    await _trails_verify()
