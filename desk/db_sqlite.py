"""Tortoise's SQLite client, with write transactions that take the write lock up front.

A deferred transaction (plain BEGIN) that reads and then writes fails at once with "database
is locked" when another process wrote in between: SQLite cannot upgrade its stale read
snapshot, and the busy timeout does not apply to that case. `BEGIN IMMEDIATE` asks for the
write lock before the first read, so a second process waits (up to the busy timeout) instead
of failing, and web and worker processes share one file. Reads outside transactions stay
lock-free (WAL).

A write transaction never waits inside SQLite's busy handler: that handler sleeps 1 to 100 ms
between tries in the thread of the process's one connection, so every other statement of the
process (a page's reads) waited behind it, and a writer losing the race to another process's
back-to-back transactions waited hundreds of ms. `BEGIN IMMEDIATE` is tried with no busy wait;
when another process holds the write lock, the connection is given back and the try repeated
after a short asyncio sleep, up to the same busy timeout, then the same "database is locked"
(a 503, desk.dbstatus). Statements outside transactions keep the busy timeout.

A statement's count of changed rows is its own (`sqlite3_changes`), as on PostgreSQL: Tortoise
counts the connection's total changes, which include the rows triggers write (the dashboard's
change log, migration 0020_dash), so an UPDATE of one row said it changed two.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from tortoise.backends.base.client import (
    BaseDBAsyncClient,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

T = TypeVar("T")

# Long enough to queue behind a burst of other processes' short transactions (each holds the
# lock for milliseconds); short enough that a stuck writer shows as a 503, not a hang.
DEFAULT_BUSY_TIMEOUT_MS = 15_000
# The write-ahead log is cut back to this size once checkpointed. Tortoise sets 16 KB, so after
# every automatic checkpoint (each 1,000 pages, about 4 MB) the log was truncated and grown again
# by appends, each commit's fsync then also writing the file's new size: a request with 40
# deliveries committed in 1.1 ms, 0.65 ms with the log kept (bench/README.md, sixth pass). Four
# times what a checkpoint leaves is room for readers that held one back.
WAL_SIZE_LIMIT = 16 * 1024 * 1024
# A try at the write lock is one thread round trip (tens of µs); another process's transaction
# holds the lock for 1 to 5 ms.
FIRST_RETRY_S = 0.0005
LAST_RETRY_S = 0.002


def begin_immediate_now(conn: sqlite3.Connection, busy_timeout_ms: int) -> bool:
    """In the connection's thread: BEGIN IMMEDIATE without waiting; False if another process
    holds the write lock."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY:
            return False
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    return True


def own_client(client: BaseDBAsyncClient) -> SqliteClient | None:
    """The client when it is SQLite's own connection (not a transaction's), else None."""
    if isinstance(client, SqliteClient) and not isinstance(client, TransactionalDBClient):
        return client
    return None


def _written(
    conn: sqlite3.Connection,
    busy_timeout_ms: int,
    ready: Callable[[sqlite3.Connection], bool],
    work: Callable[[sqlite3.Connection], T],
) -> tuple[bool, T | None]:
    """In the connection's thread: nothing (True, None) unless `ready`; else `work` in its own
    write transaction, committed; (False, None) when the write lock is another process's."""
    if not ready(conn):
        return True, None
    if not begin_immediate_now(conn, busy_timeout_ms):
        return False, None
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True, result


def _always(conn: sqlite3.Connection) -> bool:
    return True


async def write_in_thread(
    client: SqliteClient,
    work: Callable[[sqlite3.Connection], T],
    ready: Callable[[sqlite3.Connection], bool] = _always,
) -> T | None:
    """`work` in a write transaction of its own, in ONE trip to the connection's thread (each
    statement of a transaction is a trip there and back, an event-loop wake-up, while the
    write lock every process shares is held); None when `ready` said there was nothing to do.
    The write lock is tried as the transactions of ImmediateTransactionContext try it."""
    loop = asyncio.get_running_loop()
    busy_ms = _busy_timeout_ms(client)
    deadline = loop.time() + busy_ms / 1000
    delay = FIRST_RETRY_S
    while True:
        # The client's lock: no other statement of this process runs on the connection
        # meanwhile, and no transaction of it is open (one would hold this lock).
        async with client.acquire_connection() as connection:
            try:
                done, result = await connection._execute(
                    _written, connection._conn, busy_ms, ready, work
                )
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(exc) from exc
            except sqlite3.OperationalError as exc:
                raise OperationalError(exc) from exc
        if done:
            return result  # type: ignore[no-any-return]
        if loop.time() >= deadline:
            locked = sqlite3.OperationalError("database is locked")
            raise TransactionManagementError(locked) from locked
        await asyncio.sleep(delay)
        delay = min(delay * 2, LAST_RETRY_S)


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


