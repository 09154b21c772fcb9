"""Dispatch jobs run as a batch: each delivery keeps its own outcome, its own audit chain, and
nothing is recorded twice or lost when the batch is interrupted (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from desk.core import clock, crypto
from desk.demo.reference_partner import serve_in_thread
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.partners.webhooks import new_secret
from desk.requests import sending, transitions
from desk.requests.audit import verify_events
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory
from tests.helpers import run_worker_until_done

GUARD = 30


class Partners:
    """Three partners on one server: /ok answers 204, /down 500, /gone 410."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (path, webhook-id)
        self.app = Starlette(
            routes=[Route(f"/{name}", self.hook, methods=["POST"]) for name in STATUS]
        )

    async def hook(self, request: Request) -> Response:
        await request.body()
        name = request.url.path.strip("/")
        self.seen.append((name, request.headers["webhook-id"]))
        return Response(status_code=STATUS[name])


STATUS = {"ok": 204, "ok2": 204, "down": 500, "gone": 410}


@pytest.fixture
def partners() -> Iterator[tuple[Partners, str]]:
    partner = Partners()
    with serve_in_thread(partner.app) as url:
        yield partner, url


async def _webhook_signatory(app: Starlette, slug: str, url: str) -> None:
    signatory = await make_signatory(slug, adapter="webhook")
    key = app.state.settings.secret_key
    signatory.adapter_settings = {"url": url, "secrets": [crypto.encrypt(key, new_secret())]}
    await signatory.save()


async def _deliveries(app: Starlette, url: str, paths: list[str]) -> dict[str, int]:
    """One webhook signatory per path, one erasure to all of them: delivery ids by path."""
    for path in paths:
        await _webhook_signatory(app, path, f"{url}/{path}")
    resident = await make_resident()
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    rows = await Delivery.all().prefetch_related("signatory")
    return {d.signatory.slug: d.id for d in rows}


async def _claim_all(worker: Worker) -> list[OutboxJob]:
    return await services.claim_batch(worker_id=worker.worker_id, limit=100)


async def _trails_verify() -> None:
    _, problems = await verify_events()
    assert problems == []


async def test_one_partner_failing_leaves_the_others_sent(
    app: Starlette, worker: Worker, partners: tuple[Partners, str]
) -> None:
    partner, url = partners
    ids = await _deliveries(app, url, ["ok", "down", "gone"])
    jobs = await _claim_all(worker)
    assert len(jobs) == 3

    succeeded = await worker._handle_batch(jobs)

    assert [int(j.payload["delivery_id"]) for j in succeeded] == [ids["ok"]]
    by_id = {d.id: d for d in await Delivery.all()}
    assert by_id[ids["ok"]].state == DeliveryState.SENT
    assert by_id[ids["ok"]].dispatch_ref == "webhook:204"
    # The partner answering 500 is tried again later, exactly as a job run alone.
    assert by_id[ids["down"]].state == DeliveryState.PENDING
    jobs_of = {int(j.payload["delivery_id"]): j for j in await OutboxJob.all()}
    down = jobs_of[ids["down"]]
    assert down.state == JobState.PENDING and down.attempts == 1
    assert "500" in (down.last_error or "")
    # 410: no retry can mend it; the delivery is failed for the back office.
    assert by_id[ids["gone"]].state == DeliveryState.FAILED
    assert jobs_of[ids["gone"]].state == JobState.DEAD
    assert sorted(path for path, _ in partner.seen) == ["down", "gone", "ok"]
    await _trails_verify()


async def test_a_batch_interrupted_before_its_sends_are_recorded_sends_again_with_the_same_keys(
    app: Starlette,
    worker: Worker,
    partners: tuple[Partners, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    partner, url = partners
    ids = await _deliveries(app, url, ["ok", "ok2"])
    real_send_many = sending.send_many

    async def cut(**_: Any) -> list[int]:
        raise ConnectionError("database gone between the hand-over and its recording")

    monkeypatch.setattr(sending, "send_many", cut)
    assert await worker._handle_batch(await _claim_all(worker)) == []
    # Nothing recorded: still pending, no send event, the jobs due again.
    assert {d.state for d in await Delivery.all()} == {DeliveryState.PENDING}
    assert await DeliveryEvent.filter(action="send").count() == 0
    assert {j.state for j in await OutboxJob.all()} == {JobState.PENDING}

    monkeypatch.setattr(sending, "send_many", real_send_many)
    await OutboxJob.all().update(run_after=clock.now())
    assert len(await worker._handle_batch(await _claim_all(worker))) == 2

    assert {d.state for d in await Delivery.all()} == {DeliveryState.SENT}
    # Each delivery recorded once, each message sent twice under its one key.
    assert await DeliveryEvent.filter(action="send").count() == 2
    keys = sorted(key for _, key in partner.seen)
    assert keys == sorted([f"delivery-{i}" for i in ids.values()] * 2)
    await _trails_verify()


async def test_a_delivery_answered_meanwhile_is_left_as_the_partner_put_it(
    app: Starlette, partners: tuple[Partners, str]
) -> None:
    _, url = partners
    ids = await _deliveries(app, url, ["ok", "ok2"])
    await transitions.acknowledge(delivery_id=ids["ok2"], actor="partner:ok2")

    recorded = await sending.send_many(
        sends=[
            sending.Sent(delivery_id=i, actor="adapter:webhook", dispatch_ref="webhook:204")
            for i in ids.values()
        ]
    )

    assert recorded == [ids["ok"]]
    states = {d.id: d.state for d in await Delivery.all()}
    assert states == {ids["ok"]: DeliveryState.SENT, ids["ok2"]: DeliveryState.ACKNOWLEDGED}
    await _trails_verify()


async def test_many_requests_dispatched_by_the_lanes_keep_every_chain(
    app: Starlette, worker: Worker, partners: tuple[Partners, str]
) -> None:
    _, url = partners
    for path in ("ok", "ok2"):
        await _webhook_signatory(app, path, f"{url}/{path}")
    for n in range(6):
        resident = await make_resident(f"personne-{n}@exemple.invalid")
        await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    worker.concurrency = 8
    worker.claim_batch = 8
    await run_worker_until_done(worker, 12, guard=GUARD)

    assert {d.state for d in await Delivery.all()} == {DeliveryState.SENT}
    for delivery in await Delivery.all():
        trail = await DeliveryEvent.filter(delivery_id=delivery.id).order_by("id")
        assert [e.action for e in trail] == ["file", "send"]
        assert trail[1].prev_digest == trail[0].digest
    await _trails_verify()


async def test_a_batch_says_in_one_line_which_deliveries_it_handed_over(
    app: Starlette,
    worker: Worker,
    partners: tuple[Partners, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, url = partners
    ids = await _deliveries(app, url, ["ok", "ok2", "down"])
    with caplog.at_level(logging.INFO):
        await worker._handle_batch(await _claim_all(worker))

    # A line per delivery was a twentieth of the worker's CPU: one per batch, with each id.
    lines = [r.getMessage() for r in caplog.records if "handed over" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("2 deliveries handed over: ")
    for slug in ("ok", "ok2"):
        assert f"{ids[slug]} ({slug}, webhook:204)" in lines[0]
    assert f"{ids['down']} (" not in lines[0]
    assert not [
        r for r in caplog.records if r.name == "adapters.webhook" and r.levelno >= logging.INFO
    ]
