"""Tortoise's SQLite client, with write transactions that take the write lock up front.

A deferred transaction (plain BEGIN) that reads and then writes fails at once with "database
is locked" when another process wrote in between: SQLite cannot upgrade its stale read
snapshot, and the busy timeout does not apply to that case. `BEGIN IMMEDIATE` asks for the
write lock before the first read, so a second process waits (up to the busy timeout) instead
of failing, and web and worker processes share one file. Reads outside transactions stay
lock-free (WAL).

A statement's count of changed rows is its own (`sqlite3_changes`), as on PostgreSQL: Tortoise
counts the connection's total changes, which include the rows triggers write (the dashboard's
change log, migration 0020_dash), so an UPDATE of one row said it changed two.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.exceptions import TransactionManagementError

# Long enough to queue behind a burst of other processes' short transactions (each holds the
# lock for milliseconds); short enough that a stuck writer shows as a 503, not a hang.
DEFAULT_BUSY_TIMEOUT_MS = 15_000


def _fetch_counting(
    conn: sqlite3.Connection, sql: str, parameters: Sequence[Any]
) -> tuple[int, list[Any]]:
    """In the connection's thread: the rows, and how many the statement itself changed."""
    cursor = conn.execute(sql, parameters)
    rows = cursor.fetchall()
    return max(cursor.rowcount, 0), rows


async def _execute_query(
    client: SqliteClient, query: str, values: list[Any] | None
) -> tuple[int, Sequence[dict[str, Any]]]:
    query = query.replace("\x00", "'||CHAR(0)||'")
    async with client.acquire_connection() as connection:
        client.log.debug("%s: %s", query, values)
        changed, rows = await connection._execute(
            _fetch_counting, connection._conn, query, values or []
        )
        return changed or len(rows), rows


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        return await _execute_query(self, query, values)

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", DEFAULT_BUSY_TIMEOUT_MS)
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        return await _execute_query(self, query, values)


client_class = ImmediateSqliteClient
