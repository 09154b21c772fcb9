from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.base import (
    AdapterContext,
    AdapterError,
    Envelope,
    PermanentAdapterError,
    load_adapter,
)
from adapters.settings import SettingsError
from adapters.webhook import RetryLater, WebhookAdapter
from desk.core import crypto
from desk.demo.reference_partner import create_reference_partner, serve_in_thread
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.partners.webhooks import WebhookVerificationError, new_secret, sign, verify
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory

# The partners of these tests run on this machine.
LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)

# The example of the Standard Webhooks reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


# --- a partner endpoint that answers what each test tells it to ---------------------------


@dataclass
class Reply:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers POST /hook with the next scripted reply (the last one repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply()]
        self.seen: list[Seen] = []
        self.redirect_hits = 0
        self.app = Starlette(
            routes=[
                Route("/hook", self.hook, methods=["POST"]),
                Route("/elsewhere", self.elsewhere, methods=["GET", "POST"]),
            ]
        )

    async def hook(self, request: Request) -> Response:
        self.seen.append(Seen(dict(request.headers), await request.body()))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(status_code=reply.status, headers=reply.headers)

    async def elsewhere(self, request: Request) -> Response:
        self.redirect_hits += 1
        return Response(status_code=204)


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., tuple[Receiver, str]]]:
    with contextlib.ExitStack() as servers:

        def start(*replies: Reply) -> tuple[Receiver, str]:
            receiver = Receiver(*replies)
            url = servers.enter_context(serve_in_thread(receiver.app))
            return receiver, url + "/hook"

        yield start


def _envelope(delivery_id: int = 42) -> Envelope:
    received = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    return Envelope(
        delivery_id=delivery_id,
        request_reference="DMD-TEST-0001",
        kind="erasure",
        signatory_slug="eau-du-ponant",
        signatory_name="Eau du Ponant",
        identifiers={"email": "camille@exemple.invalid"},
        received_at=received,
        due_at=received + timedelta(days=31),
        answer_url="http://testserver/partenaires/reponse/xyz",
        idempotency_key=f"delivery-{delivery_id}",
        declarations=[{"code": "abonnes", "title": "Abonnés", "data_categories": ["identité"]}],
    )


async def _no_mail(**_: Any) -> str:
    raise AssertionError("the webhook adapter sends no mail")


def _adapter(settings: dict[str, Any]) -> WebhookAdapter:
    context = AdapterContext(
        settings=settings,
        send_mail=_no_mail,
        base_url="http://testserver",
        allowed_networks=LOCAL,
    )
    return WebhookAdapter(context)


# --- signing and verification -------------------------------------------------------------


