"""The PostgreSQL pool gives connections back without asyncpg's reset query, which is safe only
while the desk leaves no session state on a pooled connection (desk.db.keep_session)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from desk.db import PLAN_LIFETIME_S, connected, connection_config, keep_session
from desk.settings import PROJECT_ROOT


def test_postgres_pool_skips_the_reset_query_and_sqlite_keeps_its_client() -> None:
    postgres = connection_config("postgres://desk@127.0.0.1:5432/desk")
    assert isinstance(postgres, dict)
    assert postgres["credentials"]["reset"] is keep_session
    # A plan is made again every few seconds, for the tables as they have grown (desk.db).
    assert postgres["credentials"]["max_cached_statement_lifetime"] == PLAN_LIFETIME_S
    assert 0 < PLAN_LIFETIME_S < 300
    sqlite = connection_config("sqlite:///tmp/desk.sqlite3")
    assert isinstance(sqlite, dict)
    assert sqlite["engine"] == "desk.db_sqlite"
    assert "reset" not in sqlite["credentials"]


# Session state that would outlive a statement on a pooled connection, and the one module allowed
# to hold it (the worker's own listening connection, outside the pool).
_SESSION_STATE = re.compile(
    r"pg_advisory_lock\(|pg_try_advisory_lock\(|[\"']\s*LISTEN\b|[\"']\s*SET\s+(SESSION\s+)?\w+\s*(=|TO)\b"
    r"|DECLARE\s+\w+\s+CURSOR\s+WITH\s+HOLD|\bPREPARE\s+\w+\s+AS",
    re.IGNORECASE,
)


def test_no_module_leaves_session_state_on_a_pooled_connection() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "desk").rglob("*.py"))
        if "migrations" not in path.parts
        and path != PROJECT_ROOT / "desk" / "outbox" / "wakeup.py"
        and _SESSION_STATE.search(Path(path).read_text())
    ]
    assert offenders == []


async def test_a_failed_transaction_leaves_nothing_for_the_next_user(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("the pool's reset is PostgreSQL's")
    async with connected(database_url):
        with pytest.raises(RuntimeError):
            async with in_transaction() as conn:
                await conn.execute_query("SELECT pg_advisory_xact_lock(424242)")
                await conn.execute_query("CREATE TEMP TABLE left_behind (x int) ON COMMIT DROP")
                raise RuntimeError("the route failed")
        conn = connections.get("default")
        # Every pooled connection in turn: none is still in a transaction or holds the lock.
        for _ in range(6):
            _, rows = await conn.execute_query(
                "SELECT count(*) AS held FROM pg_locks WHERE locktype = 'advisory' "
                "AND objid = 424242"
            )
            assert rows[0]["held"] == 0
            _, rows = await conn.execute_query("SELECT to_regclass('left_behind') IS NULL AS gone")
            assert rows[0]["gone"] is True


async def test_a_prepared_statement_is_planned_again_once_its_lifetime_is_over(
    database_url: str,
) -> None:
    """After five runs PostgreSQL may keep a generic plan for a prepared statement's life, made
    for the tables as they were: the desk's connections prepare a statement again once it is
    PLAN_LIFETIME_S old, and it is planned afresh for the tables as they have grown."""
    if not database_url.startswith("postgres"):
        pytest.skip("PostgreSQL's prepared statements")
    query = "SELECT id FROM outbox_job WHERE id = ANY($1::int[]) AND kind <> 'plan-lifetime'"
    plans = (
        "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements WHERE statement = $1"
    )
    async with connected(database_url), in_transaction() as conn:
        # One session throughout: a transaction keeps its connection.
        for _ in range(6):
            await conn.execute_query(query, [[1, 2, 3]])
        _, before = await conn.execute_query(plans, [query])
        await asyncio.sleep(PLAN_LIFETIME_S + 0.5)
        await conn.execute_query(query, [[1, 2, 3]])
        _, after = await conn.execute_query(plans, [query])
    assert [int(row[1]) for row in before] == [6]
    # The old statement closed, a new one prepared and planned once so far.
    assert [int(row[1]) for row in after] == [1]
    assert after[0][0] != before[0][0]
