"""Closed requests reduced in batches: many at once, bounded runs, two workers at a time."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.requests.audit import verify_events
from desk.requests.models import Delivery, DeliveryEvent, RightsRequest
from desk.retention import rules as retention
from desk.retention.closed_requests import reduce_requests
from desk.retention.jobs import run_retention
from desk.retention.rules import RetentionReport
from tests.desk.retention.test_retention import (
    SECOND,
    _closed_at,
    _closed_request,
    _holds_all,
    _holds_none,
    _stored_text,
)
from tests.factories import make_resident
from tests.helpers import column

REQUESTS = 7
BATCH = 3  # 7 requests: three batches


async def _history(app: Starlette) -> list[RightsRequest]:
    resident = await make_resident()
    return [await _closed_request(app, resident) for _ in range(REQUESTS)]


async def _snapshot() -> str:
    """Every column of the reduced tables, to tell whether a run changed anything at all."""
    rows = [
        await RightsRequest.all().order_by("id").values(),
        await Delivery.all().order_by("id").values(),
        await DeliveryEvent.all().order_by("id").values(),
    ]
    return json.dumps(rows, default=str, ensure_ascii=False)


async def _due_moment(requests: list[RightsRequest]) -> datetime:
    closed = max([await _closed_at(r) for r in requests])
    return clock.add_months(closed, 12) + SECOND


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", BATCH)


async def test_many_requests_are_reduced_batch_by_batch_and_still_verify(
    app: Starlette, small_batches: None
) -> None:
    requests = await _history(app)
    now = await _due_moment(requests)

    report = await run_retention(now=now)
    assert (report.requests_reduced, report.texts_removed) == (REQUESTS, 4 * REQUESTS)
    assert report.legacy_texts_kept == 0
    assert await RightsRequest.filter(reduced_at__isnull=True).count() == 0
    assert _holds_none(await _stored_text())
    checked, problems = await verify_events()
    assert problems == [] and checked == await DeliveryEvent.all().count()
    outcomes = await column(Delivery.filter(state="fulfilled"), "outcome")
    assert len(outcomes) == REQUESTS
    assert all(o["erased_categories"] == ["coordonnées"] and "note" not in o for o in outcomes)

    before = await _snapshot()
    again = await run_retention(now=now)
    assert not again.changed
    assert await _snapshot() == before


async def test_a_bounded_run_reduces_one_batch_and_the_next_run_goes_on(
    app: Starlette, small_batches: None
) -> None:
    requests = await _history(app)
    now = await _due_moment(requests)

    # No time at all: still one batch, so every run makes progress.
    first = await run_retention(now=now, reduction_budget=0)
    assert first.requests_reduced == BATCH
    assert _holds_all(await _stored_text())  # the other requests still hold their text
    second = await run_retention(now=now, reduction_budget=0)
    assert second.requests_reduced == BATCH
    rest = await run_retention(now=now)
    assert rest.requests_reduced == REQUESTS - 2 * BATCH
    assert _holds_none(await _stored_text())
    assert (await verify_events())[1] == []


async def test_a_request_reduced_meanwhile_by_another_worker_is_skipped_whole(
    app: Starlette,
) -> None:
    requests = await _history(app)
    ids = sorted(r.id for r in requests)
    now = clock.now()
    other = RetentionReport()
    async with in_transaction() as conn:
        assert await reduce_requests(ids[:3], now=now, conn=conn, report=other) == ids[:3]
    mine = RetentionReport()
    async with in_transaction() as conn:
        # This worker picked every request before the other one committed.
        assert await reduce_requests(ids, now=now, conn=conn, report=mine) == ids[3:]
    assert (other.requests_reduced, mine.requests_reduced) == (3, REQUESTS - 3)
    assert other.texts_removed + mine.texts_removed == 4 * REQUESTS
    assert (await verify_events())[1] == []


async def test_two_runs_at_once_reduce_each_request_once(app: Starlette) -> None:
    requests = await _history(app)
    now = await _due_moment(requests)
    reports = await asyncio.gather(
        run_retention(now=now),
        run_retention(now=now),
    )
    assert sum(r.requests_reduced for r in reports) == REQUESTS
    assert sum(r.texts_removed for r in reports) == 4 * REQUESTS
    assert _holds_none(await _stored_text())
    assert (await verify_events())[1] == []