def test_signature_matches_the_standard_webhooks_example() -> None:
    assert sign([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    verify([SPEC_SECRET], headers, SPEC_BODY, now=SPEC_TIMESTAMP + 10)
    tampered = dict(headers, **{"webhook-signature": SPEC_SIGNATURE[:-2] + "A="})
    with pytest.raises(WebhookVerificationError) as refused:
        verify([SPEC_SECRET], tampered, SPEC_BODY, now=SPEC_TIMESTAMP)
    assert refused.value.reason == "bad_signature"


def _signed(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
    }


def test_a_stale_or_future_timestamp_and_a_replayed_id_are_refused() -> None:
    secret = new_secret()
    body = b'{"data": {}}'
    now = time.time()
    old = _signed([secret], "delivery-1", int(now) - 301, body)
    with pytest.raises(WebhookVerificationError) as refused:
        verify([secret], old, body, now=now)
    assert refused.value.reason == "too_old"
    future = _signed([secret], "delivery-1", int(now) + 400, body)
    with pytest.raises(WebhookVerificationError) as refused:
        verify([secret], future, body, now=now)
    assert refused.value.reason == "too_new"

    seen: set[str] = set()
    fresh = _signed([secret], "delivery-1", int(now), body)
    verify([secret], fresh, body, now=now, seen_ids=seen)
    with pytest.raises(WebhookVerificationError) as refused:
        verify([secret], fresh, body, now=now, seen_ids=seen)
    assert refused.value.reason == "replayed"

    with pytest.raises(WebhookVerificationError) as refused:
        verify([new_secret()], fresh, body, now=now)
    assert refused.value.reason == "bad_signature"
    with pytest.raises(WebhookVerificationError) as refused:
        verify([secret], {"webhook-id": "x"}, body, now=now)
    assert refused.value.reason == "missing_header"


def test_settings_are_checked_with_french_messages() -> None:
    secret = new_secret()
    clean = WebhookAdapter.validate_settings(
        {"url": " https://partenaire.fr/hook ", "secrets": [secret]}
    )
    assert clean == {"url": "https://partenaire.fr/hook", "secrets": [secret], "timeout": 15.0}
    # This machine only when the operator allows it (DESK_PARTNER_ALLOWED_NETWORKS).
    local = {"url": "http://127.0.0.1:9/h", "secrets": secret}
    assert WebhookAdapter.validate_settings(local, allowed_networks=LOCAL)
    with pytest.raises(SettingsError):
        WebhookAdapter.validate_settings(local)
    bad = [
        ({"url": "http://partenaire.fr/hook", "secrets": [secret]}, "https://"),
        ({"url": "ftp://partenaire.fr/hook", "secrets": [secret]}, "https://"),
        ({"url": "https:///hook", "secrets": [secret]}, "nom de serveur"),
        ({"url": "https://partenaire.fr/hook", "secrets": []}, "secret de signature"),
        ({"url": "https://partenaire.fr/hook", "secrets": ["pas-un-secret"]}, "whsec_"),
        ({"url": "https://partenaire.fr/hook", "secrets": [secret], "timeout": "x"}, "nombre"),
    ]
    for settings, words in bad:
        with pytest.raises(ValueError) as refused:
            WebhookAdapter.validate_settings(settings)
        assert isinstance(refused.value, SettingsError)
        assert words in str(refused.value), settings


def test_the_adapter_is_installed_under_its_name() -> None:
    assert load_adapter("webhook") is WebhookAdapter


# --- over real HTTP ---------------------------------------------------------------------


async def test_signed_with_both_secrets_during_rotation(
    receiver_factory: Callable[..., tuple[Receiver, str]],
) -> None:
    receiver, url = receiver_factory(Reply(204))
    old, new = new_secret(), new_secret()
    envelope = _envelope()

    dispatch = await _adapter({"url": url, "secrets": [old, new]}).deliver(envelope)

    assert dispatch.reference == "webhook:204"
    assert dispatch.poll_after is None
    (seen,) = receiver.seen
    assert seen.headers["webhook-id"] == "delivery-42"
    assert len(seen.headers["webhook-signature"].split()) == 2
    # A partner holding only the old secret, or only the new one, accepts the message.
    verify([old], seen.headers, seen.body, now=time.time())
    verify([new], seen.headers, seen.body, now=time.time())
    with pytest.raises(WebhookVerificationError):
        verify([new_secret()], seen.headers, seen.body, now=time.time())
    message = json.loads(seen.body)
    assert message["type"] == "delivery.created"
    data = message["data"]
    assert data["delivery_id"] == 42
    assert data["kind"] == "erasure"
    assert data["identifiers"] == {"email": "camille@exemple.invalid"}
    assert data["received_at"] == "2025-03-03T09:30:00Z"
    assert data["idempotency_key"] == "delivery-42"
    assert data["links"]["fulfil"] == "http://testserver/api/v1/deliveries/42/fulfil"
    assert data["links"]["token"] == "http://testserver/oauth/token"


async def test_statuses_are_sorted_into_retry_or_give_up(
    receiver_factory: Callable[..., tuple[Receiver, str]],
) -> None:
    secret = new_secret()
    cases: list[tuple[Reply, type[Exception], str]] = [
        (Reply(410), PermanentAdapterError, "endpoint disabled (410)"),
        (Reply(400), PermanentAdapterError, "400"),
        (Reply(503), AdapterError, "503"),
        (Reply(429, {"retry-after": "7"}), RetryLater, "429"),
    ]
    for reply, error, words in cases:
        _, url = receiver_factory(reply)
        with pytest.raises(error) as raised:
            await _adapter({"url": url, "secrets": [secret]}).deliver(_envelope())
        assert words in str(raised.value)
        if error is AdapterError:
            assert not isinstance(raised.value, PermanentAdapterError)
    assert raised.value.retry_after == 7  # type: ignore[attr-defined]


async def test_settings_that_would_leak_data_are_refused_before_any_call(
    receiver_factory: Callable[..., tuple[Receiver, str]],
) -> None:
    with pytest.raises(PermanentAdapterError):
        await _adapter(
            {"url": "http://partenaire.example/hook", "secrets": [new_secret()]}
        ).deliver(_envelope())
    with pytest.raises(PermanentAdapterError):
        await _adapter({"url": "https://partenaire.example/hook", "secrets": []}).deliver(
            _envelope()
        )


# --- through the outbox worker ----------------------------------------------------------


async def _webhook_delivery(
    app: Starlette, url: str, *, secrets: list[str] | None = None, deadline: float | None = None
) -> Delivery:
    signatory = await make_signatory("eau-du-ponant", adapter="webhook")
    key = app.state.settings.secret_key
    settings: dict[str, object] = {
        "url": url,
        # Stored encrypted, as the back office stores them; the desk decrypts for the adapter.
        "secrets": [crypto.encrypt(key, s) for s in (secrets or [new_secret()])],
    }
    if deadline is not None:
        settings["timeout"] = deadline
    signatory.adapter_settings = settings
    await signatory.save()
    resident = await make_resident()
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    return await Delivery.get(request_id=request.id)


async def _drive(
    worker: Worker, delivery_id: int, done: Callable[[Delivery], Awaitable[bool] | bool]
) -> Delivery:
    """Run the worker (backoff in tests is a few hundredths of a second) until `done`."""
    for _ in range(60):
        await worker.run_until_idle()
        delivery = await Delivery.get(id=delivery_id)
        outcome = done(delivery)
        if outcome if isinstance(outcome, bool) else await outcome:
            return delivery
        await asyncio.sleep(0.02)
    raise AssertionError(f"delivery {delivery_id} stuck in {delivery.state}")


async def test_410_marks_the_delivery_failed(
    app: Starlette, worker: Worker, receiver_factory: Callable[..., tuple[Receiver, str]]
) -> None:
    receiver, url = receiver_factory(Reply(410))
    delivery = await _webhook_delivery(app, url)

    delivery = await _drive(worker, delivery.id, lambda d: d.state == DeliveryState.FAILED)

    job = await OutboxJob.get(kind="delivery.dispatch")
    assert job.state == JobState.DEAD
    assert job.attempts == 1  # no retry can mend a disabled endpoint
    assert "410" in (job.last_error or "")
    assert len(receiver.seen) == 1


async def test_500_then_200_is_retried_with_the_same_webhook_id(
    app: Starlette, worker: Worker, receiver_factory: Callable[..., tuple[Receiver, str]]
) -> None:
    secret = new_secret()
    receiver, url = receiver_factory(Reply(500), Reply(200))
    delivery = await _webhook_delivery(app, url, secrets=[secret])

    delivery = await _drive(worker, delivery.id, lambda d: d.state == DeliveryState.SENT)

    assert delivery.dispatch_ref == "webhook:200"
    assert len(receiver.seen) == 2
    first, second = receiver.seen
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"delivery-{delivery.id}"
    # Same delivery, same content (only the signed answer link is freshly minted).
    first_data, second_data = json.loads(first.body)["data"], json.loads(second.body)["data"]
    assert first_data.pop("answer_url") and second_data.pop("answer_url")
    assert first_data == second_data
    verify([secret], second.headers, second.body, now=time.time())
    job = await OutboxJob.get(kind="delivery.dispatch")
    assert job.state == JobState.DONE and job.attempts == 2


async def test_a_redirect_is_not_followed(
    app: Starlette, worker: Worker, receiver_factory: Callable[..., tuple[Receiver, str]]
) -> None:
    receiver, url = receiver_factory(Reply(302, {"location": "/elsewhere"}))
    delivery = await _webhook_delivery(app, url)

    delivery = await _drive(worker, delivery.id, lambda d: d.state == DeliveryState.FAILED)

    assert receiver.redirect_hits == 0
    job = await OutboxJob.get(kind="delivery.dispatch")
    assert "redirect" in (job.last_error or "")


async def test_a_partner_slower_than_the_deadline_is_retried(
    app: Starlette, worker: Worker, receiver_factory: Callable[..., tuple[Receiver, str]]
) -> None:
    # The first answer comes long after the deadline: had the call waited for it, the delivery
    # would be sent at the first attempt. Room enough for the second, prompt answer on a busy
    # machine (a 0.2 s deadline failed there).
    receiver, url = receiver_factory(Reply(204, delay=2.0), Reply(204))
    delivery = await _webhook_delivery(app, url, deadline=0.5)

    delivery = await _drive(worker, delivery.id, lambda d: d.state == DeliveryState.SENT)

    job = await OutboxJob.get(kind="delivery.dispatch")
    assert job.attempts == 2
    assert len(receiver.seen) == 2


async def test_the_reference_partner_refuses_stale_and_replayed_messages() -> None:
    secret = new_secret()
    partner = create_reference_partner(
        desk_base_url="http://127.0.0.1:9",
        client_id="",
        client_secret="",
        webhook_secrets=[secret],
        auto_answer=False,
    )
    body = json.dumps({"type": "delivery.created", "data": {"delivery_id": 7}}).encode()
    now = int(time.time())
    with serve_in_thread(partner) as url:
        async with httpx.AsyncClient(base_url=url) as client:

            async def post(headers: dict[str, str]) -> int:
                response = await client.post("/webhooks/desk", content=body, headers=headers)
                return response.status_code

            fresh = _signed([secret], "delivery-7", now, body)
            assert await post(fresh) == 204
            assert await post(fresh) == 409  # the very same message again: a replay
            # The desk retrying (new timestamp, same id): accepted, not handled twice.
            assert await post(_signed([secret], "delivery-7", now + 1, body)) == 204
            assert await post(_signed([secret], "delivery-8", now - 600, body)) == 400
            assert await post(_signed([new_secret()], "delivery-9", now, body)) == 401
    state = partner.state.partner
    assert [w.msg_id for w in state.webhooks] == ["delivery-7"]
    assert state.rejected == ["replayed", "too_old", "bad_signature"]
