"""Snapshots of the public statistics: computed by the worker, read by /statistiques.

Counting five million deliveries takes seconds, and the figures change slowly: the worker
stores the page's overview every few minutes (StatisticsSnapshot, one row per period key) and
the page shows it while it is younger than `statistics_max_age`. Without a fresh snapshot (a
fresh install, the worker stopped, another period) the page computes live and stores what it
found; two computations at once only write the same row twice (upsert by key).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from desk.core import clock
from desk.runtime import Runtime
from desk.statistics import figures as statistics
from desk.statistics.figures import MonthPoint, Overview, SignatoryStats
from desk.statistics.models import StatisticsSnapshot

log = logging.getLogger("desk.statistics.snapshot")


def page_period(now: datetime) -> tuple[str, datetime, datetime]:
    """The key and bounds of the page's period: the twelve months ending now, named by the
    first month, so the key changes when a month starts."""
    start, end = statistics.last_twelve_months(now)
    return f"last-12-months:{clock.local(start):%Y-%m}", start, end


def period_key(start: datetime, end: datetime) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


def _stats_to_json(stats: SignatoryStats) -> dict[str, Any]:
    return {
        "slug": stats.slug,
        "name": stats.name,
        "received_by_kind": dict(stats.received_by_kind),
        "answered": stats.answered,
        "median_days": _float(stats.median_days),
        "p90_days": _float(stats.p90_days),
        "on_time_share": _float(stats.on_time_share),
        "open_now": stats.open_now,
        "overdue_now": stats.overdue_now,
        "alerts": stats.alerts,
    }


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _stats_from_json(data: dict[str, Any]) -> SignatoryStats:
    return SignatoryStats(
        slug=str(data["slug"]),
        name=str(data["name"]),
        received_by_kind={str(k): int(v) for k, v in data["received_by_kind"].items()},
        answered=int(data["answered"]),
        median_days=_float(data["median_days"]),
        p90_days=_float(data["p90_days"]),
        on_time_share=_float(data["on_time_share"]),
        open_now=int(data["open_now"]),
        overdue_now=int(data["overdue_now"]),
        alerts=int(data["alerts"]),
    )


def overview_to_json(overview: Overview) -> dict[str, Any]:
    return {
        "start": overview.start.isoformat(),
        "end": overview.end.isoformat(),
        "now": overview.now.isoformat(),
        "signatories": [_stats_to_json(s) for s in overview.signatories],
        "total": _stats_to_json(overview.total),
        "months": [
            [m.month.isoformat(), m.received, m.answered, m.answered_on_time]
            for m in overview.months
        ],
    }


def overview_from_json(data: dict[str, Any]) -> Overview:
    return Overview(
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        now=datetime.fromisoformat(data["now"]),
        signatories=[_stats_from_json(s) for s in data["signatories"]],
        total=_stats_from_json(data["total"]),
        months=[
            MonthPoint(date.fromisoformat(m), int(received), int(answered), int(on_time))
            for m, received, answered, on_time in data["months"]
        ],
    )


async def store(*, key: str, overview: Overview) -> None:
    """Upsert by key: whoever writes last wins, and both wrote true figures."""
    values: dict[str, Any] = {"computed_at": overview.now, "payload": overview_to_json(overview)}
    if await StatisticsSnapshot.filter(key=key).update(**values):
        return
    try:
        await StatisticsSnapshot.create(key=key, **values)
    except IntegrityError:  # another process created it meanwhile
        await StatisticsSnapshot.filter(key=key).update(**values)


async def fresh(*, key: str, now: datetime, max_age: float) -> Overview | None:
    """The stored overview when computed at most `max_age` seconds before `now`."""
    snapshot = await StatisticsSnapshot.filter(
        key=key,
        computed_at__gt=now - timedelta(seconds=max_age),
        computed_at__lte=now,
    ).first()
    return None if snapshot is None else overview_from_json(snapshot.payload)


async def overview(
    *, key: str, start: datetime, end: datetime, now: datetime, max_age: float
) -> Overview:
    """A fresh snapshot when there is one, else the figures computed now (and stored)."""
    found = await fresh(key=key, now=now, max_age=max_age)
    if found is not None:
        return found
    computed = await statistics.compute_overview(start=start, end=end, now=now)
    await store(key=key, overview=computed)
    return computed


async def page_overview(*, now: datetime, max_age: float) -> Overview:
    key, start, end = page_period(now)
    return await overview(key=key, start=start, end=end, now=now, max_age=max_age)


async def refresh_statistics(rt: Runtime) -> None:
    """The worker's periodic task: recompute the page's snapshot once it is half its maximum
    age, so that visitors find a fresh one and never wait for the computation."""
    now = clock.now()
    max_age = float(rt.settings.statistics_max_age)
    key, start, end = page_period(now)
    if await fresh(key=key, now=now, max_age=max_age / 2) is not None:
        return
    computed = await statistics.compute_overview(start=start, end=end, now=now)
    await store(key=key, overview=computed)
    log.info("statistics snapshot %s computed", key)
