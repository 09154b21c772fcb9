"""desk.dbstatus.is_write_conflict on a real PostgreSQL deadlock: two sessions each locking
the row the other wants. The filing group commit writes each filing alone on it."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import asyncpg
import pytest

from desk.dbstatus import is_write_conflict
from desk.outbox.wakeup import listen_dsn


async def test_a_postgresql_deadlock_is_a_write_conflict_and_other_errors_are_not() -> None:
    dsn = listen_dsn(os.environ.get("DESK_TEST_DATABASE_URL", ""))
    if dsn is None:
        pytest.skip("needs DESK_TEST_DATABASE_URL (PostgreSQL)")
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        await first.execute(
            "DROP TABLE IF EXISTS deadlock_pair; "
            "CREATE TABLE deadlock_pair (id int PRIMARY KEY); "
            "INSERT INTO deadlock_pair VALUES (1), (2)"
        )
        one, two = first.transaction(), second.transaction()
        await one.start()
        await two.start()
        await first.execute("UPDATE deadlock_pair SET id = id WHERE id = 1")
        await second.execute("UPDATE deadlock_pair SET id = id WHERE id = 2")
        crossed = await asyncio.gather(
            first.execute("UPDATE deadlock_pair SET id = id WHERE id = 2"),
            second.execute("UPDATE deadlock_pair SET id = id WHERE id = 1"),
            return_exceptions=True,
        )
        failed = [e for e in crossed if isinstance(e, BaseException)]
        assert len(failed) == 1 and is_write_conflict(failed[0])
        await one.rollback()
        await two.rollback()
        with pytest.raises(asyncpg.UniqueViolationError) as taken:
            await first.execute("INSERT INTO deadlock_pair VALUES (1)")
        assert not is_write_conflict(taken.value)
        assert not is_write_conflict(sqlite3.OperationalError("database is locked"))
    finally:
        await first.execute("DROP TABLE IF EXISTS deadlock_pair")
        await first.close()
        await second.close()
