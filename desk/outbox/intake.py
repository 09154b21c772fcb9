"""Residents filing: how the web app tells the workers to hold back, and how a worker knows.

On a machine the web app shares with a worker (SQLite always; PostgreSQL often, with the
database on it too), a burst of filings and the worker draining the jobs those filings wrote
compete for the same two cores and, on SQLite, for the one write lock. The filings are what
people wait for; a delivery handed over a second later changes nothing for anyone. With the
worker draining "erase everywhere" filings as they came, it took the filings' share: 0.19 × the
bare app against 0.30 × with the worker stopped (bench/concurrent_load.py --mode everywhere,
PostgreSQL; bench/README.md, twelfth pass).

So while filings arrive (one in the last `QUIET` seconds), a worker holds back its next claim,
`worker_intake_yield` seconds at most since its last one (desk.outbox.lanes): in a long burst it
still claims one batch that often, and once the filings stop it takes all it can.

- PostgreSQL: a group of filings NOTIFYs the workers' channel with the payload `INTAKE`
  (desk.requests.filing_pg), delivered at its commit; the worker's listening connection notes
  when it saw one (desk.outbox.wakeup).
- SQLite: the web app sets the modification time of a file beside the database,
  `<database>-intake`, after each group of filings it commits (one `utime`); the worker reads
  it before each claim (one `stat`). SQLite's web app and workers share a machine by
  construction: they share the database file.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from desk.db_sqlite import file_beside

# A filing seen this recently means residents are filing now: in a burst, groups commit every
# few milliseconds; a resident filing alone is one group, and the worker holds back this long.
QUIET = 0.05
# The payload of a filing's NOTIFY (PostgreSQL).
INTAKE = "intake"


def pulse_file(database_url: str) -> Path | None:
    """SQLite: the file whose modification time says when the last filing was committed; None
    for PostgreSQL (notifications say it) and for a database in memory."""
    return file_beside(database_url, "-intake")


def filed(database_path: str) -> None:
    """SQLite: say that filings were just committed to the database at `database_path`. A
    signal, not a record: a file that cannot be written (a read-only directory) only means the
    worker does not hold back."""
    pulse = pulse_file(f"sqlite://{database_path}")
    if pulse is None:
        return
    with contextlib.suppress(OSError):
        try:
            os.utime(pulse)
        except FileNotFoundError:
            pulse.touch()


class IntakeWatch:
    """A worker's view of the filings: whether residents are filing now."""

    def __init__(self, database_url: str) -> None:
        self.pulse = pulse_file(database_url)
        self._last_seen = float("-inf")  # time.monotonic() of the last INTAKE notification

    def notified(self) -> None:
        """PostgreSQL: a filing's notification arrived."""
        self._last_seen = time.monotonic()

    def filing_now(self) -> bool:
        if time.monotonic() - self._last_seen < QUIET:
            return True
        if self.pulse is None:
            return False
        try:
            modified = self.pulse.stat().st_mtime
        except OSError:
            return False
        return time.time() - modified < QUIET
