"""Enqueue, claim, finish and retry outbox jobs.

`enqueue` must be called inside the caller's transaction (pass its connection), so the job
exists if and only if the state change that causes it was committed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from desk import clock
from desk.outbox.models import JobState, OutboxJob


async def enqueue(
    *,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    connection: BaseDBAsyncClient | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 8,
) -> OutboxJob:
    """Write a job; a second call with the same key returns the first job (no double effect)."""
    existing = await OutboxJob.filter(idempotency_key=idempotency_key).using_db(connection).first()
    if existing is not None:
        return existing
    return await OutboxJob.create(
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        run_after=run_after or clock.now(),
        max_attempts=max_attempts,
        using_db=connection,
    )


async def claim(*, worker_id: str, lease_seconds: float = 300.0) -> OutboxJob | None:
    """Take one due job for this worker, or None.

    The claim is a conditional UPDATE on the row's previous state, so two workers racing for
    the same row cannot both win, on SQLite as on PostgreSQL. A RUNNING job whose lease has
    expired (its worker died) is due again.
    """
    moment = clock.now()
    due = Q(state=JobState.PENDING, run_after__lte=moment) | Q(
        state=JobState.RUNNING, locked_until__lt=moment
    )
    for candidate in await OutboxJob.filter(due).order_by("run_after", "id").limit(5):
        won = await OutboxJob.filter(
            id=candidate.id, state=candidate.state, attempts=candidate.attempts
        ).update(
            state=JobState.RUNNING,
            locked_by=worker_id,
            locked_until=moment + timedelta(seconds=lease_seconds),
            attempts=candidate.attempts + 1,
        )
        if won:
            return await OutboxJob.get(id=candidate.id)
    return None


async def complete(*, job: OutboxJob) -> None:
    await OutboxJob.filter(id=job.id, locked_by=job.locked_by).update(
        state=JobState.DONE, finished_at=clock.now(), locked_until=None, last_error=None
    )


def backoff_delay(*, attempts: int, base: float, maximum: float) -> float:
    """Exponential backoff with full jitter: a random delay in [base/2, base * 2**(n-1)]."""
    ceiling = min(maximum, base * (2 ** max(0, attempts - 1)))
    return random.uniform(min(base / 2, ceiling), ceiling)


async def fail(
    *, job: OutboxJob, error: str, base_delay: float, max_delay: float, not_before: float = 0.0
) -> bool:
    """Record a failed attempt; returns True when the job is now dead (no attempt left).

    `not_before` (seconds) is the partner's own Retry-After, honoured up to `max_delay`.
    """
    if job.attempts >= job.max_attempts:
        await OutboxJob.filter(id=job.id).update(
            state=JobState.DEAD, last_error=error[:2000], finished_at=clock.now(), locked_until=None
        )
        return True
    delay = backoff_delay(attempts=job.attempts, base=base_delay, maximum=max_delay)
    delay = max(delay, min(not_before, max_delay))
    await OutboxJob.filter(id=job.id).update(
        state=JobState.PENDING,
        last_error=error[:2000],
        run_after=clock.now() + timedelta(seconds=delay),
        locked_until=None,
    )
    return False


async def retry_dead(*, job_id: int) -> bool:
    """Back office: give a dead job a fresh set of attempts."""
    updated = await OutboxJob.filter(id=job_id, state=JobState.DEAD).update(
        state=JobState.PENDING, attempts=0, run_after=clock.now(), finished_at=None
    )
    return bool(updated)


async def dead_jobs() -> list[OutboxJob]:
    return await OutboxJob.filter(state=JobState.DEAD).order_by("-finished_at")


async def pending_count() -> int:
    return await OutboxJob.filter(state__in=[JobState.PENDING, JobState.RUNNING]).count()
