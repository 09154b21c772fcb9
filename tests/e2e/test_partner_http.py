"""A partner's information system and the desk talking over real HTTP, as in production.

The desk is served by uvicorn on a free port (in this test's event loop: it shares the test
database); the reference partner is served by another uvicorn in its own thread. Nothing is
called in-process between them: webhooks, OAuth2 tokens, answers and polls all cross TCP.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from desk.core import clock, crypto
from desk.demo.reference_partner import create_reference_partner, serve_in_thread, serving
from desk.mail.sink import MailSink
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.partners.clients import create_client
from desk.partners.webhooks import new_secret
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory

RESIDENT = "camille@exemple.invalid"
FULFIL_ROUTE = "/api/v1/deliveries/{delivery_id}/fulfil"


def _require_partner_api(app: Starlette) -> None:
    paths = {getattr(route, "path", "") for route in app.routes}
    if FULFIL_ROUTE not in paths or "/oauth/token" not in paths:
        pytest.skip("the desk's partner API (/oauth/token, /api/v1/deliveries) is not mounted")


async def _until_final(worker: Worker, delivery_id: int, *, rounds: int = 150) -> Delivery:
    """Run the worker and let the servers talk until the delivery is answered."""
    delivery = await Delivery.get(id=delivery_id)
    for _ in range(rounds):
        await worker.run_until_idle()
        delivery = await Delivery.get(id=delivery_id)
        if delivery.state in (DeliveryState.FULFILLED, DeliveryState.DENIED, DeliveryState.FAILED):
            await worker.run_until_idle()  # the resident's receipt mail
            return delivery
        await asyncio.sleep(0.02)
    raise AssertionError(f"delivery {delivery_id} still {delivery.state}")


async def _check_receipt_as_the_resident(
    desk_url: str, mail_sink: MailSink, *, kind: str
) -> dict[str, object]:
    """Follow the receipt link of the resident's mail, then check the receipt offline."""
    (mail,) = [m for m in mail_sink.to(RESIDENT) if any("/recus/" in link for link in m.links)]
    link = next(link for link in mail.links if "/recus/" in link)
    path = urlsplit(link).path
    async with httpx.AsyncClient(base_url=desk_url) as browser:
        page = await browser.get(path)
        token = (await browser.get(path + ".jws")).text
        keys = (await browser.get("/.well-known/jwks.json")).json()
        checked = await browser.get("/verifier", params={"jws": token})
    assert page.status_code == 200
    assert checked.status_code == 200
    # Any JOSE library, with only the published keys, confirms the desk signed it.
    verified = jws.deserialize_compact(token, KeySet.import_key_set(keys), algorithms=["ES256"])
    payload: dict[str, object] = json.loads(verified.payload)
    assert payload["kind"] == kind
    assert payload["status"] == "RequestFulfilled"
    assert RESIDENT not in json.dumps(payload)
    return payload


async def test_webhook_partner_answers_through_the_api_and_the_resident_gets_a_receipt(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    _require_partner_api(app)
    signatory = await make_signatory("eau-du-ponant", adapter="webhook")
    credential = await create_client(slug=signatory.slug, label="SI de test")
    secret = new_secret()
    async with serving(app) as desk_url:
        partner = create_reference_partner(
            desk_base_url=desk_url,
            client_id=credential.client_id,
            client_secret=credential.client_secret,
            webhook_secrets=[secret],
        )
        with serve_in_thread(partner) as partner_url:
            signatory.adapter_settings = {
                "url": f"{partner_url}/webhooks/desk",
                "secrets": [crypto.encrypt(app.state.settings.secret_key, secret)],
            }
            await signatory.save()
            resident = await make_resident(RESIDENT)
            request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
            delivery = await Delivery.get(request_id=request.id)

            delivery = await _until_final(worker, delivery.id)

            state = partner.state.partner
            assert state.errors == []
            assert [w.msg_id for w in state.webhooks] == [f"delivery-{delivery.id}"]
            # The partner records its answer once the desk's reply reaches it, which may be
            # just after the desk committed it.
            for _ in range(100):
                if state.answers:
                    break
                await asyncio.sleep(0.05)
            assert [a["status"] for a in state.answers] == [200]
            assert delivery.state == DeliveryState.FULFILLED
            assert delivery.outcome is not None
            assert delivery.outcome["result"] == "erased"
            assert delivery.outcome["erased_categories"] == [
                "identité",
                "coordonnées",
                "consommation",
            ]
            payload = await _check_receipt_as_the_resident(desk_url, mail_sink, kind="erasure")
            assert payload["signatory"]


async def test_rest_partner_is_polled_over_http_and_the_resident_gets_a_receipt(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    token = "jeton-api-partenaire"
    partner = create_reference_partner(
        desk_base_url="http://127.0.0.1:9",  # the REST partner never calls the desk
        client_id="",
        client_secret="",
        webhook_secrets=[],
        auto_answer=False,
        api_token=token,
    )
    async with serving(app) as desk_url:
        with serve_in_thread(partner) as partner_url:
            signatory = await make_signatory("bibus", adapter="rest")
            signatory.adapter_settings = {
                "base_url": partner_url,
                "token": crypto.encrypt(app.state.settings.secret_key, token),
                "poll_interval": 0,
            }
            await signatory.save()
            resident = await make_resident(RESIDENT)
            request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
            delivery = await Delivery.get(request_id=request.id)

            await worker.run_until_idle()
            delivery = await Delivery.get(id=delivery.id)
            assert delivery.state == DeliveryState.ACKNOWLEDGED
            # The next poll is due later: make it due now, as if that time had passed.
            await OutboxJob.filter(kind="delivery.poll", state=JobState.PENDING).update(
                run_after=clock.now()
            )
            delivery = await _until_final(worker, delivery.id)

            assert delivery.state == DeliveryState.FULFILLED
            assert list(partner.state.partner.requests) == [f"delivery-{delivery.id}"]
            await _check_receipt_as_the_resident(desk_url, mail_sink, kind="erasure")
