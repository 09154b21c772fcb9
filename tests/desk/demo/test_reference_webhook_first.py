"""`desk partner-sim` serves its webhook endpoint straight from the server (WebhookFirst):
the same checks and record as through the app's router, every other request through the app."""

from __future__ import annotations

import json
import time

import httpx
from starlette.types import Receive, Scope, Send

from desk.demo.reference_partner import WEBHOOK_PATH, WebhookFirst, create_reference_partner
from desk.partners.webhooks import new_secret, sign


class _Spy:
    """The app, noting the paths that reached it."""

    def __init__(self, app: WebhookFirst) -> None:
        self.inner = app.app
        self.paths: list[str] = []
        app.app = self  # type: ignore[assignment]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope.get("path", ""))
        await self.inner(scope, receive, send)

    @property
    def state(self) -> object:
        return self.inner.state


def _signed(secret: str, msg_id: str, body: bytes, *, good: bool = True) -> dict[str, str]:
    now = int(time.time())
    signature = sign([secret if good else new_secret()], msg_id, now, body)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": signature,
    }


async def test_webhooks_are_checked_and_recorded_without_the_router() -> None:
    secret = new_secret()
    app = create_reference_partner(
        desk_base_url="http://desk.invalid",
        client_id="",
        client_secret="",
        webhook_secrets=[secret],
        auto_answer=False,
        api_token="jeton",
    )
    served = WebhookFirst(app)
    spy = _Spy(served)
    body = json.dumps({"type": "delivery.created", "data": {"delivery_id": 7}}).encode()
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://partner") as client:
        ok = await client.post(WEBHOOK_PATH, content=body, headers=_signed(secret, "d-7", body))
        again = await client.post(WEBHOOK_PATH, content=body, headers=_signed(secret, "d-7", body))
        forged = await client.post(
            WEBHOOK_PATH, content=body, headers=_signed(secret, "d-8", body, good=False)
        )
        other = await client.get("/v1/data-rights-request/x")

    assert ok.status_code == 204
    # The same message again: already handled, said so; a forged one refused.
    assert again.status_code in (204, 409)
    assert forged.status_code == 401
    state = app.state.partner
    assert [w.msg_id for w in state.webhooks] == ["d-7"]
    assert state.rejected[-1] == "bad_signature"
    # Only the rights API went through the app.
    assert other.status_code == 401
    assert spy.paths == ["/v1/data-rights-request/x"]
