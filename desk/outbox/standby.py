"""One active `desk worker` per SQLite database; any other waits, standing by, to take over.

Claims are safe with several workers on SQLite too (a conditional UPDATE), but SQLite runs one
writer at a time: a second worker adds no throughput, only "database is locked" retries. So
the worker holds an exclusive lock on a file beside the database while it works. The lock is
the kernel's (flock): it is released when the process ends, even by SIGKILL, and the worker
standing by then takes over. PostgreSQL needs none of this: every worker works.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from desk.db_sqlite import file_beside

log = logging.getLogger("desk.worker")


def lock_path(database_url: str) -> Path | None:
    """The lock file of a SQLite database (None for PostgreSQL or an in-memory database)."""
    return file_beside(database_url, ".worker-lock")


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.asynccontextmanager
async def turn_to_work(
    database_url: str, *, stopping: asyncio.Event, interval: float = 1.0
) -> AsyncIterator[bool]:
    """Yields True once this worker may work, False if asked to stop while standing by."""
    path = lock_path(database_url)
    if path is None:
        yield True
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        announced = False
        while not _try_lock(descriptor):
            if not announced:
                log.info("another worker holds %s: standing by", path.name)
                announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=interval)
            if stopping.is_set():
                yield False
                return
        if announced:
            log.info("taking over from the worker that held %s", path.name)
        yield True
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock
