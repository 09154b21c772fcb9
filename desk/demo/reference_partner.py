"""A reference partner: a small stand-in for a signatory's information system.

For the demo, the tests and the benchmarks, it plays both kinds of connected partner:

- it RECEIVES the desk's webhooks at POST /webhooks/desk, checks their Standard Webhooks
  signature (rejecting stale timestamps and exact replays), records them and, when
  `auto_answer` is on, answers through the desk's partner API over HTTP (client credentials at
  {desk}/oauth/token, then POST {desk}/api/v1/deliveries/{id}/fulfil);
- it SERVES a Data Rights Protocol–style API for the rest adapter:
  POST /v1/data-rights-request and GET /v1/data-rights-request/{id}, from memory. A request is
  "in_progress" on its first poll and "fulfilled" (with a plausible result) from then on.

Run it alone with `python -m desk.demo.reference_partner --port 8100 --desk-url ... `.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import random
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.webhook import tls_context
from desk.partners.webhooks import WebhookVerificationError, new_secret, verify

log = logging.getLogger("desk.demo.reference_partner")

Lifespan = Literal["auto", "on", "off"]

MAX_BODY = 1024 * 1024
# How a partner should answer the desk (README, "Partner API"): 429 and 503 are retried after
# their Retry-After, other 5xx and lost connections with exponential backoff and jitter, always
# with the same Idempotency-Key, so a retry never answers twice.
ANSWER_ATTEMPTS = 8
BACKOFF_BASE = 0.5
BACKOFF_MAX = 15.0
RETRY_AFTER_MAX = 60.0
# What the reference partner "holds" about anyone it knows: its own small data model.
CATEGORIES = ["identité", "coordonnées", "consommation"]
RECIPIENTS = ["Trésor public"]
EXERCISES = ("access", "access:categories", "deletion", "objection")
STATUS_BY_REASON = {
    "missing_header": 401,
    "bad_signature": 401,
    "bad_timestamp": 400,
    "too_old": 400,
    "too_new": 400,
    "replayed": 409,
}


@dataclass
class ReceivedWebhook:
    msg_id: str
    timestamp: int
    payload: dict[str, Any]


@dataclass
class DrpRequest:
    request_id: str
    exercise: str
    identity: dict[str, str]
    reference: str
    received_at: float
    status: str = "open"
    polls: int = 0


@dataclass
class PartnerState:
    """What the reference partner saw and did; tests and the demo read it."""

    desk_base_url: str
    client_id: str
    client_secret: str
    webhook_secrets: list[str]
    auto_answer: bool
    api_token: str | None
    unknown_emails: frozenset[str]
    webhooks: list[ReceivedWebhook] = field(default_factory=list)
    # webhook-id → timestamps seen: a new timestamp is the desk retrying, the same is a replay.
    seen: dict[str, set[int]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Each "retry later" the desk answered (429, 503, 5xx, lost connection), as it happened.
    retries: list[str] = field(default_factory=list)
    requests: dict[str, DrpRequest] = field(default_factory=dict)
    token: str | None = None
    token_expires: float = 0.0


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _state(request: Request) -> PartnerState:
    state: PartnerState = request.app.state.partner
    return state


def _knows(state: PartnerState, identity: dict[str, Any]) -> bool:
    email = str(identity.get("email") or "").strip().lower()
    return bool(email) and email not in state.unknown_emails


def export_for(identity: dict[str, Any], reference: str) -> bytes:
    """A fictional export, shaped like what a real system would give."""
    return json.dumps(
        {
            "avertissement": "Export fictif produit par le partenaire de référence.",
            "référence_demande": reference,
            "personne": {k: str(v) for k, v in identity.items()},
            "données": {
                "identité": {"nom": "DONNÉE FICTIVE"},
                "coordonnées": {"adresse": "1 rue de l'Exemple, 29200 Brest (fictive)"},
                "consommation": [{"période": "2024-S1", "volume_m3": 21}],
            },
        },
        ensure_ascii=False,
        indent=2,
    ).encode()


# --- webhooks ---------------------------------------------------------------------------


def outcome_for(kind: str, data: dict[str, Any], *, known: bool) -> dict[str, Any]:
    """The answer this partner gives to a delivery received by webhook."""
    declarations = [d for d in data.get("declarations") or [] if isinstance(d, dict)]
    categories: list[str] = []
    recipients: list[str] = []
    for d in declarations:
        for c in d.get("data_categories") or []:
            if isinstance(c, str) and c not in categories:
                categories.append(c)
        for r in d.get("recipients") or []:
            if isinstance(r, str) and r not in recipients:
                recipients.append(r)
    categories = categories or list(CATEGORIES)
    if kind == "discovery":
        if not known:
            return {"holds_data": False}
        codes = [str(d.get("code")) for d in declarations if d.get("code")]
        return {"holds_data": True, "declarations": codes, "categories": categories}
    if kind == "access":
        return {"holds_data": known}
    if kind == "erasure":
        if not known:
            return {"result": "nothing_held"}
        return {
            "result": "erased",
            "erased_categories": categories,
            "recipients_notified": recipients,
            "note": "Effacé par le système de référence.",
        }
    return {"result": "stopped" if known else "nothing_held"}


async def receive_webhook(request: Request) -> Response:
    state = _state(request)
    body = await _body(request)
    if body is None:
        return _error(413, "too_large", "Message trop volumineux.")
    try:
        verify(state.webhook_secrets, request.headers, body, now=time.time())
        msg_id = request.headers["webhook-id"]
        timestamp = int(request.headers["webhook-timestamp"])
        if timestamp in state.seen.get(msg_id, set()):
            raise WebhookVerificationError("replayed", "Message déjà reçu : rejeu refusé.")
    except WebhookVerificationError as exc:
        state.rejected.append(exc.reason)
        return _error(STATUS_BY_REASON.get(exc.reason, 400), exc.reason, exc.message)
    first_time = msg_id not in state.seen
    state.seen.setdefault(msg_id, set()).add(timestamp)
    if not first_time:
        # The desk retried (our 2xx was lost): already handled, say so without doing it again.
        return Response(status_code=204)
    try:
        payload = json.loads(body)
    except ValueError:
        return _error(400, "invalid", "Le corps du message n'est pas du JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return _error(400, "invalid", "Le message ne contient pas de champ « data ».")
    state.webhooks.append(ReceivedWebhook(msg_id=msg_id, timestamp=timestamp, payload=payload))
    task = BackgroundTask(answer_delivery, state, msg_id, payload["data"])
    return Response(status_code=204, background=task if state.auto_answer else None)


class _RetryLater(Exception):
    def __init__(self, status: int, wait: float) -> None:
        super().__init__(f"desk answered {status}")
        self.status = status
        self.wait = wait


def _backoff(attempt: int) -> float:
    """Full jitter: a random wait up to base * 2**attempt, capped."""
    return random.uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt))


def retry_wait(response: httpx.Response, attempt: int) -> float | None:
    """How long to wait before trying again, or None when this answer is final."""
    if response.status_code in (429, 503):
        raw = response.headers.get("retry-after", "")
        if raw.isascii() and raw.isdigit():
            return min(float(raw), RETRY_AFTER_MAX) + random.uniform(0, BACKOFF_BASE)
        return _backoff(attempt)
    if response.status_code >= 500:
        return _backoff(attempt)
    return None


async def _token(state: PartnerState, client: httpx.AsyncClient, *, fresh: bool = False) -> str:
    if state.token and not fresh and time.time() < state.token_expires - 30:
        return state.token
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": state.client_id,
            "client_secret": state.client_secret,
        },
    )
    wait = retry_wait(response, 0)
    if wait is not None:
        raise _RetryLater(response.status_code, wait)
    response.raise_for_status()
    data = response.json()
    state.token = str(data["access_token"])
    state.token_expires = time.time() + float(data.get("expires_in", 300))
    return state.token


async def _post_answer(
    state: PartnerState,
    client: httpx.AsyncClient,
    *,
    msg_id: str,
    delivery_id: int,
    outcome: dict[str, Any],
    copy: bytes | None,
) -> httpx.Response:
    """One fulfil, retried as the partner API asks; the last answer (or raises on transport)."""
    fresh_token = False
    for attempt in range(ANSWER_ATTEMPTS):
        try:
            token = await _token(state, client, fresh=fresh_token)
            headers = {"authorization": f"Bearer {token}", "idempotency-key": f"{msg_id}-fulfil"}
            path = f"/api/v1/deliveries/{delivery_id}/fulfil"
            if copy is not None:
                response = await client.post(
                    path,
                    headers=headers,
                    data={"outcome": json.dumps(outcome)},
                    files={"copy": (f"export-{delivery_id}.json", copy, "application/json")},
                )
            else:
                response = await client.post(path, headers=headers, json={"outcome": outcome})
        except _RetryLater as busy:
            log.warning("the desk answered %s to a token request: retrying", busy.status)
            state.retries.append(f"token {busy.status}")
            await asyncio.sleep(busy.wait)
            continue
        except httpx.TransportError as exc:
            if attempt == ANSWER_ATTEMPTS - 1:
                raise
            log.warning("delivery %s: %s, retrying", delivery_id, type(exc).__name__)
            state.retries.append(type(exc).__name__)
            await asyncio.sleep(_backoff(attempt))
            continue
        if response.status_code == 401 and not fresh_token:
            fresh_token = True
            continue
        wait = retry_wait(response, attempt)
        if wait is None or attempt == ANSWER_ATTEMPTS - 1:
            return response
        log.warning(
            "delivery %s: the desk answered %s, retrying", delivery_id, response.status_code
        )
        state.retries.append(f"fulfil {response.status_code}")
        await asyncio.sleep(wait)
    raise RuntimeError("the desk kept asking to retry later")


async def answer_delivery(state: PartnerState, msg_id: str, data: dict[str, Any]) -> None:
    """Fulfil a delivery through the desk's partner API; never raises (a background task)."""
    try:
        delivery_id = int(data["delivery_id"])
        kind = str(data.get("kind") or "")
        identifiers = data.get("identifiers") if isinstance(data.get("identifiers"), dict) else {}
        known = _knows(state, identifiers or {})
        outcome = outcome_for(kind, data, known=known)
        copy = None
        if kind == "access" and known:
            copy = export_for(identifiers or {}, str(data.get("reference") or ""))
        async with httpx.AsyncClient(
            base_url=state.desk_base_url, timeout=15, verify=tls_context()
        ) as client:
            response = await _post_answer(
                state, client, msg_id=msg_id, delivery_id=delivery_id, outcome=outcome, copy=copy
            )
        state.answers.append(
            {
                "delivery_id": delivery_id,
                "action": "fulfil",
                "status": response.status_code,
                "body": response.text[:1000],
            }
        )
        if response.status_code >= 300:
            state.errors.append(f"fulfil {delivery_id}: {response.status_code}")
    except Exception as exc:  # a background task has nobody to report to but the log
        log.exception("reference partner could not answer")
        state.errors.append(f"{type(exc).__name__}: {exc}")


