"""Deadlines: reminders to signatories before them, and a word to residents once they are missed.

Times are stored in UTC and shown in Europe/Paris; the "one month" rule is
`desk.core.clock.add_months` (docs/deadlines.md). Both periodic functions only enqueue outbox
jobs with fixed idempotency keys, so running them every few minutes, or on several workers,
sends each message once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from desk.core import clock
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.requests.models import Delivery
from desk.requests.pause import is_paused
from desk.requests.states import FINAL_STATES, OPEN_STATES

log = logging.getLogger("desk.charter.deadlines")

# Reminders before the deadline: (name used in the job key, how long before).
REMINDERS: tuple[tuple[str, timedelta], ...] = (
    ("7d", timedelta(days=7)),
    ("1d", timedelta(days=1)),
)
PARTNER_REMINDER_JOB = "charter.partner_reminder"
RESIDENT_MAIL_JOB = "charter.resident_mail"
# Paper signatories get no email reminder: the back office sees their deadlines in its queue.
NO_EMAIL_REMINDER = frozenset({"postal"})
MISSED_LOOKBACK = timedelta(days=60)


def due_at(received_at: datetime) -> datetime:
    """The answer is due one month after receipt (Art. 12(3) GDPR)."""
    return clock.add_months(received_at, 1)


def extension_closes_at(received_at: datetime) -> datetime:
    """An extension may only be asked for within the first month."""
    return clock.add_months(received_at, 1)


def latest_due_at(received_at: datetime) -> datetime:
    """With the one extension allowed, the answer is due three months after receipt at most."""
    return clock.add_months(received_at, 3)


def is_overdue(delivery: Delivery, now: datetime) -> bool:
    """Past its deadline and still waiting for the signatory's final answer.

    Not while the deadline is paused: the signatory waits for the resident's answer to a
    question about identity (desk.requests.pause)."""
    return delivery.state in OPEN_STATES and delivery.due_at < now and not is_paused(delivery)


def reminder_due(due: datetime, now: datetime) -> str | None:
    """Which reminder (if any) fits now: the closest threshold already reached, deadline ahead."""
    if due <= now:
        return None
    chosen: str | None = None
    for name, before in REMINDERS:
        if due - now <= before:
            chosen = name
    return chosen


async def remind_partners(*, now: datetime) -> int:
    """Enqueue the 7-day and 1-day reminders of open deliveries; returns how many are due."""
    horizon = now + max(before for _, before in REMINDERS)
    # A paused deadline is not coming: the signatory waits for the resident.
    rows = await Delivery.filter(
        state__in=list(OPEN_STATES), due_at__gt=now, due_at__lte=horizon, paused_since__isnull=True
    ).select_related("signatory")
    wanted: dict[str, tuple[int, str]] = {}
    for delivery in rows:
        adapter = delivery.channel or delivery.signatory.adapter
        name = reminder_due(delivery.due_at, now)
        if adapter in NO_EMAIL_REMINDER or name is None:
            continue
        wanted[f"reminder-{name}-{delivery.id}"] = (delivery.id, name)
    for key in await _new_keys(wanted):
        delivery_id, name = wanted[key]
        await enqueue(
            kind=PARTNER_REMINDER_JOB,
            payload={"delivery_id": delivery_id, "reminder": name},
            idempotency_key=key,
        )
    return len(wanted)


KEYS_PER_QUERY = 5_000


async def _new_keys(wanted: dict[str, tuple[int, str]] | dict[str, int]) -> list[str]:
    """The keys with no job yet (one query rather than one per key; enqueue re-checks)."""
    keys = list(wanted)
    done: set[str] = set()
    # In slices: PostgreSQL takes at most 32,767 parameters in one statement, and a backlog of
    # missed deadlines (a worker stopped for days, a large signatory's outage) can be bigger.
    for start in range(0, len(keys), KEYS_PER_QUERY):
        rows = await OutboxJob.filter(
            idempotency_key__in=keys[start : start + KEYS_PER_QUERY]
        ).values("idempotency_key")
        done.update(str(row["idempotency_key"]) for row in rows)
    return [key for key in keys if key not in done]


async def notify_missed_deadlines(*, now: datetime) -> int:
    """Tell each resident once when a deadline passed without a final answer."""
    # A bounded look-back keeps each run small; a worker stopped longer than this is noticed.
    rows = (
        await Delivery.filter(
            due_at__lt=now, due_at__gte=now - MISSED_LOOKBACK, paused_since__isnull=True
        )
        .exclude(state__in=list(FINAL_STATES))
        .values("id")
    )
    wanted = {f"deadline-missed-{row['id']}": int(row["id"]) for row in rows}
    for key in await _new_keys(wanted):
        await enqueue(
            kind=RESIDENT_MAIL_JOB,
            payload={"delivery_id": wanted[key], "template": "deadline_missed"},
            idempotency_key=key,
        )
    return len(wanted)


async def run(*, now: datetime | None = None) -> None:
    moment = now or clock.now()
    await remind_partners(now=moment)
    await notify_missed_deadlines(now=moment)
