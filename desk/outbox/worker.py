"""The worker loop: claim a due job, run its handler, record success, retry or park as dead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from desk.logs import job_context
from desk.outbox import services
from desk.outbox.lanes import Lanes
from desk.outbox.models import OutboxJob
from desk.outbox.wakeup import Wakeup

log = logging.getLogger("desk.worker")


class PermanentJobError(Exception):
    """No retry will mend this: park the job as dead now."""


Handler = Callable[[OutboxJob, Any], Awaitable[None]]
DeadHandler = Callable[[OutboxJob, Any, str], Awaitable[None]]
# Runs several jobs of one kind at once; for each job, None (done) or the error its retry or
# parking is decided by, in the jobs' order.
BatchHandler = Callable[[Sequence[OutboxJob], Any], Awaitable[Sequence[Exception | None]]]


@dataclass
class JobRegistry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    # Called once when a job of that kind is parked as dead (e.g. mark the delivery failed).
    on_dead: dict[str, DeadHandler] = field(default_factory=dict)
    # Housekeeping run every `maintenance_interval` seconds (purges of expired personal data).
    periodic: list[Callable[[Any], Awaitable[None]]] = field(default_factory=list)
    # Kinds whose one run does the work of every job of that kind claimed with it (appending
    # every receipt not yet logged, say): a batch of them runs the handler once, with any one
    # of them, so that handler must not decide from its own job's payload what is left to do.
    coalesce: frozenset[str] = frozenset()
    # Run once when run_forever ends: connections kept open to partners and the mail server.
    closing: list[Callable[[Any], Awaitable[None]]] = field(default_factory=list)
    # Kinds whose jobs claimed together run as one batch (run_forever), each with its own
    # outcome; `handlers` still runs them one at a time (run_once).
    batches: dict[str, BatchHandler] = field(default_factory=dict)


class Worker:
    def __init__(
        self,
        *,
        registry: JobRegistry,
        context: Any,
        base_delay: float,
        max_delay: float,
        poll_interval: float = 1.0,
        worker_id: str | None = None,
        maintenance_interval: float = 300.0,
        lease_seconds: float = services.DEFAULT_LEASE_SECONDS,
        concurrency: int = 1,
        claim_batch: int = 32,
        database_url: str = "",
        claim_linger: float = 0.0,
        intake_yield: float = 0.0,
    ) -> None:
        self.registry = registry
        # Jobs run at once by run_forever: a job mostly waits (database, partner, SMTP).
        self.concurrency = max(1, concurrency)
        self.context = context
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._stopping = asyncio.Event()
        self._in_trouble = False
        self.maintenance_interval = maintenance_interval
        self._next_maintenance = 0.0
        self.lease_seconds = lease_seconds
        # Jobs claimed at once by run_forever (at most as many as lanes are free).
        self.claim_batch = max(1, claim_batch)
        # Seconds an idle worker, once woken, waits before claiming: jobs written meanwhile are
        # claimed, and run, together (desk.outbox.lanes). Not for `run_once`.
        self.claim_linger = max(0.0, claim_linger)
        # Most seconds between two claims while residents are filing (desk.outbox.intake);
        # 0: the worker never holds back. Not for `run_once`.
        self.intake_yield = max(0.0, intake_yield)
        self.wakeup = Wakeup(database_url)

    def stop(self) -> None:
        self._stopping.set()
        self.wakeup.poke()

    @property
    def stopping(self) -> asyncio.Event:
        """Set once the worker is asked to stop (SIGTERM, Ctrl-C)."""
        return self._stopping

    async def run_once(self) -> bool:
        """Run one due job; False when none was due."""
        job = await services.claim(worker_id=self.worker_id, lease_seconds=self.lease_seconds)
        if job is None:
            return False
        heartbeat = asyncio.create_task(self._keep_lease(job))
        try:
            # Every line the handler logs carries the job's id and kind (desk.logs).
            with job_context(job.id, job.kind):
                await self._run(job)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return True

    async def _keep_lease(self, job: OutboxJob) -> None:
        """Extend the job's lease every third of it while its handler runs.

        A short lease then suffices for a handler of any length, and a job whose worker was
        killed is taken up again soon after. Should the lease still lapse (the database was out
        of reach for a whole lease), another worker may take the job: beating stops, and this
        worker's outcome is not recorded (see services.complete and services.fail).
        """
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                held = await services.extend_lease(job=job, lease_seconds=self.lease_seconds)
            except Exception:
                log.warning("job %s: lease not extended this time", job.id, exc_info=True)
                continue
            if not held:
                log.warning("job %s: lease lost, another worker has taken it over", job.id)
                return

    async def _run(self, job: OutboxJob) -> None:
        if await self._handle(job):
            if await services.complete(job=job):
                log.info("job %s (%s) done", job.id, job.kind)
            else:
                log.warning(
                    "job %s (%s) done, but another worker had taken it over", job.id, job.kind
                )

    async def _handle(self, job: OutboxJob, riders: Sequence[OutboxJob] = ()) -> bool:
        """Run the job's handler; True when it succeeded (for the caller to record), False
        when the failure is recorded here (retry later, or dead). `riders`: jobs of the same
        coalesced kind whose work this run does, sharing its outcome."""
        handler = self.registry.handlers.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {job.kind!r}")
            await handler(job, self.context)
        except asyncio.CancelledError:
            # Left RUNNING: its lease expires and another worker (or this one, restarted) takes it.
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            for failed in (job, *riders):
                await self._record_failure(failed, exc, error)
            return False
        return True

    async def _handle_batch(self, jobs: Sequence[OutboxJob]) -> list[OutboxJob]:
        """Run jobs of one batched kind together; the ones that succeeded (for the caller to
        record). Each failure is recorded here, job by job, as `_handle` records one."""
        handler = self.registry.batches[jobs[0].kind]
        try:
            outcomes: Sequence[Exception | None] = await handler(jobs, self.context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcomes = [exc] * len(jobs)
        succeeded: list[OutboxJob] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if outcome is None:
                succeeded.append(job)
            else:
                await self._record_failure(job, outcome, f"{type(outcome).__name__}: {outcome}")
        return succeeded

    async def _record_failure(self, job: OutboxJob, exc: Exception, error: str) -> None:
        dead = await services.fail(
            job=job,
            error=error,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            not_before=float(getattr(exc, "retry_after", 0.0) or 0.0),
            permanent=isinstance(exc, PermanentJobError),
        )
        log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, error)
        if dead:
            log.error("job %s (%s) is dead after %s attempts", job.id, job.kind, job.attempts)
            on_dead = self.registry.on_dead.get(job.kind)
            if on_dead is not None:
                await on_dead(job, self.context, error)

    async def run_until_idle(self, max_jobs: int = 10_000) -> int:
        """Run due jobs until none is due; returns how many ran (tests and `desk worker --once`)."""
        count = 0
        while count < max_jobs and await self.run_once():
            count += 1
        return count

    async def maintain(self) -> None:
        for task in self.registry.periodic:
            try:
                await task(self.context)
            except Exception:
                log.exception("maintenance task %s failed", getattr(task, "__name__", task))

    async def run_forever(self) -> None:
        """Claim due jobs in batches and run up to `concurrency` of them at once until stopped
        (desk.outbox.lanes)."""
        log.info("worker %s started", self.worker_id)
        try:
            await Lanes(self).run()
        finally:
            await self.wakeup.close()
            for close in self.registry.closing:
                try:
                    await close(self.context)
                except Exception:
                    log.warning("closing %s failed", getattr(close, "__name__", close))
        log.info("worker %s stopped", self.worker_id)

    async def _claim(self, limit: int) -> list[OutboxJob]:
        return await services.claim_batch(
            worker_id=self.worker_id, limit=limit, lease_seconds=self.lease_seconds
        )

    def trouble(self, exc: BaseException | None) -> None:
        """Say once that the jobs are out of reach (the database went away), and once that they
        are back, rather than a traceback at every poll."""
        if exc is not None:
            if not self._in_trouble:
                self._in_trouble = True
                log.warning("worker cannot reach its jobs (%s): retrying", type(exc).__name__)
            else:
                log.debug("worker still cannot reach its jobs", exc_info=exc)
        elif self._in_trouble:
            self._in_trouble = False
            log.info("worker reaches its jobs again")

    def maintenance_due(self) -> bool:
        now = asyncio.get_running_loop().time()
        if now < self._next_maintenance:
            return False
        self._next_maintenance = now + self.maintenance_interval
        return True
