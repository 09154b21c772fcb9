"""What the delivery transitions put beside their state change, in the same transaction: the
access copy a fulfilment carries, the resident's mails and the follow-up jobs (through the
outbox)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.core import clock
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue, enqueue_rows
from desk.requests.models import AccessCopy, Delivery
from desk.requests.states import FINAL_STATES


@dataclass(frozen=True)
class JobSpec:
    """A follow-up job written in the same transaction as a transition."""

    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    run_after: datetime | None = None


async def enqueue_spec(spec: JobSpec, *, connection: BaseDBAsyncClient | None = None) -> None:
    await enqueue_specs([spec], connection=connection or OutboxJob._meta.db)


async def enqueue_specs(specs: Sequence[JobSpec], *, connection: BaseDBAsyncClient) -> None:
    """Write follow-up jobs in one statement; a key written before (by an earlier run of the
    same batch) is left as it is, as `enqueue` leaves it. `enqueue` looked the key up first:
    two statements per job, and each delivery's every poll enqueues one."""
    now = clock.now()
    await enqueue_rows(
        rows=[
            {
                "kind": spec.kind,
                "payload": spec.payload,
                "idempotency_key": spec.idempotency_key,
                "run_after": spec.run_after or now,
            }
            for spec in specs
        ],
        connection=connection,
        skip_existing=True,
    )


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


async def store_copy(
    conn: BaseDBAsyncClient, delivery: Delivery, file: UploadedFile, max_age: int
) -> AccessCopy:
    return await AccessCopy.create(
        id=secrets.token_urlsafe(24),
        delivery=delivery,
        filename=file.filename,
        content_type=file.content_type,
        size=len(file.content),
        sha256=hashlib.sha256(file.content).hexdigest(),
        content=file.content,
        expires_at=clock.now() + timedelta(seconds=max_age),
        using_db=conn,
    )


def resident_notice(
    *,
    resident_id: int,
    delivery_id: int,
    template: str,
    context: dict[str, Any],
    key: str | None = None,
) -> JobSpec:
    """The resident's notification job about a delivery (`mail.resident`), keyed so that a
    transition run again does not mail twice."""
    return JobSpec(
        kind="mail.resident",
        payload={
            "resident_id": resident_id,
            "template": template,
            "delivery_id": delivery_id,
            "context": context,
        },
        idempotency_key=key or f"mail-{template}-{delivery_id}",
    )


async def notify_resident(
    conn: BaseDBAsyncClient,
    delivery: Delivery,
    template: str,
    context: dict[str, Any],
    key: str | None = None,
) -> None:
    spec = resident_notice(
        resident_id=delivery.request.resident_id,  # type: ignore[attr-defined]
        delivery_id=delivery.id,
        template=template,
        context=context,
        key=key,
    )
    await enqueue(
        kind=spec.kind,
        payload=spec.payload,
        idempotency_key=spec.idempotency_key,
        connection=conn,
    )


async def notify_if_request_complete(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
    open_left = (
        await Delivery.filter(request_id=delivery.request_id)  # type: ignore[attr-defined]
        .using_db(conn)
        .exclude(state__in=list(FINAL_STATES))
        .count()
    )
    if open_left == 0:
        await notify_resident(
            conn,
            delivery,
            "discovery_complete",
            {"request_reference": delivery.request.reference},
            key=f"mail-discovery_complete-request-{delivery.request.id}",
        )
