"""Concurrent calls go to the batched function together; each caller gets its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from desk.core.coalesce import Coalesced


class Doubler:
    def __init__(self, *, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(0)
        if self.fail_on is not None and self.fail_on in items:
            raise LookupError(f"no {self.fail_on}")
        return [2 * item for item in items]


async def test_callers_at_the_same_time_share_one_batch_and_get_their_own_result() -> None:
    work = Doubler()
    double = Coalesced(work)
    assert await asyncio.gather(*(double(n) for n in range(10))) == [2 * n for n in range(10)]
    assert work.batches == [list(range(10))]


async def test_callers_arriving_during_a_batch_go_in_the_next_one() -> None:
    work = Doubler()
    double = Coalesced(work)

    async def late(n: int) -> int:
        await asyncio.sleep(0)  # the first batch has started by now
        return await double(n)

    results = await asyncio.gather(double(1), double(2), late(3), late(4))
    assert list(results) == [2, 4, 6, 8]
    assert work.batches == [[1, 2], [3, 4]]


async def test_a_lone_caller_is_served_at_once() -> None:
    work = Doubler()
    double = Coalesced(work)
    assert await double(7) == 14
    assert await double(8) == 16
    assert work.batches == [[7], [8]]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    work = Doubler(fail_on=2)
    double = Coalesced(work)
    results = await asyncio.gather(double(1), double(2), return_exceptions=True)
    assert [type(r) for r in results] == [LookupError, LookupError]
    assert await double(3) == 6


async def test_a_limit_splits_a_crowd_into_batches() -> None:
    work = Doubler()
    double = Coalesced(work, limit=3)
    assert await asyncio.gather(*(double(n) for n in range(7))) == [2 * n for n in range(7)]
    assert work.batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_cancelled_caller_leaves_the_others_served() -> None:
    work = Doubler()
    double = Coalesced(work)
    gone = asyncio.ensure_future(double(1))
    kept = asyncio.ensure_future(double(2))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == 4
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_batch_answering_for_fewer_items_fails_its_callers() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return list(items)[:-1]

    first = Coalesced(short)
    results = await asyncio.gather(first(1), first(2), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
