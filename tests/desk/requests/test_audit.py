"""The deliveries' audit trail is hash-chained: edits, deletions and silent state changes show."""

from __future__ import annotations

from starlette.applications import Starlette
from tortoise import connections

from desk.core import clock
from desk.core.chain import GENESIS
from desk.requests import transitions
from desk.requests.audit import event_digest, first_event_rows, last_digests, verify_events
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


async def _answered(app: Starlette) -> Delivery:
    resident = await make_resident()
    await make_signatory("eau")
    request = await file_request(resident_id=resident.id, kind=RequestKind.OBJECTION)
    delivery = await Delivery.get(request=request)
    rt = app.state.runtime
    await transitions.acknowledge(delivery_id=delivery.id, actor="partner:test")
    await transitions.fulfil(
        delivery_id=delivery.id,
        actor="partner:test",
        outcome={"result": "stopped"},
        keyring=rt.keyring,
        issuer=rt.issuer,
    )
    return delivery


async def test_an_untouched_trail_verifies(app: Starlette) -> None:
    delivery = await _answered(app)
    events = await DeliveryEvent.filter(delivery_id=delivery.id).order_by("id")
    assert events[0].prev_digest == GENESIS
    assert [e.prev_digest for e in events[1:]] == [e.digest for e in events[:-1]]
    assert await verify_events() == (3, [])


async def test_an_edited_event_is_found(app: Starlette) -> None:
    delivery = await _answered(app)
    first = await DeliveryEvent.filter(delivery_id=delivery.id).order_by("id").first()
    assert first is not None
    await DeliveryEvent.filter(id=first.id).update(actor="someone-else")
    _, problems = await verify_events()
    assert [(p.event_id, p.reason_fr) for p in problems] == [
        (first.id, "Événement modifié après son enregistrement.")
    ]


async def test_a_deleted_event_or_a_silent_state_change_is_found(app: Starlette) -> None:
    delivery = await _answered(app)
    middle = (await DeliveryEvent.filter(delivery_id=delivery.id).order_by("id"))[1]
    await DeliveryEvent.filter(id=middle.id).delete()
    _, problems = await verify_events()
    assert any("Maillon manquant" in p.reason_fr for p in problems)

    other = await _answered_again(app)
    await Delivery.filter(id=other.id).update(state=DeliveryState.DENIED)
    _, problems = await verify_events()
    assert any(p.delivery_id == other.id and "dernier événement" in p.reason_fr for p in problems)


async def _answered_again(app: Starlette) -> Delivery:
    resident = await make_resident("autre@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    return await Delivery.get(request=request)


def test_first_events_digests_are_the_ones_their_content_gives() -> None:
    """Many first events share one encoding of their detail: their digests are still each
    event's own (the one `event_digest`, hence `desk audit verify`, recomputes)."""
    at = clock.now()
    for action, detail in (
        ("file", {"mandate": "é€ 🙂", "n": [1, 2.5, None, True]}),
        ("file", {}),
        ("fail", {"error": "texte libre"}),  # free text: salted per event
    ):
        rows = first_event_rows(
            delivery_ids=[1, 42, 10**9], action=action, actor="médiateur:7",
            state="pending", detail=detail, at=at,
        )  # fmt: skip
        assert len({row["digest"] for row in rows}) == 3
        for row, delivery_id in zip(rows, [1, 42, 10**9], strict=True):
            assert row["delivery_id"] == delivery_id
            assert row["digest"] == event_digest(
                prev=GENESIS, delivery_id=delivery_id, at=at, actor="médiateur:7",
                action=action, from_state="pending", to_state="pending", detail=row["detail"],
            )  # fmt: skip


async def test_a_batch_chains_to_each_trail_s_last_event(app: Starlette) -> None:
    """The worker's batches chain each new event to its delivery's last one, read for the whole
    batch at once: the last of each trail, whatever the order events were written in."""
    answered = await _answered(app)
    filed = await _answered_again(app)
    # Trails written in turn, so one delivery's events are not contiguous.
    await transitions.acknowledge(delivery_id=filed.id, actor="partner:test")
    events = await DeliveryEvent.filter(delivery_id__in=[answered.id, filed.id]).order_by("id")
    ends = {e.delivery_id: e.digest for e in events}  # type: ignore[attr-defined]
    assert len({e.delivery_id for e in events}) == 2  # type: ignore[attr-defined]

    conn = connections.get("default")
    assert await last_digests(conn, [filed.id, answered.id, filed.id]) == ends
    # A delivery with no event yet (or none at all) has no trail's end to chain to.
    assert await last_digests(conn, [answered.id, 10**9]) == {answered.id: ends[answered.id]}
    assert await last_digests(conn, []) == {}
