"""Issuing receipts: a compact JWS per final answer, chained by the previous receipt's hash."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk import clock
from desk.charter.transparency import record_checkpoint
from desk.receipts.keys import Keyring
from desk.receipts.models import Receipt
from desk.requests.models import Delivery
from desk.requests.states import DPV_STATUS

GENESIS = "0" * 64
_LISTED_SEPARATELY = ("erased_categories", "kept", "recipients_notified")


def digest(jws_compact: str) -> str:
    return hashlib.sha256(jws_compact.encode("ascii")).hexdigest()


def receipt_payload(
    *, receipt_id: str, delivery: Delivery, prev: str, issuer: str
) -> dict[str, Any]:
    request = delivery.request
    outcome = delivery.outcome or {}
    return {
        "iss": issuer,
        "jti": receipt_id,
        "iat": int(clock.now().timestamp()),
        "request": request.reference,
        "delivery": delivery.id,
        "signatory": {"slug": delivery.signatory.slug, "name": delivery.signatory.name},
        "subject": request.resident.pseudonym,
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
        "prev": prev,
    }


async def issue_receipt(
    *, delivery: Delivery, keyring: Keyring, issuer: str, connection: BaseDBAsyncClient
) -> Receipt:
    """Sign and store the receipt of a delivery's final answer, inside the caller's transaction.

    The delivery must have `request__resident` and `signatory` fetched. A concurrent issuer
    taking the same sequence number makes this transaction fail on the unique constraint,
    and the caller's transaction is retried as a whole.
    """
    last = (
        await Receipt.all().using_db(connection).order_by("-sequence").select_for_update().first()
    )
    prev = last.digest if last else GENESIS
    sequence = (last.sequence + 1) if last else 1
    receipt_id = uuid.uuid4().hex
    payload = receipt_payload(receipt_id=receipt_id, delivery=delivery, prev=prev, issuer=issuer)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    token = keyring.sign(body)
    receipt = await Receipt.create(
        id=receipt_id,
        sequence=sequence,
        delivery_id=delivery.id,
        jws=token,
        digest=digest(token),
        issued_at=clock.now(),
        using_db=connection,
    )
    # The transparency log's new signed head, in the same transaction: no receipt without it.
    await record_checkpoint(
        keyring=keyring, issuer=issuer, size=sequence, head=receipt.digest, connection=connection
    )
    return receipt
