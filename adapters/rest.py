"""The REST channel: the partner's own rights API, in the style of the Data Rights Protocol.

Settings: {"base_url": "https://...", "token": "<bearer token>", "poll_interval": 3600,
"timeout": 15}. The desk decrypts the token before handing it over.

deliver() creates the request, with the envelope's idempotency key as `request_id` and as the
`Idempotency-Key` header, so a retry never creates a second request:

    POST {base_url}/v1/data-rights-request
    {"regime": "gdpr", "exercise": ["deletion"], "identity": {"email": "..."},
     "request_id": "delivery-42", "status_callback": null, "reference": "...",
     "due_at": "2025-01-31T10:00:00Z"}
    → 200/201/202 {"request_id": "...", "status": "open"}

Our kinds map to DRP `exercise` values: discovery → "access:categories" (which categories are
held, no copy), access → "access", erasure → "deletion", objection → "objection" (not in DRP,
whose only objection is California's "sale:opt-out"; partners implementing this profile accept
it).

poll() asks GET {base_url}/v1/data-rights-request/{request_id}. The answer this profile expects:

    {"request_id": "...", "status": "open|in_progress|fulfilled|denied|expired|revoked",
     "reason": "no_match",                     # when denied (DRP vocabulary)
     "processing_details": "free text",        # shown to the resident as the partner's note
     "result": {...}}                          # when fulfilled, by kind:
        discovery: {"holds_data": true, "declarations": ["code"], "categories": ["..."]}
        access:    {"holds_data": true, "copy": {"filename": "export.json",
                    "content_type": "application/json", "content_base64": "..."}}
        erasure:   {"result": "erased|nothing_held|partial", "erased_categories": [...],
                    "kept": [{"category", "legal_basis", "retention"}],
                    "recipients_notified": [...]}
        objection: {"result": "stopped|nothing_held"}

open/in_progress → acknowledge (once, while the delivery is still "sent"); fulfilled → fulfil;
denied → deny with the reason mapped onto ours; expired/revoked → deny, reason "other".
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from adapters.base import (
    AdapterContext,
    AdapterError,
    Answer,
    AnswerFile,
    Dispatch,
    Envelope,
    PermanentAdapterError,
)
from adapters.network import Network
from adapters.settings import SettingsError, check_seconds, check_token, check_url
from adapters.webhook import USER_AGENT, http_client, raise_for_status, rfc3339
from desk.adapters_sdk import N_

log = logging.getLogger("adapters.rest")

DEFAULT_POLL_INTERVAL = 3600.0
DEFAULT_TIMEOUT = 15.0
# Room for an access copy (the desk accepts 10 MB) once base64 has grown it by a third.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
REQUEST_PATH = "/v1/data-rights-request"

EXERCISE_BY_KIND = {
    "discovery": "access:categories",
    "access": "access",
    "erasure": "deletion",
    "objection": "objection",
}

OPEN_STATUSES = frozenset({"open", "in_progress"})
FINAL_STATUSES = frozenset({"fulfilled", "denied", "expired", "revoked"})

# DRP denial reasons onto the desk's (desk.requests.states.DENIAL_REASONS).
DENIAL_REASON_MAP = {
    "no_match": "no_match",
    "insuf_verification": "insuf_verification",
    "need_user_verification": "insuf_verification",
    "suspected_fraud": "insuf_verification",
    "claim_not_covered": "claim_not_covered",
    "outside_jurisdiction": "claim_not_covered",
    "legal_obligation": "legal_obligation",
    "too_many_requests": "other",
}

CLOSED_DETAIL = {
    "expired": N_("Le partenaire a clos la demande sans y répondre (délai expiré de son côté)."),
    "revoked": N_("Le partenaire indique que la demande a été retirée."),
}


def request_id_of(envelope: Envelope) -> str:
    """The partner's id for this delivery: its own reference if the desk kept it, else ours."""
    reference = getattr(envelope, "dispatch_reference", None)
    return reference if isinstance(reference, str) and reference else envelope.idempotency_key


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _copy(value: Any) -> AnswerFile | None:
    if not isinstance(value, dict):
        return None
    try:
        content = base64.b64decode(str(value.get("content_base64") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PermanentAdapterError("partner copy is not valid base64") from exc
    if not content:
        return None
    return AnswerFile(
        filename=str(value.get("filename") or "export.json")[:200],
        content_type=str(value.get("content_type") or "application/json")[:100],
        content=content,
    )


def answer_from_status(envelope: Envelope, body: dict[str, Any]) -> Answer | None:
    """The state-machine action a DRP status means for this delivery, or None (nothing new)."""
    status = str(body.get("status") or "")
    note = str(body.get("processing_details") or "").strip()[:2000]
    if status in OPEN_STATUSES:
        if envelope.state == "sent":
            return Answer(action="acknowledge", final=False)
        return None
    if status == "denied":
        reason = DENIAL_REASON_MAP.get(str(body.get("reason") or ""), "other")
        return Answer(action="deny", reason=reason, detail=note or None)
    if status in CLOSED_DETAIL:
        return Answer(action="deny", reason="other", detail=note or CLOSED_DETAIL[status])
    if status != "fulfilled":
        log.warning("delivery %s: unknown partner status %r", envelope.delivery_id, status[:40])
        return None
    result = body.get("result")
    result = result if isinstance(result, dict) else {}
    file: AnswerFile | None = None
    if envelope.kind == "discovery":
        declarations = _strings(result.get("declarations"))
        categories = _strings(result.get("categories"))
        holds = result.get("holds_data")
        outcome: dict[str, Any] = {
            "holds_data": holds if isinstance(holds, bool) else bool(declarations or categories),
            "declarations": declarations,
            "categories": categories,
        }
    elif envelope.kind == "access":
        file = _copy(result.get("copy"))
        holds = result.get("holds_data")
        outcome = {"holds_data": holds if isinstance(holds, bool) else file is not None}
        if outcome["holds_data"] and file is None:
            raise AdapterError("partner fulfilled an access request without a copy")
    elif envelope.kind == "erasure":
        erased = _strings(result.get("erased_categories"))
        kept = [k for k in result.get("kept") or [] if isinstance(k, dict)]
        default = "partial" if kept else ("erased" if erased else "nothing_held")
        outcome = {
            "result": result.get("result") or default,
            "erased_categories": erased,
            "kept": kept,
            "recipients_notified": _strings(result.get("recipients_notified")),
        }
    else:
        outcome = {"result": result.get("result") or "stopped"}
    if note:
        outcome["note"] = note
    return Answer(action="fulfil", outcome=outcome, file=file)


async def _read_json(response: httpx.Response, *, what: str) -> dict[str, Any]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise PermanentAdapterError(f"{what}: partner answer larger than 16 MB")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except ValueError as exc:
        raise PermanentAdapterError(f"{what}: partner answer is not JSON") from exc
    if not isinstance(data, dict):
        raise PermanentAdapterError(f"{what}: partner answer is not a JSON object")
    return data


class RestAdapter:
    kind: ClassVar[str] = "rest"
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("token",)

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    @classmethod
    def validate_settings(
        cls, settings: dict[str, Any], *, allowed_networks: tuple[Network, ...] = ()
    ) -> dict[str, Any]:
        """Cleaned settings, or SettingsError (a ValueError) with a French message."""
        if not isinstance(settings, dict):
            settings = {}
        return {
            "base_url": check_url(settings.get("base_url"), allowed=allowed_networks).rstrip("/"),
            "token": check_token(settings.get("token")),
            "poll_interval": check_seconds(
                settings.get("poll_interval"),
                field=N_("intervalle entre deux interrogations"),
                default=DEFAULT_POLL_INTERVAL,
                minimum=0,
                maximum=7 * 24 * 3600,
            ),
            "timeout": check_seconds(
                settings.get("timeout"),
                field=N_("délai d'attente"),
                default=DEFAULT_TIMEOUT,
                minimum=0.1,
                maximum=60,
            ),
        }

    def _settings(self) -> dict[str, Any]:
        token = self.context.settings.get("token")
        if isinstance(token, str) and token.startswith("enc:"):
            raise PermanentAdapterError("rest token reached the adapter still encrypted")
        try:
            return self.validate_settings(
                dict(self.context.settings), allowed_networks=self.context.allowed_networks
            )
        except SettingsError as exc:
            raise PermanentAdapterError(f"rest settings invalid: {exc}") from exc

    async def _call(
        self,
        settings: dict[str, Any],
        method: str,
        url: str,
        *,
        what: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {
            "accept": "application/json",
            "authorization": f"Bearer {settings['token']}",
            "user-agent": USER_AGENT,
        }
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        content = None
        if body is not None:
            headers["content-type"] = "application/json"
            content = json.dumps(body, ensure_ascii=False).encode()
        deadline = float(settings["timeout"])
        try:
            async with asyncio.timeout(deadline):
                async with http_client(deadline, self.context.allowed_networks) as client:
                    async with client.stream(
                        method, url, content=content, headers=headers
                    ) as response:
                        if response.status_code == 404 and method == "GET":
                            raise PermanentAdapterError(f"{what}: partner does not know it (404)")
                        raise_for_status(response, what=what)
                        return await _read_json(response, what=what)
        except TimeoutError as exc:
            raise AdapterError(f"{what}: no answer within {deadline:g} s") from exc
        except httpx.HTTPError as exc:
            raise AdapterError(f"{what}: {type(exc).__name__}") from exc

    async def deliver(self, envelope: Envelope) -> Dispatch:
        settings = self._settings()
        exercise = EXERCISE_BY_KIND.get(envelope.kind)
        if exercise is None:
            raise PermanentAdapterError(f"rest adapter cannot carry kind {envelope.kind!r}")
        what = f"rest request for delivery {envelope.delivery_id}"
        data = await self._call(
            settings,
            "POST",
            settings["base_url"] + REQUEST_PATH,
            what=what,
            body={
                "regime": "gdpr",
                "exercise": [exercise],
                "identity": dict(envelope.identifiers),
                "request_id": envelope.idempotency_key,
                "status_callback": None,
                "reference": envelope.request_reference,
                "due_at": rfc3339(envelope.due_at),
            },
            idempotency_key=envelope.idempotency_key,
        )
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id.strip():
            raise PermanentAdapterError(f"{what}: partner answer has no request_id")
        status = str(data.get("status") or "open")
        log.info(
            "delivery %s created at signatory %s (%s)",
            envelope.delivery_id,
            envelope.signatory_slug,
            status[:40],
        )
        # An answer already final is fetched at once rather than after the usual interval.
        poll_after = 0.0 if status in FINAL_STATUSES else float(settings["poll_interval"])
        return Dispatch(reference=request_id.strip()[:200], poll_after=poll_after)

    async def poll(self, envelope: Envelope) -> Answer | None:
        settings = self._settings()
        request_id = request_id_of(envelope)
        data = await self._call(
            settings,
            "GET",
            f"{settings['base_url']}{REQUEST_PATH}/{quote(request_id, safe='')}",
            what=f"rest status of delivery {envelope.delivery_id}",
        )
        return answer_from_status(envelope, data)
