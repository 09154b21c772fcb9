"""The statistics overview computed by PostgreSQL: same definitions as desk.statistics.figures.

Reading a year of deliveries into Python took 20 s for 1.7 million deliveries (bench/scale.py);
here the database counts, and computes the median (percentile_cont) and the nearest-rank 90th
percentile (percentile_disc) of response times, per signatory and for all of them at once
(GROUPING SETS). Only a few hundred rows come back. SQLite, which has no percentiles, keeps the
Python computation: its deployments are small.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.requests.models import Delivery
from desk.requests.states import FINAL_STATES

ANSWERS = ("fulfilled", "denied")
PERIOD = "d.received_at >= $1 AND d.received_at < $2"


def supported() -> bool:
    return str(Delivery._meta.db.capabilities.dialect) == "postgres"


def _connection() -> BaseDBAsyncClient:
    connection: BaseDBAsyncClient = Delivery._meta.db
    return connection


def _days(value: timedelta | None) -> float | None:
    return value.total_seconds() / 86400.0 if value is not None else None


async def _rows(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    return list(await _connection().execute_query_dict(sql, values))


async def aggregates(*, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Per signatory id (None: every signatory): counts by kind, answers and their times,
    open and overdue deliveries; and per local month: received, answered, on time."""
    finals = ", ".join(f"'{s.value}'" for s in sorted(FINAL_STATES))
    answers = ", ".join(f"'{s}'" for s in ANSWERS)
    by_kind = await _rows(
        "SELECT d.signatory_id AS sid, r.kind AS kind, count(*) AS n "
        "FROM delivery d JOIN rights_request r ON r.id = d.request_id "
        f"WHERE {PERIOD} GROUP BY d.signatory_id, r.kind",
        [start, end],
    )
    answered = await _rows(
        "SELECT CASE WHEN GROUPING(d.signatory_id) = 1 THEN NULL ELSE d.signatory_id END AS sid,"
        " count(*) AS answered,"
        " count(*) FILTER (WHERE d.completed_at <= d.due_at) AS on_time,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY d.completed_at - d.received_at) AS median,"
        " percentile_disc(0.9) WITHIN GROUP (ORDER BY d.completed_at - d.received_at) AS p90 "
        f"FROM delivery d WHERE {PERIOD} AND d.state IN ({answers}) "
        "AND d.completed_at IS NOT NULL GROUP BY GROUPING SETS ((d.signatory_id), ())",
        [start, end],
    )
    still_open = await _rows(
        "SELECT d.signatory_id AS sid, count(*) AS open_now,"
        " count(*) FILTER (WHERE d.due_at < $3 AND d.paused_since IS NULL) AS overdue "
        f"FROM delivery d WHERE {PERIOD} AND d.state NOT IN ({finals}) "
        "GROUP BY d.signatory_id",
        [start, end, now],
    )
    months = await _rows(
        "SELECT (date_trunc('month', d.received_at AT TIME ZONE 'Europe/Paris'))::date AS month,"
        " count(*) AS received,"
        f" count(*) FILTER (WHERE d.state IN ({answers}) AND d.completed_at IS NOT NULL)"
        " AS answered,"
        f" count(*) FILTER (WHERE d.state IN ({answers}) AND d.completed_at IS NOT NULL"
        " AND d.completed_at <= d.due_at) AS on_time "
        f"FROM delivery d WHERE {PERIOD} GROUP BY 1",
        [start, end],
    )
    kinds: dict[int, dict[str, int]] = defaultdict(dict)
    for row in by_kind:
        kinds[int(row["sid"])][str(row["kind"])] = int(row["n"])
    return {
        "kinds": kinds,
        "answers": {
            (int(row["sid"]) if row["sid"] is not None else None): (
                int(row["answered"]),
                int(row["on_time"]),
                _days(row["median"]),
                _days(row["p90"]),
            )
            for row in answered
        },
        "open": {
            int(row["sid"]): (int(row["open_now"]), int(row["overdue"])) for row in still_open
        },
        "months": {
            row["month"]
            if isinstance(row["month"], date)
            else date.fromisoformat(str(row["month"])): (
                int(row["received"]),
                int(row["answered"]),
                int(row["on_time"]),
            )
            for row in months
        },
    }
