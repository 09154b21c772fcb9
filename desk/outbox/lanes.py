"""One worker running many jobs at once: the loop behind `Worker.run_forever`.

- A feeder claims due jobs in batches, as many as lanes are free (never more: a worker does
  not hoard jobs other workers could run), and waits, when none is due, for a notification
  (PostgreSQL, desk.outbox.wakeup) or the next poll; once woken, it lingers `claim_linger`
  seconds (settings.worker_claim_linger) so that jobs trickling in are claimed together.
- `concurrency` lanes each run one job at a time: a job mostly waits (a partner, the mail
  server, the database), so N lanes keep N jobs in flight.
- A recorder marks finished jobs done in batches (one statement for all the jobs finished
  while the previous batch was written); failures are recorded at once, one by one.
- One heartbeat extends the lease of every job held, in one statement per beat.
- While residents are filing, the feeder holds back its next claim, `intake_yield` seconds at
  most since its last (desk.outbox.intake): the filings get the cores and the database first.
- Kinds the registry coalesces (`JobRegistry.coalesce`) claimed together run once.
- Kinds the registry batches (`JobRegistry.batches`) claimed together run as one batch in one
  lane (a webhook's deliveries: read, sent and recorded together), each job with its own
  outcome; a batch holds as many of the `concurrency` places as it has jobs until its handler
  says its partners have answered (`BatchRun.answered`): the feeder then claims the next batch
  while this one is recorded (one batch of 16 at a time spent a third of its 40-60 ms waiting
  for its commit, bench/fanout.py). Its jobs stay held (leases kept) until recorded, and a
  stopping worker still waits for every lane to finish. A handler may mark its jobs done in
  its own transaction (`BatchRun.recorded`): the recorder then leaves them alone.

A job's handler ran before its DONE is written, exactly as one at a time: a worker killed in
between leaves the job RUNNING, its lease lapses, and it runs again (handlers are idempotent;
partners get the same idempotency key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Protocol

from desk.logs import job_context
from desk.outbox import services
from desk.outbox.models import OutboxJob
from desk.outbox.wakeup import Wakeup

log = logging.getLogger("desk.worker")


class _Coalescing(Protocol):
    @property
    def coalesce(self) -> frozenset[str]: ...
    @property
    def batches(self) -> Mapping[str, object]: ...


class Worker(Protocol):
    """What the lanes need of desk.outbox.worker.Worker (which imports this module)."""

    @property
    def concurrency(self) -> int: ...
    @property
    def claim_batch(self) -> int: ...
    @property
    def claim_linger(self) -> float: ...
    @property
    def poll_interval(self) -> float: ...
    @property
    def intake_yield(self) -> float: ...
    @property
    def lease_seconds(self) -> float: ...
    @property
    def maintenance_interval(self) -> float: ...
    @property
    def stopping(self) -> asyncio.Event: ...
    @property
    def wakeup(self) -> Wakeup: ...
    @property
    def registry(self) -> _Coalescing: ...

    async def _claim(self, limit: int) -> list[OutboxJob]: ...
    async def _handle(self, job: OutboxJob, riders: Sequence[OutboxJob] = ()) -> bool: ...
    async def _handle_batch(self, jobs: Sequence[OutboxJob]) -> list[OutboxJob]: ...
    def trouble(self, exc: BaseException | None) -> None: ...
    def maintenance_due(self) -> bool: ...
    async def maintain(self) -> None: ...


# Seconds between two looks at whether residents are still filing, while holding back.
INTAKE_RECHECK = 0.02

# A job and the jobs of the same coalesced kind its run stands for, or of the same batched
# kind run with it.
Item = tuple[OutboxJob, list[OutboxJob]]


class BatchRun:
    """What a batch handler run by the lanes tells them while it runs (`current_batch`)."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release
        # Ids of the jobs the handler marked done itself, in the transaction of their effects.
        self.recorded: set[int] = set()

    def answered(self) -> None:
        """The batch no longer waits for partners: its places go to the next claim."""
        release, self._release = self._release, None
        if release is not None:
            release()


_CURRENT: ContextVar[BatchRun | None] = ContextVar("desk_batch_run", default=None)


def current_batch() -> BatchRun | None:
    """The lanes' handle on the batch being run, None outside them (`desk worker --once`, tests:
    the caller records the jobs, as it always did)."""
    return _CURRENT.get()


