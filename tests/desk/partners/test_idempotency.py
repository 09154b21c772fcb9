"""Idempotency-Key: the record and the effect it guards are written together, or not at all."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from desk.outbox.worker import Worker
from desk.partners import answers as api_answers
from desk.partners.deliveries import delivery_document
from desk.partners.models import IdempotencyRecord
from desk.requests.models import Delivery, DeliveryEvent, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory
from tests.helpers import partner_bearer


async def _sent_delivery(worker: Worker) -> int:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident("camille@exemple.invalid")
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    await worker.run_until_idle()
    (delivery,) = await Delivery.filter(signatory_id=signatory.id)
    return delivery.id


async def _bearer(client: httpx.AsyncClient) -> dict[str, str]:
    return await partner_bearer(client, "eau-du-ponant")


async def test_concurrent_identical_posts_make_one_effect_and_one_answer(
    client: httpx.AsyncClient, worker: Worker
) -> None:
    delivery_id = await _sent_delivery(worker)
    keyed = {**await _bearer(client), "Idempotency-Key": "ack-1"}
    url = f"/api/v1/deliveries/{delivery_id}/acknowledge"

    first, second = await asyncio.gather(
        client.post(url, json={}, headers=keyed), client.post(url, json={}, headers=keyed)
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.content == second.content
    assert {
        first.headers.get("idempotent-replayed"),
        second.headers.get("idempotent-replayed"),
    } == {
        None,
        "true",
    }
    assert await DeliveryEvent.filter(delivery_id=delivery_id, action="acknowledge").count() == 1

    other = await client.post(
        f"/api/v1/deliveries/{delivery_id}/extend",
        json={"reason": "Archives.", "extra_months": 1},
        headers=keyed,
    )
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert "Idempotency-Key" in other.json()["detail"]
    assert (await Delivery.get(id=delivery_id)).state == "acknowledged"


async def test_a_crash_after_the_effect_leaves_neither_effect_nor_record(
    app: Starlette, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery_id = await _sent_delivery(worker)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        keyed = {**await _bearer(client), "Idempotency-Key": "ack-crash"}
        url = f"/api/v1/deliveries/{delivery_id}/acknowledge"
        real = delivery_document

        async def crash(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the process dies after the effect, before the record")

        monkeypatch.setattr(api_answers, "delivery_document", crash)
        crashed = await client.post(url, json={}, headers=keyed)
        assert crashed.status_code == 500
        assert (await Delivery.get(id=delivery_id)).state == "sent"
        assert not await DeliveryEvent.filter(delivery_id=delivery_id, action="acknowledge")
        assert not await IdempotencyRecord.filter(key="ack-crash").exists()

        monkeypatch.setattr(api_answers, "delivery_document", real)
        retried = await client.post(url, json={}, headers=keyed)
        assert retried.status_code == 200
        assert retried.json()["state"] == "acknowledged"
        assert await IdempotencyRecord.filter(key="ack-crash", status=200).exists()
