"""Enqueue, claim, finish and retry outbox jobs.

`enqueue` must be called inside the caller's transaction (pass its connection), so the job
exists if and only if the state change that causes it was committed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.db_rows import insert_rows
from desk.db_sqlite import own_client
from desk.outbox import statements
from desk.outbox.models import JobState, OutboxJob

# With the default backoff (5 s doubling, capped at an hour) the ceilings add up to about
# eleven hours: a partner or mail server down for an afternoon loses nothing and needs no one.
DEFAULT_MAX_ATTEMPTS = 20


async def enqueue(
    *,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    connection: BaseDBAsyncClient | None = None,
    run_after: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> OutboxJob:
    """Write a job; a second call with the same key returns the first job (no double effect)."""
    existing = await OutboxJob.filter(idempotency_key=idempotency_key).using_db(connection).first()
    if existing is not None:
        return existing
    job = await OutboxJob.create(
        kind=kind,
        payload=payload,
        idempotency_key=idempotency_key,
        run_after=run_after or clock.now(),
        max_attempts=max_attempts,
        using_db=connection,
    )
    if run_after is None:
        await wake_workers(connection)
    return job


async def enqueue_new(
    *,
    kind: str,
    jobs: list[tuple[str, dict[str, Any]]],
    connection: BaseDBAsyncClient,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> None:
    """Write many jobs of one kind in one statement: (idempotency key, payload) pairs whose
    keys are new (named after rows created in the same transaction), so `enqueue`'s look-up of
    an earlier job is skipped; a key used before still fails on its unique index, rolling back
    the lot.

    Filing one request to every signatory wrote its jobs one by one: 32 signatories, 64
    statements (bench/erasure.py).
    """
    await enqueue_rows(
        rows=new_job_rows(kind, jobs), connection=connection, max_attempts=max_attempts
    )


def new_job_rows(kind: str, jobs: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """`enqueue_rows`' rows for (idempotency key, payload) pairs of one kind."""
    return [{"kind": kind, "idempotency_key": key, "payload": payload} for key, payload in jobs]