class Lanes:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue()
        # Claimed and not yet recorded: the heartbeat keeps their leases.
        self.held: dict[int, OutboxJob] = {}
        # Claimed and not yet finished by a lane (a coalesced batch counts once).
        self.busy = 0
        self.slot_free = asyncio.Event()
        self.done: list[OutboxJob] = []
        self.done_event = asyncio.Event()
        self.closing = False
        self.last_claim = float("-inf")

    async def run(self) -> None:
        w = self.worker
        lanes = [asyncio.create_task(self._lane()) for _ in range(w.concurrency)]
        recorder = asyncio.create_task(self._recorder())
        heartbeat = asyncio.create_task(self._heartbeat())
        maintenance = asyncio.create_task(self._maintenance())
        try:
            await self._feed()
        finally:
            # Stopping: jobs not started go back at once, started ones finish and are recorded.
            unstarted: list[OutboxJob] = []
            while not self.queue.empty():
                item = self.queue.get_nowait()
                if item is not None:
                    unstarted.extend((item[0], *item[1]))
            for _ in lanes:
                self.queue.put_nowait(None)
            await asyncio.gather(*lanes, return_exceptions=True)
            if unstarted:
                try:
                    await services.release(jobs=unstarted)
                except Exception:
                    log.warning(
                        "%s unstarted jobs not given back: their leases will lapse", len(unstarted)
                    )
                for job in unstarted:
                    self.held.pop(job.id, None)
            self.closing = True
            self.done_event.set()
            await asyncio.gather(recorder, maintenance, return_exceptions=True)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _feed(self) -> None:
        w = self.worker
        await w.wakeup.listen()
        while not w.stopping.is_set():
            free = w.concurrency - self.busy
            if free <= 0:
                self.slot_free.clear()
                await _first_of(self.slot_free, w.stopping)
                await self._gather_places()
                continue
            wanted = min(free, w.claim_batch)
            await self._give_way()
            try:
                jobs = await w._claim(wanted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                w.trouble(exc)
                jobs = []
            else:
                w.trouble(None)
            self._dispatch(jobs)
            if len(jobs) < wanted:
                # None due (or fewer than wanted): until a job is written, the next job's
                # due time (a poll of a partner, a retry), or the next poll.
                await w.wakeup.wait(await self._idle_seconds())
                await self._linger()

    async def _give_way(self) -> None:
        """While residents are filing, wait until they stop or `intake_yield` seconds have
        passed since the last claim, whichever comes first (desk.outbox.intake). A stop ends
        the wait at once."""
        w = self.worker
        loop = asyncio.get_running_loop()
        until = self.last_claim + w.intake_yield
        while loop.time() < until and w.wakeup.intake.filing_now():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(w.stopping.wait(), timeout=INTAKE_RECHECK)
            if w.stopping.is_set():
                return
        self.last_claim = loop.time()

    async def _gather_places(self) -> None:
        """Lanes all busy, one just freed: before claiming, wait up to `claim_linger` seconds for
        half of them to be free (or all, or a stop). Claiming for each lane as it freed took
        one job per claim under a steady trickle (2.7 claims per simulated delivery,
        bench/concurrent_load.py --mode intake), each claim and each batch of one paying its
        statements."""
        w = self.worker
        if w.claim_linger <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + w.claim_linger
        enough = max(1, min(w.concurrency, w.claim_batch) // 2)
        while not w.stopping.is_set() and 0 < self.busy and w.concurrency - self.busy < enough:
            left = deadline - loop.time()
            if left <= 0:
                return
            self.slot_free.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first_of(self.slot_free, w.stopping), timeout=left)

    async def _linger(self) -> None:
        """After a wake-up, gather the jobs written in the next `claim_linger` seconds into one
        claim. Jobs trickling in (a filing's dispatch, its polls, receipts, a burst of logins)
        woke the worker for one or two at a time, and every claim, batch and completion paid
        its statements for those few (bench/concurrent_load.py --mode intake: 0.7 claims per
        delivery). A stop ends it at once."""
        w = self.worker
        if w.claim_linger <= 0 or w.stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(w.stopping.wait(), timeout=w.claim_linger)

    async def _idle_seconds(self) -> float:
        w = self.worker
        try:
            due_in = await services.seconds_until_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            return w.poll_interval  # the claim says so if the database is away
        if due_in is None:
            return w.poll_interval
        # Not a busy loop: a job due now that the claim did not get is another worker's.
        return min(w.poll_interval, max(0.05, due_in))

    def _dispatch(self, jobs: list[OutboxJob]) -> None:
        registry = self.worker.registry
        leaders: dict[str, list[OutboxJob]] = {}
        for job in jobs:
            self.held[job.id] = job
            batched = job.kind in registry.batches
            if batched or job.kind in registry.coalesce:
                riders = leaders.get(job.kind)
                if riders is not None:
                    riders.append(job)
                    self.busy += 1 if batched else 0
                    continue
                leaders[job.kind] = riders = []
            else:
                riders = []
            self.busy += 1
            self.queue.put_nowait((job, riders))

    def _places(self, job: OutboxJob, riders: list[OutboxJob]) -> int:
        """How many of the `concurrency` places an item holds (a batch: one per job)."""
        return 1 + len(riders) if job.kind in self.worker.registry.batches else 1

    def _freer(self, places: int) -> Callable[[], None]:
        def release() -> None:
            self.busy -= places
            self.slot_free.set()

        return release

    async def _lane(self) -> None:
        w = self.worker
        while (item := await self.queue.get()) is not None:
            job, riders = item
            jobs = [job, *riders]
            run = BatchRun(self._freer(self._places(job, riders)))
            token = _CURRENT.set(run)
            try:
                # Every line the handler logs carries the job's id and kind (desk.logs).
                with job_context(job.id, job.kind):
                    if job.kind in w.registry.batches:
                        succeeded = await w._handle_batch(jobs)
                    else:
                        succeeded = jobs if await w._handle(job, riders) else []
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Their failures could not be recorded (the database went away): their leases
                # lapse and they run again.
                w.trouble(exc)
                succeeded = []
            finally:
                _CURRENT.reset(token)
            recorded = [done for done in succeeded if done.id in run.recorded]
            if recorded:
                _log_done(recorded)
            to_record = [done for done in succeeded if done.id not in run.recorded]
            if to_record:
                self.done.extend(to_record)
                self.done_event.set()
            kept = {finished.id for finished in to_record}
            for finished in jobs:
                if finished.id not in kept:
                    self.held.pop(finished.id, None)
            run.answered()  # if the handler did not say so (or is not a batch handler)

    async def _recorder(self) -> None:
        w = self.worker
        while True:
            await self.done_event.wait()
            self.done_event.clear()
            batch, self.done = self.done, []
            if batch:
                try:
                    recorded = await services.complete_many(jobs=batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    w.trouble(exc)
                    if not self.closing:
                        # Kept for the next try; their leases are still extended meanwhile.
                        self.done[:0] = batch
                        await asyncio.sleep(min(w.poll_interval, 1.0))
                        self.done_event.set()
                        continue
                    recorded = len(batch)  # given up: the leases lapse, the jobs run again
                for job in batch:
                    self.held.pop(job.id, None)
                _log_done(batch)
                if recorded < len(batch):
                    log.warning(
                        "%s done jobs had been taken over by another worker meanwhile",
                        len(batch) - recorded,
                    )
            if self.closing and not self.done:
                return

    async def _heartbeat(self) -> None:
        """Extend every held job's lease every third of it, in one statement. Should a lease
        still lapse (the database out of reach for a whole lease), another worker may take the
        job, and this worker's outcome is not recorded (services.complete_many, fail)."""
        w = self.worker
        while True:
            await asyncio.sleep(w.lease_seconds / 3)
            jobs = list(self.held.values())
            try:
                extended = await services.extend_leases(jobs=jobs, lease_seconds=w.lease_seconds)
            except Exception:
                log.warning("leases of %s jobs not extended this time", len(jobs), exc_info=True)
                continue
            still = sum(1 for job in jobs if job.id in self.held)
            if extended < still:
                log.warning(
                    "%s jobs: lease lost, another worker has taken them over", still - extended
                )

    async def _maintenance(self) -> None:
        w = self.worker
        while not w.stopping.is_set():
            if w.maintenance_due():
                await w.maintain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(w.stopping.wait(), timeout=min(w.maintenance_interval, 5.0))


def _log_done(batch: list[OutboxJob]) -> None:
    """One line per kind: "3 jobs (delivery.dispatch) done: 17, 18, 19"."""
    by_kind: dict[str, list[str]] = {}
    for job in batch:
        by_kind.setdefault(job.kind, []).append(str(job.id))
    for kind, ids in by_kind.items():
        log.info("%s jobs (%s) done: %s", len(ids), kind, ", ".join(ids))


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
