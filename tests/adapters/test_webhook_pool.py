"""Webhooks to one partner reuse a kept-alive connection, and the SSRF guard still judges
every request made over the pool."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.base import AdapterContext, Envelope, PermanentAdapterError
from adapters.http1 import close_pools
from adapters.webhook import WebhookAdapter
from desk.demo.reference_partner import serve_in_thread
from desk.partners.webhooks import new_secret

LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)


def _envelope(delivery_id: int) -> Envelope:
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
    )


async def _no_mail(**_: Any) -> str:
    raise AssertionError("the webhook adapter sends no mail")


def _adapter(url: str, allowed: tuple[Any, ...]) -> WebhookAdapter:
    return WebhookAdapter(
        AdapterContext(
            settings={"url": url, "secrets": [new_secret()]},
            send_mail=_no_mail,
            base_url="http://testserver",
            allowed_networks=allowed,
        )
    )


def _receiver() -> tuple[Starlette, list[Any]]:
    clients: list[Any] = []

    async def hook(request: Request) -> Response:
        clients.append(request.scope.get("client"))
        await request.body()
        return Response(status_code=204)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), clients


async def test_webhooks_to_one_partner_share_a_kept_connection() -> None:
    app, clients = _receiver()
    with serve_in_thread(app) as url:
        try:
            for n in range(3):
                await _adapter(url + "/hook", LOCAL).deliver(_envelope(n))
        finally:
            await close_pools()
    assert len(clients) == 3
    assert len(set(map(tuple, clients))) == 1  # one client address and port: one connection


async def test_the_guard_still_refuses_an_internal_address_after_a_pooled_call() -> None:
    app, clients = _receiver()
    with serve_in_thread(app) as url:
        try:
            await _adapter(url + "/hook", LOCAL).deliver(_envelope(1))
            with pytest.raises(PermanentAdapterError):
                # Same partner, but this desk may not reach 127.0.0.1: refused before a byte.
                await _adapter(url + "/hook", ()).deliver(_envelope(2))
        finally:
            await close_pools()
    assert len(clients) == 1
