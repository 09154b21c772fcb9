"""Rendered dashboards kept in memory, each valid while the data it shows is unchanged.

What a page shows changes only through a write to a table it reads; database triggers
(migration 0020_dash) append a row to `dash_change` for each such write, naming the resident
(or 0: signatories, declarations, mediators, holdings, shown on every page). A page's
revision is the newest row for its resident and for 0: one indexed query, whatever the
history, and whichever process or path wrote (the worker, a partner's API answer, a mediator,
staff, retention).

The revision is read BEFORE the page's data: a write in between makes the copy obsolete, never
wrong. On SQLite one transaction writes at a time, so row ids follow commit order. On
PostgreSQL they do not (a transaction may take id 7, another id 8 and commit first): the
reader also notes the transactions running at its snapshot, and a copy is used only while none
of them has committed a row for this page.

Each process keeps its own copies (bounded, a few minutes at most, nothing on disk); the
revision lives in the database, so several `desk serve` processes stay right.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from tortoise import connections

from desk.retention.rules import PAGE_CHANGE_MINUTES, PAGE_COPY_SECONDS

# How long a copy may be served at most, in seconds (the deadline's wording is keyed by day);
# change rows older than KEEP_CHANGES_MINUTES are deleted by the maintenance pass: far longer.
# Both are in the register of what the desk keeps (desk.retention.rules).
LIFETIME = float(PAGE_COPY_SECONDS)
KEEP_CHANGES_MINUTES = PAGE_CHANGE_MINUTES
SHARED = 0

_SQLITE_REVISION = (
    "SELECT (SELECT max(id) FROM dash_change WHERE resident_id = ?1), "
    "(SELECT max(id) FROM dash_change WHERE resident_id = 0), "
    "EXISTS(SELECT 1 FROM resident WHERE id = ?1)"
)
_PG_REVISION = (
    "SELECT (SELECT max(id) FROM dash_change WHERE resident_id = $1), "
    "(SELECT max(id) FROM dash_change WHERE resident_id = 0), "
    "ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) x), "
    "EXISTS(SELECT 1 FROM dash_change WHERE xid = ANY($2::text[]::xid8[]) "
    "AND resident_id IN ($1, 0)), "
    "EXISTS(SELECT 1 FROM resident WHERE id = $1)"
)
_PRUNE = {
    "sqlite": "DELETE FROM dash_change WHERE changed_at < datetime('now', '{back:+d} minutes')",
    "postgres": "DELETE FROM dash_change WHERE changed_at < now() - interval '{m} minutes'",
}


@dataclass(frozen=True)
class Revision:
    mine: int | None
    shared: int | None
    # PostgreSQL: transactions in progress when it was read (their rows may come later).
    running: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    revision: Revision
    # The page cut where each form's fresh submission key goes.
    parts: tuple[bytes, ...]
    size: int
    made: float
    # The clock's moment something on the page stops holding (a mediator's request closes,
    # a mandate ends), if any.
    until: datetime | None


async def read_revision(
    *, resident_id: int, running: tuple[str, ...] = ()
) -> tuple[Revision, bool, bool]:
    """The page's revision now; whether any of `running` (an earlier read's transactions in
    progress) has since committed a change to this page; and whether the resident's account
    exists (the same query: a page served from memory needs no other read)."""
    client = connections.get("default")
    rid = int(resident_id)
    if client.capabilities.dialect == "sqlite":
        _, rows = await client.execute_query(_SQLITE_REVISION, [rid])
        mine, shared, exists = tuple(rows[0])
        return Revision(mine=mine, shared=shared), False, bool(exists)
    _, rows = await client.execute_query(_PG_REVISION, [rid, list(running)])
    mine, shared, now_running, landed, exists = tuple(rows[0])
    revision = Revision(mine=mine, shared=shared, running=tuple(now_running))
    return revision, bool(landed), bool(exists)


async def delete_old_changes(*, minutes: int = KEEP_CHANGES_MINUTES) -> int:
    """Delete change rows older than `minutes` (no copy lives that long); how many."""
    client = connections.get("default")
    dialect = "sqlite" if client.capabilities.dialect == "sqlite" else "postgres"
    count, _ = await client.execute_query(
        _PRUNE[dialect].format(m=int(minutes), back=-int(minutes))
    )
    return int(count or 0)


async def prune_changes(_runtime: object) -> None:
    """Periodic task of the worker (desk.jobs)."""
    await delete_old_changes()


class PageCache:
    """Least recently used copies, bounded by count and by bytes."""

    def __init__(
        self, *, entries: int = 2000, max_bytes: int = 64 * 1024 * 1024, lifetime: float = LIFETIME
    ) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self.lifetime = lifetime
        self._items: OrderedDict[tuple[object, ...], Entry] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple[object, ...]) -> Entry | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry.made > self.lifetime:
            self.drop(key)
            return None
        self._items.move_to_end(key)
        return entry

    def drop(self, key: tuple[object, ...]) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def put(self, key: tuple[object, ...], entry: Entry) -> None:
        if entry.size > self.max_bytes // 4:
            return
        self.drop(key)
        self._items[key] = entry
        self._bytes += entry.size
        while len(self._items) > self.entries or self._bytes > self.max_bytes:
            _, oldest = self._items.popitem(last=False)
            self._bytes -= oldest.size

    @staticmethod
    def usable(entry: Entry, revision: Revision, *, landed: bool, now: datetime) -> bool:
        """The copy shows what the database holds now."""
        if landed or (entry.revision.mine, entry.revision.shared) != (
            revision.mine,
            revision.shared,
        ):
            return False
        return entry.until is None or now < entry.until
