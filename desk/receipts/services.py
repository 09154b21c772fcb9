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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.core import clock
from desk.db_rows import insert_rows
from desk.outbox.services import enqueue_new
from desk.receipts.keys import Keyring
from desk.receipts.log import APPEND_JOB, leaf_of
from desk.receipts.models import Receipt
from desk.requests.effects import JobSpec, enqueue_specs
from desk.requests.models import Delivery, DeliveryState
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
    """The statement of a delivery's receipt, from its model (`request__resident` and
    `signatory` fetched)."""
    request = delivery.request
    return statement(
        receipt_id=receipt_id,
        issuer=issuer,
        delivery=Answered(
            delivery_id=delivery.id,
            reference=request.reference,
            slug=delivery.signatory.slug,
            name=delivery.signatory.name,
            pseudonym=request.resident.pseudonym,
            kind=request.kind.value,
            state=delivery.state,
            outcome=delivery.outcome,
            denial_reason=delivery.denial_reason,
            received_at=delivery.received_at,
            completed_at=delivery.completed_at,
            scope=request.scope,
            consent_withdrawal=request.consent_withdrawal,
        ),
    )


@dataclass(frozen=True)
class Answered:
    """What a receipt states about a delivery once answered: its columns, and its request's,
    resident's and signatory's (a model's, or a batch's row: desk.requests.fulfilling)."""

    delivery_id: int
    reference: str
    slug: str
    name: str
    pseudonym: str
    kind: str
    state: DeliveryState
    outcome: dict[str, Any] | None
    denial_reason: str | None
    received_at: datetime
    completed_at: datetime | None
    scope: dict[str, Any] | None
    consent_withdrawal: bool


def statement(*, receipt_id: str, issuer: str, delivery: Answered) -> dict[str, Any]:
    d = delivery
    outcome = d.outcome or {}
    payload: dict[str, Any] = {
        "iss": issuer,
        "jti": receipt_id,
        "iat": int(clock.now().timestamp()),
        "request": d.reference,
        "delivery": d.delivery_id,
        "signatory": {"slug": d.slug, "name": d.name},
        "subject": receipt_subject(pseudonym=d.pseudonym, receipt_id=receipt_id),
        "kind": d.kind,
        "status": DPV_STATUS[d.state],
        "state": d.state.value,
        # Listed once, below: a shorter token still fits in a QR code on paper.
        "outcome": {k: v for k, v in outcome.items() if k not in _LISTED_SEPARATELY},
        "denial_reason": d.denial_reason,
        "erased_categories": outcome.get("erased_categories", []),
        "kept": outcome.get("kept", []),
        "recipients_notified": outcome.get("recipients_notified", []),
        "received_at": d.received_at.isoformat(),
        "completed_at": d.completed_at.isoformat() if d.completed_at else None,
    }
    if d.scope:
        # An objection or a consent withdrawal for one purpose: the receipt names it.
        payload["scope"] = {
            "declaration": str(d.scope.get("declaration", "")),
            "title": str(d.scope.get("title", "")),
            "ground": "consent_withdrawal" if d.consent_withdrawal else "objection",
        }
    return payload


@dataclass(frozen=True)
class Signed:
    """A receipt signed, as its row stores it."""

    id: str
    delivery_id: int
    jws: str
    digest: str
    leaf_hash: str


def sign(*, delivery: Answered, keyring: Keyring, issuer: str) -> Signed:
    """A new receipt of `delivery`, signed (not stored)."""
    receipt_id = uuid.uuid4().hex
    payload = statement(receipt_id=receipt_id, issuer=issuer, delivery=delivery)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    token = keyring.sign(body)
    return Signed(
        id=receipt_id,
        delivery_id=delivery.delivery_id,
        jws=token,
        digest=digest(token),
        leaf_hash=leaf_of(token).hex(),
    )


def log_job(receipts: Sequence[Signed]) -> JobSpec:
    """The one job asking the log's sequencer for receipts stored together (one run appends
    every receipt not yet logged: desk.receipts.log)."""
    first = receipts[0].id
    return JobSpec(APPEND_JOB, {"receipt_id": first}, f"receipt-log-{first}")


async def store_receipts(
    receipts: Sequence[Signed], *, connection: BaseDBAsyncClient, with_log_job: bool = True
) -> None:
    """Store receipts signed together, in the caller's transaction, and ask the log's sequencer
    for them with one job (`log_job`); `with_log_job=False` leaves that job to the caller, who
    writes it with its own (one statement for all)."""
    if not receipts:
        return
    await insert_rows(
        Receipt,
        shared={"issued_at": clock.now()},
        rows=[
            {
                "id": r.id,
                "delivery_id": r.delivery_id,
                "jws": r.jws,
                "digest": r.digest,
                "leaf_hash": r.leaf_hash,
            }
            for r in receipts
        ],
        connection=connection,
    )
    if with_log_job:
        await enqueue_specs([log_job(receipts)], connection=connection)


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
