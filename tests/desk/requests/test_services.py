from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from desk.core import clock
from desk.core.errors import DeskError
from desk.outbox.models import OutboxJob
from desk.receipts.models import Receipt
from desk.requests import transitions
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.requests.transitions import AlreadyAnswered
from tests.factories import make_resident, make_signatory


async def _answer(app: Starlette, delivery_id: int, action: str, **kw: Any) -> Delivery:
    """`action` names the transition function; fulfil and deny also sign a receipt."""
    rt = app.state.runtime
    if action in ("fulfil", "deny"):
        kw.update(keyring=rt.keyring, issuer=rt.issuer)
    transition = getattr(transitions, action)
    done: Delivery = await transition(delivery_id=delivery_id, actor="test", **kw)
    return done


async def test_filing_writes_deliveries_events_and_dispatch_jobs_together(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau")
    await make_signatory("bus")
    request = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    deliveries = await Delivery.filter(request=request)
    assert len(deliveries) == 2
    assert all(d.state == DeliveryState.PENDING for d in deliveries)
    assert all(d.due_at == clock.add_months(d.received_at, 1) for d in deliveries)
    jobs = await OutboxJob.filter(kind="delivery.dispatch")
    assert sorted(j.payload["delivery_id"] for j in jobs) == sorted(d.id for d in deliveries)
    assert await DeliveryEvent.filter(action="file").count() == 2


async def test_same_submission_key_files_one_request(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau")
    first = await file_request(
        resident_id=resident.id, kind=RequestKind.ERASURE, submission_key="k1"
    )
    second = await file_request(
        resident_id=resident.id, kind=RequestKind.ERASURE, submission_key="k1"
    )
    assert first.id == second.id
    assert await RightsRequest.all().count() == 1
    assert await OutboxJob.filter(kind="delivery.dispatch").count() == 1


async def test_erasure_fulfilment_issues_a_receipt_and_tells_the_resident(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    delivery = await Delivery.get(request=request)
    done = await _answer(
        app,
        delivery.id,
        "fulfil",
        outcome={
            "result": "erased",
            "erased_categories": ["coordonnées"],
            "recipients_notified": ["Trésor public"],
        },
    )
    assert done.state == DeliveryState.FULFILLED
    receipt = await Receipt.get(delivery_id=delivery.id)
    assert receipt.leaf_hash is not None and receipt.leaf_index is None
    mail = await OutboxJob.get(kind="mail.resident")
    assert mail.payload["template"] == "receipt"
    assert mail.payload["context"]["receipt_id"] == receipt.id


async def test_nothing_changes_after_a_final_answer(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau")
    request = await file_request(resident_id=resident.id, kind=RequestKind.OBJECTION)
    delivery = await Delivery.get(request=request)
    await _answer(app, delivery.id, "fulfil", outcome={"result": "stopped"})
    with pytest.raises(AlreadyAnswered):
        await _answer(app, delivery.id, "deny", reason="other")
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.FULFILLED
    assert await Receipt.all().count() == 1


async def test_invalid_answers_are_refused_in_french_and_change_nothing(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    delivery = await Delivery.get(request=request)
    with pytest.raises(DeskError, match="effacement partiel"):
        await _answer(app, delivery.id, "fulfil", outcome={"result": "partial"})
    with pytest.raises(DeskError, match="motif"):
        await _answer(app, delivery.id, "deny", reason="because")
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.PENDING
    assert await DeliveryEvent.filter(delivery_id=delivery.id).count() == 1


async def test_extension_is_once_within_the_first_month_up_to_three_months(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau")
    await make_signatory("bus")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    first, late = await Delivery.filter(request=request).order_by("id")
    extended = await _answer(app, first.id, "extend", reason="Archives sur papier à numériser")
    assert extended.due_at == clock.add_months(first.received_at, 3)
    with pytest.raises(DeskError):
        await _answer(app, first.id, "extend", reason="encore")
    # A delivery received more than a month ago can no longer be extended.
    await Delivery.filter(id=late.id).update(received_at=clock.now() - timedelta(days=40))
    with pytest.raises(DeskError, match="premier mois"):
        await _answer(app, late.id, "extend", reason="trop tard")


async def test_answers_at_the_same_instant_all_commit_their_receipts(app: Starlette) -> None:
    """Receipts took the next number of a global chain: two answers at once raced for it and
    one failed. Now none takes a position when answering."""
    resident = await make_resident()
    for n in range(12):
        await make_signatory(f"org-{n}")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    deliveries = await Delivery.filter(request=request)
    answered = await asyncio.gather(
        *(_answer(app, d.id, "fulfil", outcome={"result": "nothing_held"}) for d in deliveries)
    )
    assert {d.state for d in answered} == {DeliveryState.FULFILLED}
    assert await Receipt.filter(delivery__request=request).count() == 12
