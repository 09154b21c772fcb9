"""The webhook channel: the envelope POSTed as JSON to the partner, signed per Standard Webhooks.

The partner verifies the signature (desk.partners.webhooks.verify does it for Python), answers
204, then acknowledges and fulfils through the desk's partner API (links in the message).
`webhook-id` is the envelope's idempotency key, the same on every retry, so the partner can
drop a message it already has.

Settings: {"url": "https://...", "secrets": ["whsec_..."], "timeout": 15}. The desk decrypts
the secrets before handing them over; two secrets while the partner rotates give two signatures.

Message body (`type` "delivery.created"; times in RFC 3339, UTC):
    {"type": "delivery.created", "timestamp": "...",
     "data": {"delivery_id", "reference", "kind", "signatory", "identifiers", "received_at",
              "due_at", "answer_url", "idempotency_key", "declarations": [...],
              "links": {"self", "acknowledge", "extend", "need_info", "fulfil", "deny",
                        "token"}}}
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol

import httpx

from adapters import http1
from adapters.base import (
    AdapterContext,
    AdapterError,
    Answer,
    Dispatch,
    Envelope,
    PermanentAdapterError,
    RetryLater,
)
from adapters.network import Network, guarded_client
from adapters.settings import SettingsError, check_seconds, check_secrets, check_url
from desk.adapters_sdk import N_, sign

__all__ = ["RetryLater", "WebhookAdapter", "envelope_payload", "rfc3339"]

log = logging.getLogger("adapters.webhook")

EVENT_TYPE = "delivery.created"
DEFAULT_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
# Whatever a partner asks, come back within a day: the deadline runs for the resident.
MAX_RETRY_AFTER = 24 * 3600.0
RETRYABLE_STATUSES = frozenset({408, 425, 429})
USER_AGENT = "guichet-des-donnees/1 (+webhook)"


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # isoformat, not strftime: three times a message, strftime was 2 % of the worker's time.
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def api_links(base_url: str, delivery_id: int) -> dict[str, str]:
    base = base_url.rstrip("/")
    delivery = f"{base}/api/v1/deliveries/{delivery_id}"
    return {
        "self": delivery,
        "acknowledge": f"{delivery}/acknowledge",
        "extend": f"{delivery}/extend",
        "need_info": f"{delivery}/need-info",
        "fulfil": f"{delivery}/fulfil",
        "deny": f"{delivery}/deny",
        "token": f"{base}/oauth/token",
    }


def envelope_payload(envelope: Envelope, base_url: str) -> dict[str, Any]:
    """The JSON the partner receives (on a retry, only the freshly signed answer_url differs)."""
    received = rfc3339(envelope.received_at)
    return {
        "type": EVENT_TYPE,
        "timestamp": received,
        "data": {
            "delivery_id": envelope.delivery_id,
            "reference": envelope.request_reference,
            "kind": envelope.kind,
            "signatory": envelope.signatory_slug,
            "identifiers": dict(envelope.identifiers),
            "received_at": received,
            "due_at": rfc3339(envelope.due_at),
            "answer_url": envelope.answer_url,
            "idempotency_key": envelope.idempotency_key,
            "declarations": [
                {
                    "code": str(d.get("code") or ""),
                    "title": str(d.get("title") or ""),
                    "data_categories": list(d.get("data_categories") or []),
                    "recipients": list(d.get("recipients") or []),
                }
                for d in envelope.declarations
            ],
            "links": api_links(base_url, envelope.delivery_id),
            # null: the whole organisation; else the one declaration an objection names.
            "scope": dict(envelope.scope) if envelope.scope else None,
        },
    }


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


class _Status(Protocol):
    """What `raise_for_status` reads of a reply (httpx's, or adapters.http1's)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


def raise_for_status(response: _Status, *, what: str) -> None:
    """Sort a partner's HTTP status: fine (2xx), retry later, or give up."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        # A redirect could send a resident's identifiers anywhere: the URL must be fixed instead.
        raise PermanentAdapterError(
            f"{what}: partner answered {status} (redirect); redirects are not followed, "
            "fix the configured URL"
        )
    if status == 410:
        raise PermanentAdapterError(f"{what}: endpoint disabled (410)")
    if status in RETRYABLE_STATUSES or status >= 500:
        wait = retry_after_seconds(response.headers.get("retry-after"))
        if wait is not None:
            raise RetryLater(
                f"{what}: partner answered {status}, retry after {wait:.0f} s", retry_after=wait
            )
        raise AdapterError(f"{what}: partner answered {status}")
    raise PermanentAdapterError(f"{what}: partner refused with status {status}")


def http_timeout(deadline: float) -> httpx.Timeout:
    return httpx.Timeout(deadline, connect=min(CONNECT_TIMEOUT, deadline))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One certificate store per process: loading it costs ~40 ms, once per call otherwise."""
    return httpx.create_ssl_context()


