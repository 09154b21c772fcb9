"""Calls made at about the same time by concurrent tasks, served by one batched call.

A worker runs many jobs at once (desk.outbox.lanes); jobs claimed together start together
and each would read or write its own row in its own statement. `Coalesced(work)` gives each
caller the result for its own item while the items of every caller waiting meanwhile go to
`work` together: the first caller starts a run on the next turn of the event loop, callers
arriving during a run wait for the next one. No timer, so a lone caller waits for nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Queue(Generic[T, R]):
    waiting: list[tuple[T, asyncio.Future[R]]] = field(default_factory=list)
    runner: asyncio.Task[None] | None = None


class Coalesced(Generic[T, R]):
    """`await coalesced(item)` is `(await work([item]))[0]`, with concurrent items batched.

    `work` returns one result per item, in order. Should it raise, every caller of that batch
    gets the exception, as each would have from its own call.
    """

    def __init__(self, work: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, limit: int = 200):
        self._work = work
        self._limit = limit
        # One queue per event loop (each test runs its own loop).
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[T, R]] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[R] = loop.create_future()
        queue.waiting.append((item, future))
        if queue.runner is None:
            queue.runner = loop.create_task(self._run(queue))
        return await future

    async def _run(self, queue: _Queue[T, R]) -> None:
        try:
            while queue.waiting:
                batch = queue.waiting[: self._limit]
                del queue.waiting[: self._limit]
                live = [(item, future) for item, future in batch if not future.done()]
                if not live:
                    continue
                try:
                    results = await self._work([item for item, _ in live])
                    if len(results) != len(live):
                        raise ValueError(f"{len(live)} items, {len(results)} results")
                except Exception as exc:
                    for _, future in live:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:
                    for _, future in live:
                        future.cancel()
                    raise
                for (_, future), result in zip(live, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            queue.runner = None
            # Cancelled (the loop is closing): nobody is left waiting for a run that never comes.
            for _, future in queue.waiting:
                future.cancel()
            queue.waiting.clear()
