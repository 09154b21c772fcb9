"""The reference partner's webhook face: it receives the desk's Standard Webhooks, checks them
(signature, stale timestamps, replays) and answers through the desk's partner API, retrying as
that API asks (Retry-After, backoff with jitter, the same Idempotency-Key).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from adapters.webhook import tls_context
from desk.demo.reference_state import (
    CATEGORIES,
    PartnerState,
    ReceivedWebhook,
    error_response,
    export_for,
    knows,
    partner_state,
    read_body,
)
from desk.partners.webhooks import WebhookVerificationError, verify

log = logging.getLogger("desk.demo.reference_partner")

# How a partner should answer the desk (README, "Partner API"): 429 and 503 are retried after
# their Retry-After, other 5xx and lost connections with exponential backoff and jitter, always
# with the same Idempotency-Key, so a retry never answers twice.
ANSWER_ATTEMPTS = 8
BACKOFF_BASE = 0.5
BACKOFF_MAX = 15.0
RETRY_AFTER_MAX = 60.0
STATUS_BY_REASON = {
    "missing_header": 401,
    "bad_signature": 401,
    "bad_timestamp": 400,
    "too_old": 400,
    "too_new": 400,
    "replayed": 409,
}


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
    state = partner_state(request)
    body = await read_body(request)
    if body is None:
        return error_response(413, "too_large", "Message trop volumineux.")
    try:
        verify(state.webhook_secrets, request.headers, body, now=time.time())
        msg_id = request.headers["webhook-id"]
        timestamp = int(request.headers["webhook-timestamp"])
        if timestamp in state.seen.get(msg_id, set()):
            raise WebhookVerificationError("replayed", "Message déjà reçu : rejeu refusé.")
    except WebhookVerificationError as exc:
        state.rejected.append(exc.reason)
        return error_response(STATUS_BY_REASON.get(exc.reason, 400), exc.reason, exc.message)
    first_time = msg_id not in state.seen
    state.seen.setdefault(msg_id, set()).add(timestamp)
    if not first_time:
        # The desk retried (our 2xx was lost): already handled, say so without doing it again.
        return Response(status_code=204)
    try:
        payload = json.loads(body)
    except ValueError:
        return error_response(400, "invalid", "Le corps du message n'est pas du JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return error_response(400, "invalid", "Le message ne contient pas de champ « data ».")
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
    stale = state.token
    if stale and not fresh and time.time() < state.token_expires - 30:
        return stale
    async with state.token_lock:
        # Another answer may have brought a new token while this one waited.
        if state.token and state.token != stale and time.time() < state.token_expires - 30:
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


def desk_client(state: PartnerState) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=state.desk_base_url, timeout=15, verify=tls_context())


async def answer_delivery(state: PartnerState, msg_id: str, data: dict[str, Any]) -> None:
    """Fulfil a delivery through the desk's partner API; never raises (a background task)."""
    try:
        delivery_id = int(data["delivery_id"])
        kind = str(data.get("kind") or "")
        identifiers = data.get("identifiers") if isinstance(data.get("identifiers"), dict) else {}
        known = knows(state, identifiers or {})
        outcome = outcome_for(kind, data, known=known)
        copy = None
        if kind == "access" and known:
            copy = export_for(identifiers or {}, str(data.get("reference") or ""))
        async with contextlib.AsyncExitStack() as stack:
            client = state.desk_client
            if client is None:
                client = await stack.enter_async_context(desk_client(state))
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
