"""Tortoise's SQLite client, with write transactions that take the write lock up front.

A deferred transaction (plain BEGIN) that reads and then writes fails at once with "database
is locked" when another process wrote in between: SQLite cannot upgrade its stale read
snapshot, and the busy timeout does not apply to that case. `BEGIN IMMEDIATE` asks for the
write lock before the first read, so a second process waits (up to the busy timeout) instead
of failing, and web and worker processes share one file. Reads outside transactions stay
lock-free (WAL).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError

# Long enough to queue behind a burst of other processes' short transactions (each holds the
# lock for milliseconds); short enough that a stuck writer shows as a 503, not a hang.
DEFAULT_BUSY_TIMEOUT_MS = 15_000


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
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


client_class = ImmediateSqliteClient
