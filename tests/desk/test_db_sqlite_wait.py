"""A write transaction waiting for another process's SQLite write lock does not hold the
process's one connection: reads go on meanwhile, and writers of two processes all get through."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext
from tortoise.exceptions import TransactionManagementError

from desk.db_sqlite import ImmediateSqliteClient
from desk.dbstatus import is_database_unavailable

pytestmark = pytest.mark.functional

WRITES_PER_PROCESS = 150

# Each transaction reads the last number then inserts the next: two processes racing without
# the write lock taken up front would fail ("database is locked") or collide (UNIQUE).
_WRITER = """
import asyncio, sys
from tortoise.context import TortoiseContext
from desk.db_sqlite import ImmediateSqliteClient

async def main(path: str, who: str, count: int) -> None:
    async with TortoiseContext():
        client = ImmediateSqliteClient(path, connection_name="default")
        await client.create_connection(with_db=True)
        for _ in range(count):
            async with client._in_transaction() as tx:
                _, rows = await tx.execute_query("SELECT coalesce(max(n), 0) FROM counter")
                await tx.execute_query(
                    "INSERT INTO counter (n, who) VALUES (?, ?)", [tuple(rows[0])[0] + 1, who]
                )
        await client.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def _create(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE counter (n INTEGER NOT NULL UNIQUE, who TEXT NOT NULL)")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[ImmediateSqliteClient]:
    path = tmp_path / "wait.sqlite3"
    _create(path)
    async with TortoiseContext():
        client = ImmediateSqliteClient(str(path), connection_name="default", busy_timeout=3_000)
        await client.create_connection(with_db=True)
        yield client
        await client.close()


@pytest.fixture
def other_process_lock(client: ImmediateSqliteClient) -> sqlite3.Connection:
    """Another connection to the file, as another process's: it holds the write lock."""
    holder = sqlite3.connect(client.filename, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO counter (n, who) VALUES (1, 'other')")
    return holder


async def _write(client: ImmediateSqliteClient, who: str) -> None:
    async with client._in_transaction() as tx:
        _, rows = await tx.execute_query("SELECT coalesce(max(n), 0) FROM counter")
        await tx.execute_query(
            "INSERT INTO counter (n, who) VALUES (?, ?)", [tuple(rows[0])[0] + 1, who]
        )


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "two.sqlite3"
    _create(path)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), who, str(WRITES_PER_PROCESS)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("web", "worker")
    ]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert not any("locked" in e for e in errors)
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT n, who FROM counter ORDER BY n").fetchall()
    assert [n for n, _ in rows] == list(range(1, 2 * WRITES_PER_PROCESS + 1))
    assert sorted({who for _, who in rows}) == ["web", "worker"]
    assert sum(who == "web" for _, who in rows) == WRITES_PER_PROCESS


async def test_a_read_is_not_held_behind_a_writer_waiting_for_another_process(
    client: ImmediateSqliteClient, other_process_lock: sqlite3.Connection
) -> None:
    writer = asyncio.create_task(_write(client, "web"))
    await asyncio.sleep(0.1)  # lets the writer start waiting; nothing is measured
    _, rows = await client.execute_query("SELECT count(*) FROM counter")
    assert tuple(rows[0])[0] == 0  # the other process's row is not committed yet
    assert not writer.done()
    other_process_lock.execute("COMMIT")
    other_process_lock.close()
    await writer
    _, rows = await client.execute_query("SELECT n, who FROM counter ORDER BY n")
    assert [tuple(r) for r in rows] == [(1, "other"), (2, "web")]


async def test_a_writer_still_locked_out_at_the_busy_timeout_fails_as_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "short.sqlite3"
    _create(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    async with TortoiseContext():
        client = ImmediateSqliteClient(str(path), connection_name="default", busy_timeout=50)
        await client.create_connection(with_db=True)
        with pytest.raises(TransactionManagementError) as failed:
            await _write(client, "web")
        assert is_database_unavailable(failed.value)
        holder.execute("ROLLBACK")
        holder.close()
        await _write(client, "web")
        _, rows = await client.execute_query("SELECT n, who FROM counter")
        assert [tuple(r) for r in rows] == [(1, "web")]
        await client.close()


async def test_a_writer_cancelled_while_waiting_leaves_the_connection_usable(
    client: ImmediateSqliteClient, other_process_lock: sqlite3.Connection
) -> None:
    writer = asyncio.create_task(_write(client, "cancelled"))
    await asyncio.sleep(0.05)
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    other_process_lock.execute("COMMIT")
    other_process_lock.close()
    await _write(client, "web")
    assert client._connection is not None
    assert not client._connection._conn.in_transaction
    _, rows = await client.execute_query("SELECT n, who FROM counter ORDER BY n")
    assert [tuple(r) for r in rows] == [(1, "other"), (2, "web")]
