"""Waking an idle worker when a job is written, instead of at its next poll.

PostgreSQL: the worker LISTENs on one channel over a connection of its own, and every
transaction that writes a job NOTIFYs it (desk.outbox.services.wake_workers); PostgreSQL
delivers the notification at commit only. Polling stays the fallback: should the listening
connection be lost (a database restart), the worker polls every `poll_interval` as on SQLite
and listens again once it can. SQLite has no such channel: workers poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from desk.outbox.intake import INTAKE, IntakeWatch
from desk.outbox.services import WAKE_CHANNEL

log = logging.getLogger("desk.worker")

# Between two attempts to listen again after the listening connection was lost.
RELISTEN_SECONDS = 5.0
CONNECT_TIMEOUT = 5.0


def listen_dsn(database_url: str) -> str | None:
    """The address asyncpg listens on, or None for a database without notifications."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        return None
    # Tortoise's own options (pool sizes…) ride in the query string; asyncpg knows none.
    return "postgresql://" + database_url.split("://", 1)[1].split("?", 1)[0]


class Wakeup:
    """An event set when a job may be waiting; `wait` returns on it or after `timeout`."""

    def __init__(self, database_url: str) -> None:
        self.dsn = listen_dsn(database_url)
        self._event = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._next_try = 0.0
        # Whether residents are filing now (desk.outbox.intake): on PostgreSQL, told by the
        # filings' notifications this connection receives.
        self.intake = IntakeWatch(database_url)

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == INTAKE:
            self.intake.notified()
        self._event.set()

    def _lost(self, *_: Any) -> None:
        log.info("worker stopped listening for new jobs: polling until it listens again")
        self._conn = None
        self._event.set()  # look for work now: notifications may have been missed

    async def listen(self) -> None:
        """Listen now if not listening yet (PostgreSQL; the worker starts with it: the filings'
        notifications tell it to hold back even while it is busy)."""
        loop = asyncio.get_running_loop()
        if self.dsn is None or self.listening or loop.time() < self._next_try:
            return
        self._next_try = loop.time() + RELISTEN_SECONDS
        try:
            conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
            await conn.add_listener(WAKE_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.debug("worker cannot listen for new jobs (%s): polling", type(exc).__name__)
            return
        conn.add_termination_listener(self._lost)
        self._conn = conn
        # Whatever was written while nobody listened is claimed now.
        self._event.set()

    def poke(self) -> None:
        """Wake the waiting worker from within (a stop, work finished that may enqueue more)."""
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Until a notification, a poke or `seconds`, whichever comes first."""
        await self.listen()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=seconds)
        self._event.clear()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._lost)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=CONNECT_TIMEOUT)
