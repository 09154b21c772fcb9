"""The deadline's pause while a signatory waits for the resident's answer about identity.

EDPB guidelines 01/2022 on the right of access (§ 2.3.3): when a controller has reasonable
doubts about who asks and requests more information, the deadline is suspended until that
information arrives. A question about identity pauses the delivery's deadline from the moment it
is asked (`Delivery.paused_since`); when the delivery leaves the question (the resident answers,
or the signatory answers anyway, or the resident withdraws), the deadline moves by the time it
was paused. Any other question does not pause it: the signatory is counted late as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from desk.requests.models import Delivery, DeliveryState


def is_paused(delivery: Delivery) -> bool:
    """Waiting for the resident's answer to a question about identity."""
    return delivery.state == DeliveryState.AWAITING_INFO and delivery.paused_since is not None


def resumed_due(due_at: datetime, paused_since: datetime, now: datetime) -> datetime:
    """The deadline once a pause that began at `paused_since` ends at `now`."""
    return due_at + max(now - paused_since, timedelta(0))


def resume(delivery: Delivery, now: datetime) -> datetime | None:
    """End a pause (if any): the deadline moves by its length. Returns the new deadline."""
    since = delivery.paused_since
    if since is None:
        return None
    delivery.due_at = resumed_due(delivery.due_at, since, now)
    delivery.paused_since = None
    return delivery.due_at