def job_defaults(moment: datetime, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> dict[str, Any]:
    """What every job written at `moment` shares: due at once, its attempts."""
    return {"run_after": moment, "created_at": moment, "max_attempts": max_attempts}


async def enqueue_rows(
    *,
    rows: Sequence[Mapping[str, Any]],
    connection: BaseDBAsyncClient,
    skip_existing: bool = False,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> None:
    """Write jobs in one statement, as tuples (a model per job was a sixth of a filing to 40
    signatories, bench/concurrent_load.py --mode everywhere). Each row gives `kind`,
    `idempotency_key` and `payload`, and `run_after` if the jobs are not due at once (every row
    then). A key written before is left as it is with `skip_existing` (as `enqueue` leaves it:
    a batch run again), and otherwise fails on its unique index, rolling back the lot."""
    if not rows:
        return
    moment = clock.now()
    await insert_rows(
        OutboxJob,
        shared=job_defaults(moment, max_attempts),
        rows=rows,
        connection=connection,
        skip_conflicts=skip_existing,
    )
    if any(row.get("run_after", moment) <= moment for row in rows):
        await wake_workers(connection)


# PostgreSQL channel on which idle workers listen (desk.outbox.wakeup).
WAKE_CHANNEL = "desk_outbox"


async def wake_workers(connection: BaseDBAsyncClient | None) -> None:
    """PostgreSQL: NOTIFY the workers' channel in the caller's transaction; PostgreSQL delivers
    it at commit (and drops it on rollback, with the job), so a worker waiting for work starts
    at once instead of at its next poll. SQLite: nothing, workers poll."""
    client = connection or OutboxJob._meta.db
    if client.capabilities.dialect != "postgres":
        return
    # Once per transaction: PostgreSQL delivers one notification at commit however many were
    # sent, and each was a round trip (a batch of fulfilments enqueued its receipts' log job,
    # its digests and its next polls, bench/concurrent_load.py). A savepoint is a transaction
    # object of its own: one rolled back does not count for the transaction around it.
    transaction = client if isinstance(client, TransactionalDBClient) else None
    if transaction is not None and getattr(transaction, _NOTIFIED, False):
        return
    await client.execute_script(f"NOTIFY {WAKE_CHANNEL}")
    if transaction is not None:
        setattr(transaction, _NOTIFIED, True)


_NOTIFIED = "_desk_outbox_notified"


DEFAULT_LEASE_SECONDS = 60.0


def _due(moment: datetime) -> Q:
    # A RUNNING job whose lease has expired lost its worker (killed, or cut off): due again.
    return Q(state=JobState.PENDING, run_after__lte=moment) | Q(
        state=JobState.RUNNING, locked_until__lt=moment
    )


def _row_locks_supported() -> bool:
    return bool(OutboxJob._meta.db.capabilities.support_for_update)


async def claim(
    *, worker_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> OutboxJob | None:
    """Take one due job for this worker, or None; the job comes back RUNNING, leased to it."""
    jobs = await claim_batch(worker_id=worker_id, lease_seconds=lease_seconds, limit=1)
    return jobs[0] if jobs else None


async def claim_batch(
    *, worker_id: str, limit: int, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> list[OutboxJob]:
    """Take up to `limit` due jobs for this worker, oldest due first, in one transaction of two
    statements; they come back RUNNING, leased to it, their attempt counted.

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED LIMIT n`, so many workers each take different
    rows without ever waiting on each other. SQLite has no row locks, but its transactions
    begin IMMEDIATE (desk.db_sqlite): the write lock is held from the read of the due rows to
    their update, so two workers never take the same row. One job at a time, a claim was two
    to three statements and a commit per job (bench/fanout.py).
    """
    moment = clock.now()
    until = moment + timedelta(seconds=lease_seconds)
    if OutboxJob._meta.db.capabilities.dialect == "postgres":
        return await _claim_postgres(worker_id, limit, moment, until)
    if (client := own_client(OutboxJob._meta.db)) is not None:
        return await statements.claim_sqlite(
            client, worker_id=worker_id, limit=limit, moment=moment, until=until
        )
    async with in_transaction() as conn:
        query = OutboxJob.filter(_due(moment)).order_by("run_after", "id").limit(limit)
        if _row_locks_supported():
            query = query.select_for_update(skip_locked=True)
        jobs = list(await query.using_db(conn))
        if not jobs:
            return []
        await (
            OutboxJob.filter(id__in=[job.id for job in jobs])
            .using_db(conn)
            .update(
                state=JobState.RUNNING,
                locked_by=worker_id,
                locked_until=until,
                attempts=F("attempts") + 1,
            )
        )
    for job in jobs:
        job.state = JobState.RUNNING
        job.locked_by = worker_id
        job.locked_until = until
        job.attempts += 1
    return jobs


# The rows are locked by the inner SELECT (skipping those another worker holds) and updated by
# the same statement: one round trip and one commit, where BEGIN, SELECT, UPDATE and COMMIT were
# four (the worker waited on each, bench/fanout.py). The statement is a function (migration
# 0024_outbox_claim; changing the claim takes a migration) so that it walks the partial index
# `outbox_job_due` in the claim's order and stops at the LIMIT: left to a queue's statistics,
# PostgreSQL gathered and sorted every due job at each claim. A running job was due when
# claimed (`run_after <= now` then), so "due" is `run_after <= now` for both states.
_CLAIM_POSTGRES = "SELECT * FROM outbox_claim($1, $2, $3, $4)"


async def _claim_postgres(
    worker_id: str, limit: int, moment: datetime, until: datetime
) -> list[OutboxJob]:
    db = OutboxJob._meta.db
    when = OutboxJob._meta.fields_map["run_after"]
    # execute_query_dict: Tortoise's execute_query drops what an UPDATE returns.
    rows = await db.execute_query_dict(
        _CLAIM_POSTGRES,
        [
            worker_id,
            when.to_db_value(until, OutboxJob),
            when.to_db_value(moment, OutboxJob),
            limit,
        ],
    )
    jobs = [OutboxJob._init_from_db(**row) for row in rows]
    jobs.sort(key=lambda job: (job.run_after, job.id))
    return jobs


async def seconds_until_due() -> float | None:
    """Seconds until the earliest pending job is due (0 when one is due now), None when none
    is pending: an idle worker sleeps until then rather than a whole poll interval."""
    # Written once (statements): an idle worker asks this after every claim that came back
    # short, so pypika built it a few times per delivery.
    moment = await statements.next_due(OutboxJob._meta.db)
    if moment is None:
        return None
    return max(0.0, (moment - clock.now()).total_seconds())


# "Still running", said as "in none of the other states": `state = 'running'` lets PostgreSQL
# read the job through the partial index of due jobs, which a queue's statistics (none, or
# those of a drained queue) make look small. With 12,000 deliveries pending it gathered them
# all to mark 16 jobs done (2.7 ms against 0.28 ms by primary key), at every batch.
_NOT_RUNNING = tuple(state.value for state in JobState if state is not JobState.RUNNING)
_STILL_RUNNING = f"state NOT IN ({', '.join(repr(state) for state in _NOT_RUNNING)})"


def _held(job: OutboxJob) -> Q:
    """The job as this worker claimed it: not reclaimed by another since (its lease lapsed)."""
    return Q(id=job.id, state__not_in=_NOT_RUNNING, locked_by=job.locked_by, attempts=job.attempts)


async def extend_lease(*, job: OutboxJob, lease_seconds: float) -> bool:
    """Push the lease of a job still running; False when another worker has taken it over."""
    until = clock.now() + timedelta(seconds=lease_seconds)
    extended = await OutboxJob.filter(_held(job)).update(locked_until=until)
    if extended:
        job.locked_until = until
    return bool(extended)


async def complete(*, job: OutboxJob) -> bool:
    """Mark the job done; False (nothing written) when another worker has reclaimed it."""
    done = await OutboxJob.filter(_held(job)).update(
        state=JobState.DONE, finished_at=clock.now(), locked_until=None, last_error=None
    )
    return bool(done)


def _held_all(jobs: Sequence[OutboxJob]) -> Q:
    """Every one of `jobs` as their worker claimed them (see `_held`), in one condition."""
    by_attempt: dict[tuple[str | None, int], list[int]] = {}
    for job in jobs:
        by_attempt.setdefault((job.locked_by, job.attempts), []).append(job.id)
    return Q(
        *(
            Q(id__in=ids, locked_by=worker, attempts=attempts)
            for (worker, attempts), ids in by_attempt.items()
        ),
        join_type=Q.OR,
    ) & Q(state__not_in=_NOT_RUNNING)


async def complete_many(
    *, jobs: Sequence[OutboxJob], connection: BaseDBAsyncClient | None = None
) -> int:
    """Mark jobs done in one statement; returns how many were still this worker's (a job
    another worker reclaimed meanwhile is left to it, as `complete` does). With `connection`,
    in the caller's transaction: the jobs are done if and only if their effects commit."""
    if not jobs:
        return 0
    # Written once (statements, and completion_postgres's text): built by pypika at every call,
    # the recorder's statement was a tenth of the worker's samples with jobs trickling in.
    client = connection or OutboxJob._meta.db
    if client.capabilities.dialect == "postgres":
        sql, values = completion_postgres(jobs, first=1)
        done, _ = await client.execute_query(sql, values)
        return int(done)
    if (own := own_client(client)) is not None:
        return await statements.complete_sqlite(own, jobs, clock.now())
    if isinstance(client, SqliteClient):
        return await statements.complete_in(client, jobs, clock.now())
    return int(
        await OutboxJob.filter(_held_all(jobs))
        .using_db(connection)
        .update(state=JobState.DONE, finished_at=clock.now(), locked_until=None, last_error=None)
    )


def completion_postgres(
    jobs: Sequence[OutboxJob], *, first: int, guard: str | None = None
) -> tuple[str, list[Any]]:
    """`complete_many` as a data-modifying statement a caller runs inside its own (a `WITH`
    clause returning a row per job marked done), its parameters numbered from `first`: jobs
    done with their effects in one round trip. `guard`: an SQL condition of the caller's
    statement without which nothing is marked done."""
    n = first
    sql = (
        f"UPDATE outbox_job j SET state = 'done', finished_at = ${n}, locked_until = NULL, "
        f"last_error = NULL FROM unnest(${n + 1}::int[], ${n + 2}::text[], ${n + 3}::int[]) "
        "AS h(id, locked_by, attempts) WHERE j.id = h.id AND j.locked_by = h.locked_by "
        f"AND j.attempts = h.attempts AND j.{_STILL_RUNNING}"
        + (f" AND {guard}" if guard else "")
        + " RETURNING 1"
    )
    at = OutboxJob._meta.fields_map["finished_at"].to_db_value(clock.now(), OutboxJob)
    values = [
        at,
        [job.id for job in jobs],
        [job.locked_by for job in jobs],
        [job.attempts for job in jobs],
    ]
    return sql, values


async def extend_leases(*, jobs: Sequence[OutboxJob], lease_seconds: float) -> int:
    """Push the leases of jobs still running, in one statement; how many were still held."""
    if not jobs:
        return 0
    until = clock.now() + timedelta(seconds=lease_seconds)
    extended = int(await OutboxJob.filter(_held_all(jobs)).update(locked_until=until))
    for job in jobs:
        job.locked_until = until
    return extended


async def release(*, jobs: Sequence[OutboxJob]) -> int:
    """Give back claimed jobs this worker has not started (it is stopping): due again at once,
    the claim's attempt not counted."""
    if not jobs:
        return 0
    return int(
        await OutboxJob.filter(_held_all(jobs)).update(
            state=JobState.PENDING,
            locked_by=None,
            locked_until=None,
            attempts=F("attempts") - 1,
        )
    )


def backoff_delay(*, attempts: int, base: float, maximum: float) -> float:
    """Exponential backoff with full jitter: a random delay in [base/2, base * 2**(n-1)]."""
    ceiling = min(maximum, base * (2 ** max(0, attempts - 1)))
    return random.uniform(min(base / 2, ceiling), ceiling)


async def fail(
    *,
    job: OutboxJob,
    error: str,
    base_delay: float,
    max_delay: float,
    not_before: float = 0.0,
    permanent: bool = False,
) -> bool:
    """Record a failed attempt; returns True when this call parked the job as dead.

    `not_before` (seconds) is the partner's own Retry-After, honoured up to `max_delay`.
    `permanent`: no retry can mend it, park it now. Nothing is written when another worker has
    reclaimed the job meanwhile: its attempt, not this stale one, decides what happens next.
    """
    if permanent or job.attempts >= job.max_attempts:
        parked = await OutboxJob.filter(_held(job)).update(
            state=JobState.DEAD, last_error=error[:2000], finished_at=clock.now(), locked_until=None
        )
        return bool(parked)
    delay = backoff_delay(attempts=job.attempts, base=base_delay, maximum=max_delay)
    delay = max(delay, min(not_before, max_delay))
    await OutboxJob.filter(_held(job)).update(
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
