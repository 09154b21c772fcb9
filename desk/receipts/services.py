"""Issuing receipts: a compact JWS per final answer, committed with the answer itself.

A receipt takes no position in any global sequence when it is issued: two answers at the
same instant never contend. The receipt's own outbox job asks the log's sequencer
(desk.receipts.log) to append it to the public Merkle log, in a batch, shortly after.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.core import clock
from desk.outbox.services import enqueue_new
from desk.receipts.keys import Keyring
from desk.receipts.log import APPEND_JOB, leaf_of
from desk.receipts.models import Receipt
from desk.requests.models import Delivery
from desk.requests.states import DPV_STATUS

_LISTED_SEPARATELY = ("erased_categories", "kept", "recipients_notified")


def digest(jws_compact: str) -> str:
    return hashlib.sha256(jws_compact.encode("ascii")).hexdigest()


def receipt_subject(*, pseudonym: str, receipt_id: str) -> str:
    """A pseudonym for one receipt only.

    The same subject on all of a person's receipts let one receipt lead to their others.
    Keyed by the resident's secret pseudonym (never published), it links nothing for anyone
    else, while the desk can still tell whose receipt it is.
    """
    mac = hmac.new(pseudonym.encode(), f"receipt-subject:{receipt_id}".encode(), "sha256")
    return mac.hexdigest()[:32]


def receipt_payload(*, receipt_id: str, delivery: Delivery, issuer: str) -> dict[str, Any]:
    request = delivery.request
    outcome = delivery.outcome or {}
    payload: dict[str, Any] = {
        "iss": issuer,
        "jti": receipt_id,
        "iat": int(clock.now().timestamp()),
        "request": request.reference,
        "delivery": delivery.id,
        "signatory": {"slug": delivery.signatory.slug, "name": delivery.signatory.name},
        "subject": receipt_subject(pseudonym=request.resident.pseudonym, receipt_id=receipt_id),
        "kind": request.kind.value,
        "status": DPV_STATUS[delivery.state],
        "state": delivery.state.value,
        # Listed once, below: a shorter token still fits in a QR code on paper.
        "outcome": {k: v for k, v in outcome.items() if k not in _LISTED_SEPARATELY},
        "denial_reason": delivery.denial_reason,
        "erased_categories": outcome.get("erased_categories", []),
        "kept": outcome.get("kept", []),
        "recipients_notified": outcome.get("recipients_notified", []),
        "received_at": delivery.received_at.isoformat(),
        "completed_at": delivery.completed_at.isoformat() if delivery.completed_at else None,
    }
    if request.scope:
        # An objection or a consent withdrawal for one purpose: the receipt names it.
        payload["scope"] = {
            "declaration": str(request.scope.get("declaration", "")),
            "title": str(request.scope.get("title", "")),
            "ground": "consent_withdrawal" if request.consent_withdrawal else "objection",
        }
    return payload


async def issue_receipt(
    *, delivery: Delivery, keyring: Keyring, issuer: str, connection: BaseDBAsyncClient
) -> Receipt:
    """Sign and store the receipt of a delivery's final answer, inside the caller's transaction.

    The delivery must have `request__resident` and `signatory` fetched.
    """
    receipt_id = uuid.uuid4().hex
    payload = receipt_payload(receipt_id=receipt_id, delivery=delivery, issuer=issuer)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    token = keyring.sign(body)
    receipt = await Receipt.create(
        id=receipt_id,
        delivery_id=delivery.id,
        jws=token,
        digest=digest(token),
        leaf_hash=leaf_of(token).hex(),
        issued_at=clock.now(),
        using_db=connection,
    )
    await enqueue_new(
        kind=APPEND_JOB,
        jobs=[(f"receipt-log-{receipt_id}", {"receipt_id": receipt_id})],
        connection=connection,
    )
    return receipt