# --- Data Rights Protocol–style API ------------------------------------------------------


def _authorised(state: PartnerState, request: Request) -> bool:
    if state.api_token is None:
        return True
    return request.headers.get("authorization", "") == f"Bearer {state.api_token}"


def _view(item: DrpRequest, state: PartnerState) -> dict[str, Any]:
    view: dict[str, Any] = {
        "request_id": item.request_id,
        "status": item.status,
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(item.received_at)),
    }
    if item.status == "denied":
        view["reason"] = "no_match"
        view["processing_details"] = "Aucune personne ne correspond à cet identifiant chez nous."
    if item.status == "fulfilled":
        view["processing_details"] = "Traité par le système de référence."
        view["result"] = _result(item, state)
    return view


def _result(item: DrpRequest, state: PartnerState) -> dict[str, Any]:
    if item.exercise == "access:categories":
        return {"holds_data": True, "declarations": ["abonnes"], "categories": list(CATEGORIES)}
    if item.exercise == "access":
        export = export_for(item.identity, item.reference)
        return {
            "holds_data": True,
            "copy": {
                "filename": f"export-{item.request_id}.json",
                "content_type": "application/json",
                "content_base64": base64.b64encode(export).decode(),
            },
        }
    if item.exercise == "deletion":
        return {
            "result": "erased",
            "erased_categories": list(CATEGORIES),
            "recipients_notified": list(RECIPIENTS),
        }
    return {"result": "stopped"}


