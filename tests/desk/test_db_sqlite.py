"""A statement says how many rows it changed itself, not counting the rows database triggers
wrote (the dashboard's change log), on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.transactions import in_transaction

from desk.residents.models import Resident
from tests.factories import make_resident


async def test_an_update_of_a_watched_table_counts_its_own_rows(app: Starlette) -> None:
    first = await make_resident("un@exemple.invalid")
    await make_resident("deux@exemple.invalid")
    assert await Resident.filter(id=first.id).update(locale="en") == 1
    assert await Resident.all().update(locale="fr") == 2
    assert await Resident.filter(id=-1).update(locale="en") == 0
    async with in_transaction():
        assert await Resident.filter(id=first.id).update(locale="en") == 1
    _, rows = await connections.get("default").execute_query("SELECT count(*) FROM dash_change")
    assert tuple(rows[0])[0] >= 5
    assert await Resident.filter(id=first.id).delete() == 1


async def test_a_read_runs_beside_a_write_transaction_and_then_sees_its_commit(
    app: Starlette,
) -> None:
    """SQLite: a process's reads outside a transaction do not queue behind its own write
    transaction (they used to wait for its commit); once committed, a write is read back."""
    if connections.get("default").capabilities.dialect != "sqlite":
        pytest.skip("SQLite's connections")
    first = await make_resident("un@exemple.invalid")
    written, read_meanwhile = asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    async def reader() -> None:
        await written.wait()
        seen.append(await Resident.all().count())
        read_meanwhile.set()

    # Started outside the transaction: a task started inside would share it.
    task = asyncio.create_task(reader())
    async with in_transaction():
        await make_resident("deux@exemple.invalid")
        written.set()
        # Guards against a hang: with one connection the read waited for this commit.
        await asyncio.wait_for(read_meanwhile.wait(), timeout=30)
        assert await Resident.all().count() == 2  # the transaction reads its own write
    await task
    assert seen == [1]  # the uncommitted row was not seen
    assert await Resident.all().count() == 2
    assert await Resident.filter(id=first.id).update(locale="en") == 1
    assert (await Resident.get(id=first.id)).locale == "en"
    # Nothing but reads on the reading connection.
    reading = await connections.get("default")._reading_connection()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await reading.execute("DELETE FROM resident")


async def test_the_write_ahead_log_keeps_its_size_once_checkpointed(app: Starlette) -> None:
    """SQLite: the log is reused from its start after a checkpoint, not cut back to a few KB
    and grown again by appends (each commit's fsync then also wrote the file's size)."""
    client = connections.get("default")
    if client.capabilities.dialect != "sqlite" or not _file_of(client):
        pytest.skip("a SQLite file's write-ahead log")
    wal = Path(_file_of(client) + "-wal")
    for n in range(40):
        await make_resident(f"r{n}-{'x' * 200}@exemple.invalid")
    await client.execute_script("PRAGMA wal_checkpoint(PASSIVE)")
    grown = await asyncio.to_thread(lambda: wal.stat().st_size)
    assert grown > 64 * 1024
    await make_resident("apres@exemple.invalid")
    assert await asyncio.to_thread(lambda: wal.stat().st_size) == grown


def _file_of(client: object) -> str:
    name = str(getattr(client, "filename", ""))
    return "" if name == ":memory:" or "mode=memory" in name else name
