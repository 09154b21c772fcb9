"""PostgreSQL: a batch's `send`s written in one statement (desk.requests.sending._send_at_once)
while every delivery is still the version the batch read; a delivery changed meanwhile sends the
batch the careful way, and its trail stays one chain."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.transactions import in_transaction

from desk.mediation.models import ResidentContact
from desk.outbox import services
from desk.outbox.models import JobState, OutboxJob
from desk.requests import batch, sending
from desk.requests.audit import record_event, verify_events
from desk.requests.identifiers import known_identifiers_many
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


def _postgres_only() -> None:
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("the one-statement send is PostgreSQL's")


async def _pending(count: int) -> list[int]:
    for n in range(count):
        await make_signatory(f"sig-{n}", name=f"Sig {n}")
    resident = await make_resident()
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    return sorted(d.id for d in await Delivery.all())


def _sends(ids: list[int]) -> list[sending.Sent]:
    return [
        sending.Sent(delivery_id=i, actor="adapter:webhook", dispatch_ref="webhook:204")
        for i in ids
    ]


async def _seen(ids: list[int]) -> dict[int, sending.Seen]:
    rows = await batch.read_rows(ids)
    return {i: row.seen for i, row in rows.items() if row.seen is not None}


async def test_a_batch_unchanged_since_read_is_recorded_in_one_statement(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgres_only()
    ids = await _pending(3)
    seen = await _seen(ids)
    assert set(seen) == set(ids)
    jobs = await services.claim_batch(worker_id="w", limit=10)
    assert len(jobs) == 3

    async def careful(*_: Any) -> list[int]:
        raise AssertionError("the careful way was taken")

    monkeypatch.setattr(sending, "_record_many", careful)
    assert await sending.send_many(sends=_sends(ids), done=jobs, seen=seen) == ids

    assert {d.state for d in await Delivery.all()} == {DeliveryState.SENT}
    assert {d.dispatch_ref for d in await Delivery.all()} == {"webhook:204"}
    assert {j.state for j in await OutboxJob.all()} == {JobState.DONE}
    for i in ids:
        trail = await DeliveryEvent.filter(delivery_id=i).order_by("id")
        assert [e.action for e in trail] == ["file", "send"]
    _, problems = await verify_events()
    assert problems == []


async def test_a_delivery_changed_since_read_sends_the_batch_the_careful_way(
    app: Starlette,
) -> None:
    _postgres_only()
    ids = await _pending(2)
    seen = await _seen(ids)
    jobs = await services.claim_batch(worker_id="w", limit=10)
    # Another writer adds an event to a delivery still pending (writing its row, as every
    # transition does): the batch's idea of that trail's end is stale.
    async with in_transaction() as conn:
        await Delivery.filter(id=ids[0]).using_db(conn).update(dispatch_ref=None)
        await record_event(
            delivery_id=ids[0],
            action="note",
            actor="staff:1",
            from_state="pending",
            to_state="pending",
            detail={},
            connection=conn,
        )

    assert await sending.send_many(sends=_sends(ids), done=jobs, seen=seen) == ids

    assert {d.state for d in await Delivery.all()} == {DeliveryState.SENT}
    assert {j.state for j in await OutboxJob.all()} == {JobState.DONE}
    trail = await DeliveryEvent.filter(delivery_id=ids[0]).order_by("id")
    assert [e.action for e in trail] == ["file", "note", "send"]
    # Chained to the event added meanwhile, not to the one the batch had read.
    assert trail[2].prev_digest == trail[1].digest
    _, problems = await verify_events()
    assert problems == []


async def test_a_delivery_answered_since_read_is_left_as_it_is(app: Starlette) -> None:
    _postgres_only()
    ids = await _pending(2)
    seen = await _seen(ids)
    await Delivery.filter(id=ids[1]).update(state=DeliveryState.ACKNOWLEDGED)

    assert await sending.send_many(sends=_sends(ids), seen=seen) == [ids[0]]

    states = {d.id: d.state for d in await Delivery.all()}
    assert states == {ids[0]: DeliveryState.SENT, ids[1]: DeliveryState.ACKNOWLEDGED}


async def test_the_batch_reads_the_declarations_with_its_rows(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL with the rows (one round trip less), as their own query gives them."""
    await make_signatory("deux", name="Deux", declarations=2)
    await make_signatory("aucune", name="Aucune", declarations=0)
    resident = await make_resident()
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    rows = list((await batch.read_rows(sorted(d.id for d in await Delivery.all()))).values())
    expected = await batch.declarations_of({row.signatory_id for row in rows})
    assert sorted(len(v) for v in expected.values()) == [0, 2]
    if connections.get("default").capabilities.dialect == "postgres":

        async def unread(_: set[int]) -> dict[int, list[dict[str, Any]]]:
            raise AssertionError("the declarations were read again")

        monkeypatch.setattr(batch, "declarations_of", unread)
    envelopes = await batch.envelopes_of(rows, app.state.runtime)
    for row, envelope in zip(rows, envelopes, strict=True):
        assert [dict(d) for d in envelope.declarations] == expected[row.signatory_id]


async def test_identifiers_are_read_only_for_signatories_that_accept_more_than_email(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signatories accepting the email alone (the default) need nothing of the other domains:
    their query is skipped; one accepting a name gets it, as a delivery run alone would."""
    email_only = await make_signatory("bibus", name="Bibus")
    resident = await make_resident()
    await ResidentContact.create(
        resident=resident, full_name="Maïwenn Le Goff", address_lines=[], match_key="m"
    )
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    rows = list((await batch.read_rows([d.id for d in await Delivery.all()])).values())
    calls: list[set[int]] = []
    real = known_identifiers_many

    async def counted(residents: set[int]) -> dict[int, dict[str, str]]:
        calls.append(set(residents))
        return await real(residents)

    monkeypatch.setattr(batch, "known_identifiers_many", counted)
    [envelope] = await batch.envelopes_of(rows, app.state.runtime)
    assert calls == []
    assert envelope.identifiers == {"email": "camille@exemple.invalid"}

    email_only.accepted_identifiers = ["email", "full_name"]
    await email_only.save()
    rows = list((await batch.read_rows([d.id for d in await Delivery.all()])).values())
    [envelope] = await batch.envelopes_of(rows, app.state.runtime)
    assert calls == [{resident.id}]
    assert envelope.identifiers == {
        "email": "camille@exemple.invalid",
        "full_name": "Maïwenn Le Goff",
    }
