"""A database that cannot be written right now (SQLite locked by another writer) is a 503 with
Retry-After, in French for people and as problem+json for machines; never a 500."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.exceptions import IntegrityError, OperationalError

from desk.app import create_app
from desk.dbstatus import is_database_unavailable
from desk.settings import Settings


def _locking_connection(database_url: str) -> sqlite3.Connection:
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    return lock


async def test_a_locked_sqlite_database_gives_503_then_serves_again(settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite's writer lock")
    # Another writer holds the lock longer than the desk waits for it (50 ms instead of 5 s).
    settings = replace(settings, database_url=settings.database_url + "?busy_timeout=50")
    EXECUTOR_CACHE.clear()
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await client.get("/connexion")
            form = {"csrftoken": client.cookies["csrftoken"], "email": "lock@exemple.invalid"}
            lock = _locking_connection(settings.database_url)
            try:
                page = await client.post("/connexion", data=form)
                machine = await client.post(
                    "/connexion", data=form, headers={"Accept": "application/json"}
                )
            finally:
                lock.rollback()
                lock.close()
            again = await client.post("/connexion", data=form)

    assert page.status_code == 503
    assert page.headers["retry-after"].isdigit()
    assert "Le guichet est momentanément indisponible" in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert machine.status_code == 503
    assert machine.headers["content-type"].startswith("application/problem+json")
    assert machine.json()["status"] == 503
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (OperationalError(sqlite3.OperationalError("attempt to write a readonly database")), True),
        (OperationalError("syntax error at or near SELEC"), False),
        (IntegrityError("UNIQUE constraint failed"), False),
        (ConnectionRefusedError(111, "refused"), False),  # not raised by a database driver
        (ValueError("x"), False),
        (
            asyncpg.exceptions.InterfaceError(
                "cannot call Connection.fetch(): connection has been released back to the pool"
            ),
            True,
        ),
        (asyncpg.exceptions.InterfaceError("another operation is in progress"), False),
    ],
)
def test_what_counts_as_the_database_being_away(exc: Exception, unavailable: bool) -> None:
    assert is_database_unavailable(exc) is unavailable