async def create_request(request: Request) -> Response:
    state = _state(request)
    if not _authorised(state, request):
        return _error(401, "unauthorized", "Jeton d'accès manquant ou invalide.")
    body = await _body(request)
    if body is None:
        return _error(413, "too_large", "Demande trop volumineuse.")
    try:
        data = json.loads(body)
    except ValueError:
        return _error(400, "invalid", "Le corps de la demande n'est pas du JSON.")
    if not isinstance(data, dict):
        return _error(400, "invalid", "La demande doit être un objet JSON.")
    exercise = data.get("exercise")
    identity = data.get("identity")
    if (
        not isinstance(exercise, list)
        or len(exercise) != 1
        or exercise[0] not in EXERCISES
        or not isinstance(identity, dict)
    ):
        return _error(
            400,
            "invalid",
            "Indiquez un seul droit (exercise) parmi access, access:categories, deletion, "
            "objection, et l'identité de la personne (identity).",
        )
    key = request.headers.get("idempotency-key") or str(data.get("request_id") or "")
    if key and key in state.requests:
        return JSONResponse(_view(state.requests[key], state), status_code=200)
    item = DrpRequest(
        request_id=key or uuid.uuid4().hex,
        exercise=str(exercise[0]),
        identity={str(k): str(v) for k, v in identity.items()},
        reference=str(data.get("reference") or ""),
        received_at=time.time(),
    )
    if not _knows(state, item.identity):
        item.status = "denied"
    state.requests[item.request_id] = item
    return JSONResponse(_view(item, state), status_code=201)