def http_client(deadline: float, allowed: tuple[Network, ...] = ()) -> httpx.AsyncClient:
    """A client for one partner call: redirects never followed, a bounded wait, and only to
    addresses the desk may reach (resolved and checked at the call, then connected to)."""
    return guarded_client(allowed=allowed, timeout=http_timeout(deadline), verify=tls_context())


# A partner's reply body is read (and dropped) up to this size, so its kept-alive connection
# can carry the next message; a longer one is cut, and that connection closed.
MAX_REPLY_BYTES = 64 * 1024


class WebhookAdapter:
    kind: ClassVar[str] = "webhook"
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("secrets",)

    def __init__(self, context: AdapterContext) -> None:
        self.context = context
        # The settings as checked, once per adapter (the worker keeps one per signatory's
        # settings): checking them again at each message was a tenth of a delivery's time.
        self._checked: dict[str, Any] | None = None

    @classmethod
    def validate_settings(
        cls, settings: dict[str, Any], *, allowed_networks: tuple[Network, ...] = ()
    ) -> dict[str, Any]:
        """Cleaned settings, or SettingsError (a ValueError) with a French message."""
        if not isinstance(settings, dict):
            settings = {}
        return {
            "url": check_url(settings.get("url"), allowed=allowed_networks),
            "secrets": check_secrets(settings.get("secrets")),
            "timeout": check_seconds(
                settings.get("timeout"),
                field=N_("délai d'attente"),
                default=DEFAULT_TIMEOUT,
                minimum=0.1,
                maximum=60,
            ),
        }

    def _settings(self) -> dict[str, Any]:
        if self._checked is None:
            self._checked = self._check_settings()
        return self._checked

    def _check_settings(self) -> dict[str, Any]:
        raw = self.context.settings
        secrets = raw.get("secrets")
        if isinstance(secrets, list) and any(
            isinstance(s, str) and s.startswith("enc:") for s in secrets
        ):
            raise PermanentAdapterError("webhook secrets reached the adapter still encrypted")
        try:
            return self.validate_settings(dict(raw), allowed_networks=self.context.allowed_networks)
        except SettingsError as exc:
            raise PermanentAdapterError(f"webhook settings invalid: {exc}") from exc

    async def deliver(self, envelope: Envelope) -> Dispatch:
        settings = self._settings()
        body = json.dumps(
            envelope_payload(envelope, self.context.base_url),
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        msg_id = envelope.idempotency_key
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(settings["secrets"], msg_id, timestamp, body),
        }
        deadline = float(settings["timeout"])
        what = f"webhook for delivery {envelope.delivery_id}"
        pool = http1.pool_for(
            settings["url"], allowed=self.context.allowed_networks, verify=tls_context()
        )
        try:
            async with asyncio.timeout(deadline):
                # Only the status counts; the reply's body is read (bounded) and dropped, so
                # the kept connection can carry the next message.
                response = await pool.post(
                    settings["url"],
                    body=body,
                    headers=headers,
                    connect_timeout=min(CONNECT_TIMEOUT, deadline),
                    max_body=MAX_REPLY_BYTES,
                )
        except TimeoutError as exc:
            raise AdapterError(f"{what}: no answer within {deadline:g} s") from exc
        except httpx.HTTPError as exc:
            raise AdapterError(f"{what}: {type(exc).__name__}") from exc
        raise_for_status(response, what=what)
        status = response.status_code
        # The worker's batch says it at INFO, in one line for all its deliveries.
        log.debug(
            "delivery %s posted to signatory %s (%s)",
            envelope.delivery_id,
            envelope.signatory_slug,
            status,
        )
        return Dispatch(reference=f"webhook:{status}", poll_after=None)

    async def poll(self, envelope: Envelope) -> Answer | None:
        # The partner answers through the desk's API; there is nothing to ask it.
        return None