def _busy_timeout_ms(client: object) -> int:
    pragmas = getattr(client, "pragmas", {})
    return int(pragmas.get("busy_timeout", DEFAULT_BUSY_TIMEOUT_MS))


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        return await _execute_query(self, query, values)

    async def begin(self) -> None:
        if not await self.try_begin():
            locked = sqlite3.OperationalError("database is locked")
            raise TransactionManagementError(locked) from locked

    async def try_begin(self) -> bool:
        """BEGIN IMMEDIATE now, or False when another process holds the write lock."""
        conn = self._connection
        try:
            began: bool = await conn._execute(  # type: ignore[no-untyped-call]
                begin_immediate_now, conn._conn, _busy_timeout_ms(self._parent)
            )
            return began
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    async def rollback_if_begun(self) -> None:
        if self._connection._conn.in_transaction:
            await self._connection.rollback()


class ImmediateTransactionContext(SqliteTransactionContext):
    """Holds the process's connection lock only while the write lock is held or being tried."""

    connection: ImmediateTransactionWrapper

    async def __aenter__(self) -> TransactionalDBClient:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _busy_timeout_ms(self.connection._parent) / 1000
        delay = FIRST_RETRY_S
        while True:
            await self._trxlock.acquire()
            try:
                await self.ensure_connection()
                began = await self._try_begin()
            except BaseException:
                self._trxlock.release()
                raise
            if began:
                break
            self._trxlock.release()
            if loop.time() >= deadline:
                locked = sqlite3.OperationalError("database is locked")
                raise TransactionManagementError(locked) from locked
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_S)
        self.token = get_connections().set(self.connection_name, self.connection)
        return self.connection

    async def _try_begin(self) -> bool:
        # The try runs to its end in the connection's thread even when the caller is cancelled:
        # a transaction it began is rolled back before the connection is given back.
        attempt = asyncio.ensure_future(self.connection.try_begin())
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await attempt
                await self.connection.rollback_if_begun()
            raise


def _is_read(query: str) -> bool:
    """A plain SELECT: what the reading connection may run (it is opened read-only anyway)."""
    return query.lstrip()[:6].upper() == "SELECT"


def _shared_file(file_path: str) -> bool:
    """Whether a second connection opens the same database (an in-memory one is private)."""
    return bool(file_path) and file_path != ":memory:" and "mode=memory" not in file_path


def file_beside(database_url: str, suffix: str) -> Path | None:
    """A file of the desk's beside an SQLite database (`<database><suffix>`: the workers' lock,
    the filings' pulse); None for PostgreSQL and for a database in memory."""
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    return Path(path + suffix) if _shared_file(path) else None


class ImmediateSqliteClient(SqliteClient):
    """Writes and transactions on the one connection Tortoise gives a process; SELECTs outside
    a transaction on a second, read-only connection.

    With one connection, a page's reads (its session, its person) queued behind a write
    transaction of the same process until its commit (a group of filings: its inserts, then an
    fsync), and behind each other: bench/concurrent_load.py's p99. WAL lets a reader run beside
    the writer; a read after a write of this process sees it (the write was committed before
    it returned: autocommit, or the transaction's end). A read inside a transaction stays on
    the transaction's connection, so it sees that transaction's own writes.
    """

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", DEFAULT_BUSY_TIMEOUT_MS)
        super().__init__(file_path, **kwargs)
        self._reader: aiosqlite.Connection | None = None
        self._reader_opening = asyncio.Lock()
        self._reads_apart = _shared_file(file_path)

    def _in_transaction(self) -> TransactionContext:
        return ImmediateTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    async def _reading_connection(self) -> aiosqlite.Connection:
        if self._reader is None:
            async with self._reader_opening:
                if self._reader is None:
                    reader = await aiosqlite.connect(self.filename, isolation_level=None)
                    reader._conn.row_factory = sqlite3.Row
                    for pragma in ("busy_timeout", "foreign_keys"):
                        if pragma in self.pragmas:
                            await reader.execute(f"PRAGMA {pragma}={self.pragmas[pragma]}")
                    await reader.execute("PRAGMA query_only=ON")
                    self._reader = reader
        return self._reader

    async def _read(self, query: str, values: list[Any] | None) -> list[Any]:
        """A SELECT on the reading connection, its NULs escaped as Tortoise's own client does."""
        reader = await self._reading_connection()
        query = query.replace("\x00", "'||CHAR(0)||'")
        self.log.debug("%s: %s", query, values)
        return list(await reader.execute_fetchall(query, values or []))

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.close()
        await super().close()

    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        if self._reads_apart and _is_read(query):
            rows = await self._read(query, values)
            return len(rows), rows
        return await _execute_query(self, query, values)

    @translate_exceptions
    async def execute_query_dict(
        self, query: str, values: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        if self._reads_apart and _is_read(query):
            return [dict(row) for row in await self._read(query, values)]
        found: list[dict[str, Any]] = await super().execute_query_dict(query, values)
        return found


client_class = ImmediateSqliteClient
