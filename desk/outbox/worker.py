"""The worker loop: claim a due job, run its handler, record success, retry or park as dead."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from desk.outbox import services
from desk.outbox.models import OutboxJob

log = logging.getLogger("desk.worker")


class PermanentJobError(Exception):
    """No retry will mend this: park the job as dead now."""


Handler = Callable[[OutboxJob, Any], Awaitable[None]]
DeadHandler = Callable[[OutboxJob, Any, str], Awaitable[None]]


@dataclass
class JobRegistry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    # Called once when a job of that kind is parked as dead (e.g. mark the delivery failed).
    on_dead: dict[str, DeadHandler] = field(default_factory=dict)
    # Housekeeping run every `maintenance_interval` seconds (purges of expired personal data).
    periodic: list[Callable[[Any], Awaitable[None]]] = field(default_factory=list)


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
    ) -> None:
        self.registry = registry
        self.context = context
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._stopping = asyncio.Event()
        self.maintenance_interval = maintenance_interval
        self._next_maintenance = 0.0

    def stop(self) -> None:
        self._stopping.set()

    async def run_once(self) -> bool:
        """Run one due job; False when none was due."""
        job = await services.claim(worker_id=self.worker_id)
        if job is None:
            return False
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
            if isinstance(exc, PermanentJobError):
                job.attempts = job.max_attempts
            dead = await services.fail(
                job=job,
                error=error,
                base_delay=self.base_delay,
                max_delay=self.max_delay,
                not_before=float(getattr(exc, "retry_after", 0.0) or 0.0),
            )
            log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, error)
            if dead:
                log.error("job %s (%s) is dead after %s attempts", job.id, job.kind, job.attempts)
                on_dead = self.registry.on_dead.get(job.kind)
                if on_dead is not None:
                    await on_dead(job, self.context, error)
        else:
            await services.complete(job=job)
            log.info("job %s (%s) done", job.id, job.kind)
        return True

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
        log.info("worker %s started", self.worker_id)
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            if loop.time() >= self._next_maintenance:
                self._next_maintenance = loop.time() + self.maintenance_interval
                await self.maintain()
            try:
                ran = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database went away, say: wait and try again rather than die.
                log.exception("worker loop error")
                ran = False
            if not ran:
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval)
                except TimeoutError:
                    pass
        log.info("worker %s stopped", self.worker_id)
