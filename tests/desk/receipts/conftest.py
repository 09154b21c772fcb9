"""Real receipts for these tests: requests filed and fulfilled through the request services."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette

from desk.receipts.models import Receipt
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.residents.models import Resident
from tests.factories import make_resident, make_signatory

ERASED = {
    "result": "partial",
    "erased_categories": ["coordonnées", "historique de consommation"],
    "kept": [
        {
            "category": "factures",
            "legal_basis": "obligation comptable (Code de commerce, art. L123-22)",
            "retention": "10 ans",
        }
    ],
    "recipients_notified": ["Trésor public"],
    "note": "",
}


async def fulfil_all(
    app: Starlette,
    *,
    slugs: list[str],
    kind: RequestKind = RequestKind.ERASURE,
    outcome: dict[str, Any] | None = None,
    resident: Resident | None = None,
) -> list[Receipt]:
    """One request to several new signatories, each answering in turn: one receipt per answer."""
    runtime = app.state.runtime
    resident = resident or await make_resident(f"r-{secrets.token_hex(4)}@exemple.invalid")
    signatories = [await make_signatory(slug) for slug in slugs]
    request = await file_request(
        resident_id=resident.id, kind=kind, signatory_ids=[s.id for s in signatories]
    )
    receipts = []
    for delivery in await Delivery.filter(request_id=request.id).order_by("id"):
        await transitions.fulfil(
            delivery_id=delivery.id,
            actor="partner",
            keyring=runtime.keyring,
            issuer=runtime.issuer,
            outcome=outcome if outcome is not None else ERASED,
        )
        receipts.append(await Receipt.get(delivery_id=delivery.id))
    return receipts


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def tamper(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """Change the signed content but keep the original header and signature."""
    header, payload, signature = token.split(".")
    data = json.loads(unb64(payload))
    change(data)
    return f"{header}.{b64(json.dumps(data).encode())}.{signature}"
