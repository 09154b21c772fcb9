"""Writing filed requests: many filings in one transaction, one commit for all (group commit).

A filing's transaction is short (a request, its deliveries, their first events and dispatch
jobs), but its commit waits for the disk (`synchronous=FULL` on SQLite: an fsync, about 3 ms on
the bench box) and, on SQLite, for the one write lock every process shares; the process's one
SQLite connection is held meanwhile, so concurrent filings of a process queued behind each
other's commits (bench/concurrent_load.py --mode intake: 8–9 ms per filing, serialised).
Filings that arrive while a transaction is running wait for it, then are written together:
one BEGIN, one statement per table for all of them, one NOTIFY, one commit. A filing alone is
written at once, as before; nobody waits for company.

Nothing is shared between filings but the transaction: a repeated submission key (or a
reference drawn twice) skips that filing's row (ON CONFLICT DO NOTHING) and its caller is
told, so the others are written; any other error of a row's data undoes the group, and each
of its filings is then written alone, so one bad filing fails only its own caller. Every
filing answered has been committed, as before.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.db_rows import insert_returning, insert_rows
from desk.outbox.services import enqueue_new
from desk.requests.audit import first_event_rows
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RightsRequest

# One group at most: enough for every filing a process has in flight at once; a group's
# statements stay far below the parameters one statement takes (desk.db_rows).
MAX_FILINGS = 64
MAX_DELIVERIES = 4_000


@dataclass
class Filing:
    """One request to write, its values all known before the transaction."""

    request: dict[str, Any]  # RightsRequest's fields (reference, resident_id, kind, ...)
    targets: list[int]  # signatory ids, sorted
    received: datetime
    actor: str
    actor_detail: dict[str, Any] = field(default_factory=dict)


async def write_filings(
    filings: list[Filing], connection: BaseDBAsyncClient
) -> list[RightsRequest | None]:
    """Write the filings in the caller's transaction; for each, its request, or None when its
    row was skipped (its submission key or reference is taken)."""
    written = await insert_returning(
        RightsRequest,
        shared={},
        rows=[{**f.request, "created_at": f.received} for f in filings],
        returning=("id", "reference"),
        connection=connection,
        skip_conflicts=True,
    )
    ids = {str(row["reference"]): int(row["id"]) for row in written}
    kept = [(f, ids[f.request["reference"]]) for f in filings if f.request["reference"] in ids]
    if kept:
        await _write_deliveries(kept, connection)
    results: list[RightsRequest | None] = []
    for f in filings:
        pk = ids.get(f.request["reference"])
        results.append(None if pk is None else _as_model(f, pk))
    return results


async def _write_deliveries(kept: list[tuple[Filing, int]], connection: BaseDBAsyncClient) -> None:
    """Deliveries, their first events and their dispatch jobs: three statements for the lot."""
    rows = []
    for f, request_id in kept:
        due = clock.add_months(f.received, 1)
        rows += [
            {
                "request_id": request_id, "signatory_id": sid, "received_at": f.received,
                "due_at": due, "updated_at": f.received,
            }
            for sid in f.targets
        ]  # fmt: skip
    created = await insert_returning(
        Delivery,
        shared={"state": DeliveryState.PENDING},
        rows=rows,
        returning=("id", "request_id"),
        connection=connection,
    )
    by_request: dict[int, list[int]] = {}
    for row in created:
        by_request.setdefault(int(row["request_id"]), []).append(int(row["id"]))
    events: list[dict[str, Any]] = []
    delivery_ids: list[int] = []
    for f, request_id in kept:
        mine = sorted(by_request.get(request_id, []))
        delivery_ids += mine
        events += first_event_rows(
            delivery_ids=mine, action="file", actor=f.actor,
            state=DeliveryState.PENDING.value, detail=f.actor_detail, at=f.received,
        )  # fmt: skip
    await insert_rows(DeliveryEvent, shared={}, rows=events, connection=connection)
    await enqueue_new(
        kind="delivery.dispatch",
        jobs=[(f"dispatch-{i}", {"delivery_id": i}) for i in delivery_ids],
        connection=connection,
    )


def _as_model(f: Filing, pk: int) -> RightsRequest:
    """The request as `RightsRequest.create` would have returned it."""
    request = RightsRequest(**f.request, created_at=f.received)
    request.id = pk
    request._saved_in_db = True
    return request


def in_open_transaction() -> bool:
    """Whether the caller runs inside a transaction (a mediator's filing and what goes with
    it): its filing is written there, not in a group's transaction of its own."""
    return isinstance(get_connections().get("default"), TransactionalDBClient)


@dataclass
class _Waiting:
    filing: Filing
    answer: asyncio.Future[RightsRequest | None]


class GroupCommit:
    """Filings queued while a transaction runs; one task writes them group by group."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def file(self, filing: Filing) -> RightsRequest | None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing carries over
            self._loop, self._queue, self._writer = loop, [], None
        waiting = _Waiting(filing, loop.create_future())
        self._queue.append(waiting)
        if self._writer is None:
            self._writer = loop.create_task(self._drain())
        # A caller cancelled meanwhile (the client went away) leaves its filing to be written:
        # the resident may send the form again, and its submission key finds it.
        return await waiting.answer

    async def _drain(self) -> None:
        group: list[_Waiting] = []
        try:
            while self._queue:
                group = self._take()
                await self._write(group)
                group = []
        except BaseException:
            # Stopped (the process shuts down): nobody waits forever.
            for waiting in group + self._queue:
                if not waiting.answer.done():
                    waiting.answer.cancel()
            self._queue = []
            raise
        finally:
            self._writer = None

    def _take(self) -> list[_Waiting]:
        group: list[_Waiting] = []
        deliveries = 0
        while self._queue and len(group) < MAX_FILINGS:
            deliveries += len(self._queue[0].filing.targets)
            if group and deliveries > MAX_DELIVERIES:
                break
            group.append(self._queue.pop(0))
        return group

    async def _write(self, group: list[_Waiting]) -> None:
        try:
            async with in_transaction() as connection:
                results = await write_filings([w.filing for w in group], connection)
        except IntegrityError as exc:
            if len(group) > 1:
                # One filing's data (a resident or signatory deleted meanwhile): each alone.
                for waiting in group:
                    await self._write([waiting])
                return
            _tell(group, exc)
            return
        except Exception as exc:  # the database itself (locked, gone): the same for all
            _tell(group, exc)
            return
        for waiting, result in zip(group, results, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(result)


def _tell(group: list[_Waiting], exc: Exception) -> None:
    for waiting in group:
        if not waiting.answer.done():
            waiting.answer.set_exception(exc)


GROUP = GroupCommit()
