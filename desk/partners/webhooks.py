"""Standard Webhooks signing and verification (https://www.standardwebhooks.com).

A message is signed with HMAC-SHA256 over `"{webhook-id}.{webhook-timestamp}.{body}"`; the
`webhook-signature` header lists one `v1,<base64>` entry per active secret, so a receiver can
switch to a new secret while the old one still works (rotation). Secrets read `whsec_<base64>`.

Shared by the webhook adapter (which signs) and the reference partner (which verifies).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from secrets import token_bytes

SECRET_PREFIX = "whsec_"
VERSION = "v1"
TOLERANCE = 300  # seconds either side of "now", as the specification recommends
SECRET_BYTES = 32


class WebhookVerificationError(Exception):
    """A message that must be refused; `reason` says why, in one stable word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # missing_header | bad_timestamp | too_old | too_new | ...
        self.message = message


def new_secret() -> str:
    """A fresh random secret, `whsec_` followed by 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_...` secret (the prefix is optional, as in the spec)."""
    raw = secret.strip()
    if raw.startswith(SECRET_PREFIX):
        raw = raw[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the webhook secret is not valid base64") from exc
    if len(key) < 16:
        raise ValueError("the webhook secret is too short (16 bytes at least)")
    return key


def is_valid_secret(secret: object) -> bool:
    if not isinstance(secret, str) or not secret.strip().startswith(SECRET_PREFIX):
        return False
    try:
        secret_key(secret)
    except ValueError:
        return False
    return True


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` header value: one `v1,<sig>` per secret, space-separated."""
    data = _as_bytes(body)
    parts = [
        f"{VERSION},{_signature(secret_key(s), msg_id, int(timestamp), data)}" for s in secrets
    ]
    if not parts:
        raise ValueError("at least one webhook secret is needed to sign")
    return " ".join(parts)


def signed_headers(
    secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes | str
) -> dict[str, str]:
    """The three Standard Webhooks headers for one message."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
    }


def _unix(now: datetime | float) -> float:
    return now.timestamp() if isinstance(now, datetime) else float(now)


def verify(
    secret_list: Iterable[str],
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    now: datetime | float,
    tolerance: int = TOLERANCE,
    seen_ids: set[str] | None = None,
) -> None:
    """Accept the message or raise WebhookVerificationError.

    Refused: a missing header, a timestamp more than `tolerance` seconds away from `now`,
    no signature matching any of the secrets, or (when `seen_ids` is given) a webhook-id
    already accepted. An accepted id is added to `seen_ids`.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "").strip()
    raw_timestamp = lowered.get("webhook-timestamp", "").strip()
    raw_signatures = lowered.get("webhook-signature", "").strip()
    if not msg_id or not raw_timestamp or not raw_signatures:
        raise WebhookVerificationError(
            "missing_header",
            "En-tête manquant : webhook-id, webhook-timestamp et webhook-signature sont requis.",
        )
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise WebhookVerificationError(
            "bad_timestamp", "L'en-tête webhook-timestamp doit être un nombre de secondes."
        ) from None
    moment = _unix(now)
    if timestamp < moment - tolerance:
        raise WebhookVerificationError(
            "too_old", "Message trop ancien (plus de 5 minutes) : refusé pour éviter un rejeu."
        )
    if timestamp > moment + tolerance:
        raise WebhookVerificationError(
            "too_new", "Horodatage dans le futur (plus de 5 minutes) : vérifiez l'horloge."
        )
    data = _as_bytes(body)
    offered = []
    for part in raw_signatures.split():
        version, _, value = part.partition(",")
        if version == VERSION and value:
            offered.append(value)
    matched = False
    for secret in secret_list:
        try:
            expected = _signature(secret_key(secret), msg_id, timestamp, data)
        except ValueError:
            continue
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            matched = True
            break
    if not matched:
        raise WebhookVerificationError(
            "bad_signature", "Signature invalide : le message ne vient pas du guichet."
        )
    # Only after the signature holds, so a forger cannot fill the set with ids.
    if seen_ids is not None:
        if msg_id in seen_ids:
            raise WebhookVerificationError(
                "replayed", "Message déjà reçu (même webhook-id) : ignoré."
            )
        seen_ids.add(msg_id)
