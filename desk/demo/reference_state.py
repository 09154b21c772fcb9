"""The reference partner's memory and the pieces its two faces share: what it received and
answered (`PartnerState`), reading a bounded body, error answers, who it "knows", and the
fictional export it hands out (see desk.demo.reference_partner).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_BODY = 1024 * 1024
# What the reference partner "holds" about anyone it knows: its own small data model.
CATEGORIES = ["identité", "coordonnées", "consommation"]
RECIPIENTS = ["Trésor public"]


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
    # One token request at a time: answers arriving together share the token it brings (each
    # request costs the desk two scrypt runs).
    token_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The kept-alive client to the desk, open while the app runs (its lifespan); without it,
    # each answer opens its own.
    desk_client: httpx.AsyncClient | None = None


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def read_body(request: Request) -> bytes | None:
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


def partner_state(request: Request) -> PartnerState:
    state: PartnerState = request.app.state.partner
    return state


def knows(state: PartnerState, identity: dict[str, Any]) -> bool:
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
