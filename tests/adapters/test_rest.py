from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from adapters.base import AdapterContext, Envelope, PermanentAdapterError, load_adapter
from adapters.rest import RestAdapter
from desk.core import clock, crypto
from desk.demo.reference_partner import create_reference_partner, serve_in_thread
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.receipts.verify import verify_receipt
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory

# The partners of these tests run on this machine.
LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)

TOKEN = "jeton-de-test-partenaire"


@pytest.fixture
def partner() -> Iterator[tuple[Starlette, str]]:
    """The reference partner's rights API on a real port; the desk side is not needed here."""
    app = create_reference_partner(
        desk_base_url="http://127.0.0.1:9",
        client_id="unused",
        client_secret="unused",
        webhook_secrets=[],
        auto_answer=False,
        api_token=TOKEN,
        unknown_emails=["inconnu@exemple.invalid"],
    )
    with serve_in_thread(app) as url:
        yield app, url


def _envelope(kind: str = "erasure", *, email: str = "camille@exemple.invalid") -> Envelope:
    received = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    return Envelope(
        delivery_id=42,
        request_reference="DMD-TEST-0001",
        kind=kind,
        signatory_slug="eau-du-ponant",
        signatory_name="Eau du Ponant",
        identifiers={"email": email},
        received_at=received,
        due_at=received + timedelta(days=31),
        answer_url="http://testserver/partenaires/reponse/xyz",
        idempotency_key="delivery-42",
        state="pending",
    )


async def _no_mail(**_: Any) -> str:
    raise AssertionError("the rest adapter sends no mail")


def _adapter(url: str, **settings: Any) -> RestAdapter:
    context = AdapterContext(
        settings={"base_url": url, "token": TOKEN, "poll_interval": 120, **settings},
        send_mail=_no_mail,
        base_url="http://testserver",
        allowed_networks=LOCAL,
    )
    return RestAdapter(context)


async def test_deliver_creates_then_polls_acknowledge_then_the_answer(
    partner: tuple[Starlette, str],
) -> None:
    app, url = partner
    adapter = _adapter(url)
    envelope = _envelope("erasure")

    dispatch = await adapter.deliver(envelope)
    again = await adapter.deliver(envelope)  # a retry after a lost answer: no second request

    assert dispatch.reference == again.reference == "delivery-42"
    assert dispatch.poll_after == 120
    assert list(app.state.partner.requests) == ["delivery-42"]
    stored = app.state.partner.requests["delivery-42"]
    assert stored.exercise == "deletion"
    assert stored.identity == {"email": "camille@exemple.invalid"}

    first = await adapter.poll(replace(envelope, state="sent"))
    assert first is not None and first.action == "acknowledge" and not first.final

    second = await adapter.poll(replace(envelope, state="acknowledged"))
    assert second is not None and second.final
    assert second.action == "fulfil"
    assert second.outcome["result"] == "erased"
    assert second.outcome["erased_categories"] == ["identité", "coordonnées", "consommation"]
    assert second.outcome["recipients_notified"] == ["Trésor public"]
    assert second.outcome["note"] == "Traité par le système de référence."


async def test_an_access_copy_comes_back_as_a_file(partner: tuple[Starlette, str]) -> None:
    _, url = partner
    adapter = _adapter(url)
    envelope = _envelope("access")
    await adapter.deliver(envelope)
    # Still in progress, and already acknowledged: nothing new to record.
    assert await adapter.poll(replace(envelope, state="acknowledged")) is None

    answer = await adapter.poll(replace(envelope, state="acknowledged"))

    assert answer is not None and answer.action == "fulfil"
    assert answer.outcome["holds_data"] is True
    assert answer.file is not None
    assert answer.file.content_type == "application/json"
    export = json.loads(answer.file.content)
    assert export["personne"] == {"email": "camille@exemple.invalid"}


async def test_an_unknown_person_is_a_denial_with_our_reason(
    partner: tuple[Starlette, str],
) -> None:
    _, url = partner
    adapter = _adapter(url)
    envelope = _envelope("discovery", email="inconnu@exemple.invalid")

    dispatch = await adapter.deliver(envelope)
    answer = await adapter.poll(replace(envelope, state="sent"))

    assert dispatch.poll_after == 0  # already final: fetched at once
    assert answer is not None and answer.action == "deny"
    assert answer.reason == "no_match"
    assert answer.detail and "Aucune personne" in answer.detail


async def test_a_wrong_token_or_an_unknown_request_is_not_retried(
    partner: tuple[Starlette, str],
) -> None:
    _, url = partner
    with pytest.raises(PermanentAdapterError, match="401"):
        await _adapter(url, token="mauvais-jeton").deliver(_envelope())
    with pytest.raises(PermanentAdapterError, match="404"):
        await _adapter(url).poll(replace(_envelope(), state="sent"))


def test_settings_are_checked_with_french_messages() -> None:
    clean = RestAdapter.validate_settings({"base_url": "https://api.partenaire.fr/", "token": "t"})
    assert clean == {
        "base_url": "https://api.partenaire.fr",
        "token": "t",
        "poll_interval": 3600.0,
        "timeout": 15.0,
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"base_url": "http://api.partenaire.fr", "token": "t"}, "https://"),
        ({"base_url": "https://api.partenaire.fr"}, "jeton d'accès"),
        ({"base_url": "https://api.partenaire.fr", "token": "a b"}, "espace"),
        ({"base_url": "https://api.partenaire.fr", "token": "t", "poll_interval": -1}, "compris"),
    ]
    for settings, words in cases:
        with pytest.raises(ValueError, match=words):
            RestAdapter.validate_settings(settings)
    assert load_adapter("rest") is RestAdapter


async def test_an_erasure_driven_by_the_worker_ends_fulfilled_with_a_receipt(
    app: Starlette, worker: Worker, partner: tuple[Starlette, str]
) -> None:
    _, url = partner
    signatory = await make_signatory("eau-du-ponant", adapter="rest")
    signatory.adapter_settings = {
        "base_url": url,
        "token": crypto.encrypt(app.state.settings.secret_key, TOKEN),
        "poll_interval": 0,
    }
    await signatory.save()
    resident = await make_resident()
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)

    await worker.run_until_idle()  # created at the partner, then polled once: acknowledged
    delivery = await Delivery.get(request_id=request.id)
    assert delivery.state == DeliveryState.ACKNOWLEDGED
    assert delivery.dispatch_ref == f"delivery-{delivery.id}"

    # The next poll is due later; make it due now, as if that time had passed.
    await OutboxJob.filter(kind="delivery.poll", state=JobState.PENDING).update(
        run_after=clock.now()
    )
    for _ in range(20):
        await worker.run_until_idle()
        delivery = await Delivery.get(id=delivery.id)
        if delivery.state == DeliveryState.FULFILLED:
            break
        await asyncio.sleep(0.02)

    assert delivery.state == DeliveryState.FULFILLED
    assert delivery.outcome is not None
    assert delivery.outcome["result"] == "erased"
    receipt = await Receipt.get(delivery_id=delivery.id)
    checked = await verify_receipt(token=receipt.jws, keyring=app.state.runtime.keyring)
    assert checked.valid and checked.issued_here
    assert checked.payload is not None
    assert checked.payload["kind"] == "erasure"
