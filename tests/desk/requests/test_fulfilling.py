"""Polled fulfilments recorded as a batch (desk.requests.fulfilling): each delivery fulfilled with
its own chained event and signed receipt, the same receipt an answer alone gets; the resident
mailed once per request; a delivery that moved on or an outcome refused leaves the others
recorded; a batch cut before its recording is redone once (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from starlette.applications import Starlette

from adapters.base import Answer, Envelope
from adapters.simulated import SimulatedAdapter
from desk import db_rows
from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.receipts.audit import audit
from desk.receipts.models import Receipt
from desk.receipts.verify import verify_receipt
from desk.requests import fulfilling, transitions
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory

SLUGS = ("eau-du-ponant", "bibus", "archipel-habitat")
EMAIL = "camille@exemple.invalid"


async def _acknowledged(worker: Worker, kind: RequestKind = RequestKind.ERASURE) -> dict[str, int]:
    """One request to three simulated signatories, dispatched and acknowledged: ids by slug."""
    for slug in SLUGS:
        await make_signatory(slug, adapter="simulated")
    resident = await make_resident(EMAIL)
    await file_request(resident_id=resident.id, kind=kind)
    await worker._handle_batch(await _due(worker, "delivery.dispatch"))
    await worker._handle_batch(await _due(worker, "delivery.poll"))
    rows = await Delivery.all().prefetch_related("signatory")
    assert {d.state for d in rows} == {DeliveryState.ACKNOWLEDGED}
    return {d.signatory.slug: d.id for d in rows}


async def _due(worker: Worker, kind: str) -> list[OutboxJob]:
    await OutboxJob.filter(kind=kind, state=JobState.PENDING).update(run_after=clock.now())
    jobs = await services.claim_batch(worker_id=worker.worker_id, limit=100)
    # Others due meanwhile (a receipt's log job) are given back, for a later run.
    await services.release(jobs=[job for job in jobs if job.kind != kind])
    return [job for job in jobs if job.kind == kind]


def _payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


async def _trail(delivery_id: int) -> list[str]:
    return [e.action for e in await DeliveryEvent.filter(delivery_id=delivery_id).order_by("id")]


async def test_a_batch_of_fulfilments_gives_each_its_receipt_and_the_resident_one_mail(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    ids = await _acknowledged(worker)
    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3

    for delivery_id in ids.values():
        assert await _trail(delivery_id) == ["file", "send", "acknowledge", "fulfil"]
    await worker.run_until_idle()

    keyring = app.state.runtime.keyring
    receipts = await Receipt.all()
    assert sorted(r.delivery_id for r in receipts) == sorted(ids.values())  # type: ignore[attr-defined]
    for receipt in receipts:
        verification = await verify_receipt(token=receipt.jws, keyring=keyring)
        assert verification.valid and verification.issued_here and verification.in_log
        assert _payload(receipt.jws)["status"] == "RequestFulfilled"
    report = await audit(keyring=keyring)
    assert report.ok, report.findings
    assert report.leaves == 3
    # One mail for the request, each signatory's receipt linked.
    [mail] = mail_sink.to(EMAIL)
    for receipt in receipts:
        assert f"/recus/{receipt.id}" in mail.text


async def test_a_batch_receipt_states_what_an_answer_alone_states(
    app: Starlette, worker: Worker
) -> None:
    ids = await _acknowledged(worker)
    alone = ids["bibus"]
    await transitions.fulfil(
        delivery_id=alone,
        actor="adapter:simulated",
        outcome={"result": "nothing_held"},
        keyring=app.state.runtime.keyring,
        issuer=app.state.runtime.issuer,
    )
    await fulfilling.fulfil_many(
        fulfilments=[
            fulfilling.Fulfilment(
                ids["eau-du-ponant"], "adapter:simulated", {"result": "nothing_held"}
            )
        ],
        keyring=app.state.runtime.keyring,
        issuer=app.state.runtime.issuer,
        digest_quiet=120.0,
    )

    by_delivery = {r.delivery_id: _payload(r.jws) for r in await Receipt.all()}  # type: ignore[attr-defined]
    one, other = by_delivery[alone], by_delivery[ids["eau-du-ponant"]]
    assert one.keys() == other.keys()
    differ = {k for k in one if one[k] != other[k]}
    assert differ <= {"jti", "iat", "delivery", "signatory", "subject", "completed_at"}
    assert one["outcome"] == other["outcome"]
    assert one["outcome"]["result"] == "nothing_held"
    # The same event detail too, but for the salt of its free text (random, each its own).
    details = [e.detail for e in await DeliveryEvent.filter(action="fulfil")]
    first, second = ({k: v for k, v in d.items() if k != "_salt"} for d in details)
    assert first == second
    assert first["outcome"]["result"] == "nothing_held"
    assert all(set(d["_salt"]) == {"outcome.note"} for d in details)


async def test_a_delivery_withdrawn_or_answered_wrongly_leaves_the_others_recorded(
    app: Starlette, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _acknowledged(worker)
    await transitions.withdraw(delivery_id=ids["bibus"], actor="resident")
    real_poll = SimulatedAdapter.poll

    async def one_wrong(self: SimulatedAdapter, envelope: Envelope) -> Answer | None:
        if envelope.delivery_id == ids["archipel-habitat"]:
            return Answer(action="fulfil", outcome={"result": "vanished"})
        return await real_poll(self, envelope)

    monkeypatch.setattr(SimulatedAdapter, "poll", one_wrong)
    # Every poll is done: a refused answer is not retried, as when it ran alone, and a
    # withdrawn delivery has nothing left to ask.
    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3

    assert await _trail(ids["eau-du-ponant"]) == ["file", "send", "acknowledge", "fulfil"]
    assert await _trail(ids["bibus"]) == ["file", "send", "acknowledge", "withdraw"]
    assert await _trail(ids["archipel-habitat"]) == ["file", "send", "acknowledge"]
    assert [r.delivery_id for r in await Receipt.all()] == [ids["eau-du-ponant"]]  # type: ignore[attr-defined]
    report = await audit(keyring=app.state.runtime.keyring)
    assert report.ok, report.findings


async def test_a_request_still_open_elsewhere_waits_for_its_other_answers_before_mailing(
    app: Starlette, worker: Worker, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _acknowledged(worker)
    later = ids["archipel-habitat"]
    real_poll = SimulatedAdapter.poll

    async def not_yet(self: SimulatedAdapter, envelope: Envelope) -> Answer | None:
        return None if envelope.delivery_id == later else await real_poll(self, envelope)

    monkeypatch.setattr(SimulatedAdapter, "poll", not_yet)
    await worker._handle_batch(await _due(worker, "delivery.poll"))
    [digest] = await OutboxJob.filter(kind="mail.receipt_digest")
    assert len(digest.payload["receipts"]) == 2
    assert digest.run_after > clock.now()  # the quiet period, for the third answer

    monkeypatch.setattr(SimulatedAdapter, "poll", real_poll)
    await worker._handle_batch(await _due(worker, "delivery.poll"))
    [digest] = await OutboxJob.filter(kind="mail.receipt_digest")
    assert len(digest.payload["receipts"]) == 3
    assert digest.run_after <= clock.now()  # the last answer: at once
    await worker.run_until_idle()
    assert len(mail_sink.to(EMAIL)) == 1


async def test_a_discovery_answered_by_every_signatory_in_a_batch_is_summed_up_once(
    app: Starlette, worker: Worker
) -> None:
    await _acknowledged(worker, kind=RequestKind.DISCOVERY)
    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3

    mails = await OutboxJob.filter(kind="mail.resident")
    assert [m.payload["template"] for m in mails] == ["discovery_complete"]
    assert await OutboxJob.filter(kind="mail.receipt_digest").count() == 0


async def test_a_batch_cut_before_its_fulfilments_are_recorded_is_redone_once(
    app: Starlette, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _acknowledged(worker)
    real = fulfilling.fulfil_many

    async def cut(**_: Any) -> list[int]:
        raise ConnectionError("database gone between the answers and their recording")

    monkeypatch.setattr(fulfilling, "fulfil_many", cut)
    assert await worker._handle_batch(await _due(worker, "delivery.poll")) == []
    assert await Receipt.all().count() == 0

    monkeypatch.setattr(fulfilling, "fulfil_many", real)
    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3
    for delivery_id in ids.values():
        assert await _trail(delivery_id) == ["file", "send", "acknowledge", "fulfil"]
        assert await Receipt.filter(delivery_id=delivery_id).count() == 1
    assert await OutboxJob.filter(kind="mail.receipt_digest").count() == 1


async def test_a_batch_of_fulfilments_writes_its_jobs_in_one_statement(
    app: Starlette, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receipts' log job and the request's digest (and any next polls): one INSERT, one
    round trip, where each was its own."""
    await _acknowledged(worker)
    written: list[list[str]] = []
    insert = db_rows.insert_rows

    async def counted(model: Any, **options: Any) -> None:
        if model is OutboxJob:
            written.append(sorted(row["kind"] for row in options["rows"]))
        await insert(model, **options)

    monkeypatch.setattr(services, "insert_rows", counted)
    assert len(await worker._handle_batch(await _due(worker, "delivery.poll"))) == 3
    assert written == [["mail.receipt_digest", "receipts.log_append"]]
