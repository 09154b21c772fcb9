"""Is the database there, and is its schema the one on disk? For /readyz and for the 503 a
request gets when the database went away mid-way."""

from __future__ import annotations

import pkgutil
import re
import sqlite3
from dataclasses import dataclass, field

from tortoise import Tortoise
from tortoise.exceptions import DBConnectionError, OperationalError

import desk.migrations

MIGRATIONS_APP = "models"
_MIGRATION_NAME = re.compile(r"^\d{4}_\w+$")

# SQLite's ways of saying "not now" (another writer holds the lock) or "not here" (the file
# cannot be opened or written): the request can be tried again, it is not a bug.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "readonly database",
    "disk i/o error",
    "database or disk is full",
)


def _postgres_unavailable(exc: BaseException) -> bool:
    try:
        # Only a PostgreSQL deployment reaches here: SQLite ones never load asyncpg.
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError  # SQLSTATE class 08
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.TooManyConnectionsError
        | asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.CrashShutdownError
        | asyncpg.exceptions.ConnectionDoesNotExistError,
    ):
        return True
    # Other interface errors ("another operation is in progress") are bugs, not outages. A
    # connection "released back to the pool" is the tail of an outage: the pool handed out a
    # connection the restart had already taken back (seen in tests/faults/test_database_restart).
    markers = ("closed", "closing", "connection was lost", "released back to the pool")
    return isinstance(exc, asyncpg.exceptions.InterfaceError) and any(
        marker in str(exc).lower() for marker in markers
    )


def _from_database_driver(exc: BaseException) -> bool:
    """An OSError (refused, reset, timed out) raised inside the database driver's code."""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if "/asyncpg/" in filename or "/tortoise/" in filename or "/aiosqlite/" in filename:
            return True
        tb = tb.tb_next
    return False


# PostgreSQL's "two transactions each waited for the other" (deadlock_detected) and "your
# snapshot went stale" (serialization_failure): the same statement, run again, may succeed.
_WRITE_CONFLICTS = frozenset({"40P01", "40001"})


def is_write_conflict(exc: BaseException) -> bool:
    """Whether the statement failed only because another transaction wrote the same rows at
    the same moment (read from the SQLSTATE the driver carries, so SQLite processes never
    load asyncpg for it)."""
    return getattr(exc, "sqlstate", None) in _WRITE_CONFLICTS


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBConnectionError) or _postgres_unavailable(current):
            return True
        if isinstance(current, sqlite3.OperationalError | OperationalError):
            message = str(current).lower()
            if any(marker in message for marker in _SQLITE_UNAVAILABLE):
                return True
        if isinstance(current, OSError | TimeoutError) and _from_database_driver(current):
            return True
        if isinstance(current, BaseExceptionGroup):
            if any(is_database_unavailable(inner) for inner in current.exceptions):
                return True
        current = current.__cause__ or current.__context__
    return False


def migrations_on_disk() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(desk.migrations.__path__)]
    return sorted(n for n in names if _MIGRATION_NAME.match(n))


@dataclass
class Readiness:
    database: bool
    pending_migrations: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ready(self) -> bool:
        return self.database and not self.pending_migrations


async def readiness() -> Readiness:
    """Query the database once: reachable, and every migration on disk recorded as applied."""
    try:
        connection = Tortoise.get_connection("default")
        _, rows = await connection.execute_query(
            "SELECT name FROM tortoise_migrations WHERE app = 'models'"
        )
    except Exception as exc:
        if is_database_unavailable(exc) or not Tortoise.is_inited():
            return Readiness(database=False, error=type(exc).__name__)
        # Reachable, but no migrations table yet: nothing was ever applied.
        return Readiness(database=True, pending_migrations=migrations_on_disk())
    applied = {row["name"] for row in rows}
    return Readiness(
        database=True, pending_migrations=[n for n in migrations_on_disk() if n not in applied]
    )
