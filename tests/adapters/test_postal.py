from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette

from adapters.base import AdapterContext, Envelope, PermanentAdapterError, load_adapter
from adapters.postal import PostalAdapter, validate_settings
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory

ADDRESS = "Mairie de Plouzané\nService du DPO\n  \nPlace Anne de Bretagne\n29280 Plouzané\n"


async def _no_mail(**_: object) -> str:
    raise AssertionError("the postal channel sends no email")


def _adapter(settings: dict[str, object]) -> PostalAdapter:
    return PostalAdapter(AdapterContext(settings=settings, send_mail=_no_mail, base_url="http://x"))


def _envelope() -> Envelope:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return Envelope(
        delivery_id=7,
        request_reference="DSK-2026-ABCD",
        kind="erasure",
        signatory_slug="mairie-plouzane",
        signatory_name="Mairie de Plouzané",
        identifiers={"email": "camille@exemple.invalid"},
        received_at=now,
        due_at=now,
        answer_url="http://x/partenaires/reponse/t",
        idempotency_key="delivery-7",
    )


def test_the_postal_adapter_is_installed_under_its_name() -> None:
    assert load_adapter("postal") is PostalAdapter
    assert PostalAdapter.kind == "postal"


def test_settings_need_a_postal_address_in_french() -> None:
    clean = validate_settings({"address": ADDRESS})
    assert clean["address"].splitlines() == [
        "Mairie de Plouzané",
        "Service du DPO",
        "Place Anne de Bretagne",
        "29280 Plouzané",
    ]
    assert PostalAdapter.validate_settings({"address": "1 rue X\nBrest"})["address"]
    for wrong in ({}, {"address": "   "}, {"address": 12}):
        with pytest.raises(ValueError, match="adresse postale"):
            validate_settings(wrong)
    with pytest.raises(ValueError, match="trop longue"):
        validate_settings({"address": "\n".join(["ligne"] * 9)})


async def test_deliver_queues_a_letter_and_poll_has_nothing() -> None:
    adapter = _adapter({"address": ADDRESS})
    dispatch = await adapter.deliver(_envelope())
    assert dispatch.reference == "postal-queue"
    assert dispatch.poll_after is None
    assert await adapter.poll(_envelope()) is None
    with pytest.raises(PermanentAdapterError, match="adresse postale"):
        await _adapter({"mailbox": "dpo@x.invalid"}).deliver(_envelope())


async def test_a_postal_signatory_without_address_ends_in_the_back_office(
    app: Starlette, worker: Worker
) -> None:
    with_address = await make_signatory("mairie-plouzane", adapter="postal")
    with_address.adapter_settings = {"address": ADDRESS}
    await with_address.save()
    await make_signatory("sans-adresse", adapter="postal")
    resident = await make_resident()
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    await worker.run_until_idle()
    states = {
        d.signatory.slug: d.state
        for d in await Delivery.filter(request_id=request.id).select_related("signatory")
    }
    assert states == {"mairie-plouzane": DeliveryState.SENT, "sans-adresse": DeliveryState.FAILED}
    (dead,) = await OutboxJob.filter(state=JobState.DEAD)
    assert "adresse postale" in (dead.last_error or "")
