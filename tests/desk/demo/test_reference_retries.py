"""The reference partner answers as every partner must: it retries a busy desk (429/503 after
Retry-After, other 5xx with backoff) with the same Idempotency-Key, and stops on a final answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desk.demo import reference_webhooks as reference
from desk.demo.reference_partner import answer_delivery, serving
from tests.desk.demo.support import partner_state


def _desk(script: list[Callable[[], Response]], seen: list[tuple[str, str]]) -> Starlette:
    """A stand-in for the desk's partner API answering from `script`, one answer per call."""

    async def token(request: Request) -> Response:
        return JSONResponse({"access_token": "t", "expires_in": 300})

    async def fulfil(request: Request) -> Response:
        seen.append((request.headers["idempotency-key"], (await request.body()).decode()))
        answer = script.pop(0) if script else (lambda: JSONResponse({"state": "fulfilled"}))
        return answer()

    return Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/api/v1/deliveries/{id}/fulfil", fulfil, methods=["POST"]),
        ]
    )


DATA = {"delivery_id": 7, "kind": "erasure", "identifiers": {"email": "a@exemple.invalid"}}


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "BACKOFF_BASE", 0.01)


async def test_a_busy_desk_is_retried_with_the_same_idempotency_key() -> None:
    seen: list[tuple[str, str]] = []
    script: list[Callable[[], Response]] = [
        lambda: Response(status_code=503, headers={"retry-after": "0"}),
        lambda: Response(status_code=429, headers={"retry-after": "0"}),
        lambda: Response(status_code=500),
        lambda: Response(status_code=502),
    ]
    async with serving(_desk(script, seen)) as url:
        state = partner_state(url)
        await answer_delivery(state, "msg-1", DATA)
    assert len(seen) == 5
    assert {key for key, _ in seen} == {"msg-1-fulfil"}
    assert len({body for _, body in seen}) == 1
    assert state.retries == ["fulfil 503", "fulfil 429", "fulfil 500", "fulfil 502"]
    assert state.errors == [] and state.answers[-1]["status"] == 200


async def test_a_final_refusal_is_not_retried() -> None:
    seen: list[tuple[str, str]] = []
    script: list[Callable[[], Response]] = [
        lambda: JSONResponse({"detail": "déjà répondu"}, status_code=409)
    ]
    async with serving(_desk(script, seen)) as url:
        state = partner_state(url)
        await answer_delivery(state, "msg-2", DATA)
    assert len(seen) == 1 and state.retries == []
    assert state.errors == ["fulfil 7: 409"]


async def test_a_desk_that_stays_unavailable_is_given_up_after_the_last_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reference, "ANSWER_ATTEMPTS", 3)
    seen: list[tuple[str, str]] = []
    script: list[Callable[[], Response]] = [lambda: Response(status_code=503)] * 5
    async with serving(_desk(script, seen)) as url:
        state = partner_state(url)
        await answer_delivery(state, "msg-3", DATA)
    assert len(seen) == 3
    assert state.errors == ["fulfil 7: 503"]