async def request_status(request: Request) -> Response:
    state = _state(request)
    if not _authorised(state, request):
        return _error(401, "unauthorized", "Jeton d'accès manquant ou invalide.")
    item = state.requests.get(request.path_params["request_id"])
    if item is None:
        return _error(404, "not_found", "Demande inconnue.")
    item.polls += 1
    if item.status == "open":
        item.status = "in_progress"
        view = _view(item, state)
        # Done by the next time anyone asks.
        item.status = "fulfilled"
        return JSONResponse(view)
    return JSONResponse(_view(item, state))


def create_reference_partner(
    *,
    desk_base_url: str,
    client_id: str,
    client_secret: str,
    webhook_secrets: Sequence[str],
    auto_answer: bool = True,
    api_token: str | None = None,
    unknown_emails: Iterable[str] = (),
) -> Starlette:
    """The reference partner app; its record of what happened is `app.state.partner`."""
    app = Starlette(
        routes=[
            Route("/webhooks/desk", receive_webhook, methods=["POST"]),
            Route("/v1/data-rights-request", create_request, methods=["POST"]),
            Route("/v1/data-rights-request/{request_id}", request_status, methods=["GET"]),
        ]
    )
    app.state.partner = PartnerState(
        desk_base_url=desk_base_url.rstrip("/"),
        client_id=client_id,
        client_secret=client_secret,
        webhook_secrets=list(webhook_secrets),
        auto_answer=auto_answer,
        api_token=api_token,
        unknown_emails=frozenset(e.strip().lower() for e in unknown_emails),
    )
    return app


# --- serving, for tests, benchmarks and the command line ---------------------------------


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _server(app: Any, lifespan: Lifespan) -> uvicorn.Server:
    config = uvicorn.Config(
        app, lifespan=lifespan, log_level="warning", timeout_graceful_shutdown=2
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, lifespan: Lifespan = "auto"
) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread (its own event loop); yields its URL."""
    sock = _bind(host, port)
    server = _server(app, lifespan)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.asynccontextmanager
async def serving(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, lifespan: Lifespan = "off"
) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in the running event loop; yields its URL.

    For an app whose lifespan already runs in this loop (its database is bound to this loop).
    """
    sock = _bind(host, port)
    server = _server(app, lifespan)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the server did not start")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
        sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="desk partner-sim",
        description="Partenaire de référence : reçoit les webhooks du guichet, y répond par son "
        "API, et sert une API de droits (style Data Rights Protocol) pour l'adaptateur rest.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--desk-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    parser.add_argument(
        "--webhook-secret",
        action="append",
        default=[],
        help="secret whsec_… (deux fois pendant un changement de secret)",
    )
    parser.add_argument("--api-token", default=None, help="jeton exigé sur l'API de droits")
    parser.add_argument("--no-auto-answer", action="store_true")
    args = parser.parse_args(argv)
    secrets = list(args.webhook_secret)
    if not secrets:
        secrets = [new_secret()]
        print(f"Secret de signature des webhooks (à saisir côté guichet) : {secrets[0]}")
    app = create_reference_partner(
        desk_base_url=args.desk_url,
        client_id=args.client_id,
        client_secret=args.client_secret,
        webhook_secrets=secrets,
        auto_answer=not args.no_auto_answer and bool(args.client_id),
        api_token=args.api_token,
    )
    print(
        f"Partenaire de référence sur http://{args.host}:{args.port} "
        f"(webhooks : /webhooks/desk ; API de droits : /v1/data-rights-request)"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
