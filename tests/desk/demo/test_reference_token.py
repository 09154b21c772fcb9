"""The reference partner asks the desk for one token, however many answers it sends at once:
each token request costs the desk two scrypt runs, so a burst of webhooks must not become a
burst of token requests. A token refused later is renewed once, for every answer waiting."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desk.demo.reference_partner import answer_delivery, serving
from tests.desk.demo.support import partner_state


def _desk(tokens: list[str], accepted: set[str]) -> Starlette:
    """A stand-in for the desk: numbered tokens; fulfil answers 401 to a token not accepted."""

    async def token(request: Request) -> Response:
        await asyncio.sleep(0.05)  # long enough for every answer to be waiting on it
        tokens.append(f"t{len(tokens)}")
        return JSONResponse({"access_token": tokens[-1], "expires_in": 900})

    async def fulfil(request: Request) -> Response:
        if request.headers["authorization"].removeprefix("Bearer ") not in accepted:
            return Response(status_code=401)
        return JSONResponse({"state": "fulfilled"})

    return Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/api/v1/deliveries/{id}/fulfil", fulfil, methods=["POST"]),
        ]
    )


def _data(n: int) -> dict[str, object]:
    return {"delivery_id": n, "kind": "erasure", "identifiers": {"email": "a@exemple.invalid"}}


async def test_answers_sent_together_share_one_token() -> None:
    tokens: list[str] = []
    async with serving(_desk(tokens, {"t0"})) as url:
        state = partner_state(url)
        await asyncio.gather(*(answer_delivery(state, f"m{n}", _data(n)) for n in range(20)))
    assert tokens == ["t0"]
    assert state.errors == []
    assert [a["status"] for a in state.answers] == [200] * 20


async def test_a_refused_token_is_renewed_once_for_every_waiting_answer() -> None:
    tokens: list[str] = []
    async with serving(_desk(tokens, {"t1"})) as url:
        state = partner_state(url)
        await asyncio.gather(*(answer_delivery(state, f"m{n}", _data(n)) for n in range(10)))
    assert tokens == ["t0", "t1"]
    assert state.errors == []
    assert len(state.answers) == 10
