"""The back office: who is late, what failed and why, and what staff may do about it.

This module holds what the back office's other modules share (the staff actor, a delivery's
channel, loading a delivery) and the retries: of a failed delivery, of a dead outbox job.
The rest lives beside it: `dashboard` (the overview and one signatory's deliveries),
`deliveries` (one delivery: its page, a channel switch, a paper answer), `postal` (letters to
print). Plain keyword-only async functions; no HTTP objects. Every change goes through the
delivery state machine (desk.requests.transitions) with actor "staff:<id>", so the audit
trail says which staff member did what.
"""

from __future__ import annotations

import logging

from tortoise.expressions import Q

from desk.core import clock
from desk.core.errors import DeskError
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.services import retry_dead
from desk.receipts.keys import Keyring
from desk.requests import transitions
from desk.requests.models import Delivery, DeliveryState
from desk.requests.transitions import DeliveryNotFound

log = logging.getLogger("desk.backoffice")

POSTAL = "postal"
LETTER_PRINTED = "letter_printed"
CHANNEL_CHANGED = "channel_changed"
LIST_LIMIT = 300
STATE_ORDER = [s.value for s in DeliveryState]


def actor_for(staff_id: int) -> str:
    return f"staff:{staff_id}"


def channel_of(delivery: Delivery) -> str:
    """The channel a delivery travels by: the back office's choice, else the signatory's."""
    return delivery.channel or delivery.signatory.adapter


async def load_delivery(delivery_id: int) -> Delivery:
    """The delivery with its request, resident and signatory; DeliveryNotFound if none."""
    delivery = (
        await Delivery.filter(id=delivery_id)
        .select_related("request__resident", "signatory")
        .first()
    )
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


async def retry_delivery(
    *, delivery_id: int, staff_id: int, keyring: Keyring, issuer: str
) -> Delivery:
    """Send a failed delivery again, through its (possibly changed) channel."""
    current = await load_delivery(delivery_id)
    if current.state != DeliveryState.FAILED:
        raise DeskError(
            "Seul un envoi en échec peut être relancé : celui-ci ne l'est pas (ou plus).",
            code="conflict",
        )
    delivery = await transitions.retry(delivery_id=delivery_id, actor=actor_for(staff_id))
    await _close_dead_dispatches(delivery_id)
    log.info("delivery %s retried by staff %s", delivery_id, staff_id)
    return delivery


async def retry_job(*, job_id: int, staff_id: int, keyring: Keyring, issuer: str) -> OutboxJob:
    """Give a dead job another go.

    A dead dispatch has already marked its delivery failed, and a dispatch only carries a
    pending delivery: so for those the delivery is retried through the state machine (which
    writes a fresh dispatch job) and the dead job is closed, rather than revived to do nothing.
    """
    job = await OutboxJob.filter(id=job_id).first()
    if job is None:
        raise DeskError("Cette tâche est introuvable.", code="not_found")
    if job.state != JobState.DEAD:
        raise DeskError(
            "Cette tâche n'est plus en échec : elle a déjà été relancée.", code="conflict"
        )
    raw = str(job.payload.get("delivery_id", ""))
    if job.kind == "delivery.dispatch" and raw.isdigit():
        delivery = await Delivery.filter(id=int(raw)).first()
        if delivery is not None and delivery.state == DeliveryState.FAILED:
            await retry_delivery(
                delivery_id=delivery.id, staff_id=staff_id, keyring=keyring, issuer=issuer
            )
            await job.refresh_from_db()
            return job
    if not await retry_dead(job_id=job.id):
        raise DeskError(
            "Cette tâche n'est plus en échec : elle a déjà été relancée.", code="conflict"
        )
    log.info("dead job %s retried by staff %s", job.id, staff_id)
    await job.refresh_from_db()
    return job


async def _close_dead_dispatches(delivery_id: int) -> None:
    await OutboxJob.filter(
        Q(idempotency_key=f"dispatch-{delivery_id}")
        | Q(idempotency_key__startswith=f"dispatch-{delivery_id}-"),
        state=JobState.DEAD,
        kind="delivery.dispatch",
    ).update(state=JobState.DONE, finished_at=clock.now())
