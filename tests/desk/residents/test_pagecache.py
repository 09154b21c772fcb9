"""The dashboard's copies in memory: bounded by count and by bytes, for a limited time, and
used only while their revision and what the page shows hold."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from desk.residents.pagecache import Entry, PageCache, Revision

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _entry(size: int = 10, *, made: float = 0.0, until: datetime | None = None) -> Entry:
    return Entry(
        revision=Revision(mine=5, shared=2),
        parts=(b"x" * size,),
        size=size,
        made=made,
        until=until,
    )


def test_the_least_recently_used_copies_go_first_beyond_the_count() -> None:
    pages = PageCache(entries=2)
    pages.put(("a",), _entry(made=time.monotonic()))
    pages.put(("b",), _entry(made=time.monotonic()))
    assert pages.get(("a",)) is not None  # "a" used: "b" is now the oldest
    pages.put(("c",), _entry(made=time.monotonic()))
    assert len(pages) == 2
    assert pages.get(("b",)) is None
    assert pages.get(("a",)) is not None and pages.get(("c",)) is not None


def test_copies_are_bounded_by_bytes_and_by_their_lifetime() -> None:
    pages = PageCache(max_bytes=100, lifetime=60)
    for key in "abcd":
        pages.put((key,), _entry(size=25, made=time.monotonic()))
    pages.put(("e",), _entry(size=25, made=time.monotonic()))
    assert len(pages) == 4
    assert pages.get(("a",)) is None
    # A page larger than a quarter of the budget is never kept.
    pages.put(("big",), _entry(size=26, made=time.monotonic()))
    assert pages.get(("big",)) is None
    pages.put(("old",), _entry(made=time.monotonic() - 61))
    assert pages.get(("old",)) is None


def test_a_copy_is_usable_only_while_its_revision_and_its_moment_hold() -> None:
    entry = _entry(until=NOW + timedelta(minutes=5))
    same = Revision(mine=5, shared=2)
    assert PageCache.usable(entry, same, landed=False, now=NOW)
    assert not PageCache.usable(entry, Revision(mine=6, shared=2), landed=False, now=NOW)
    assert not PageCache.usable(entry, Revision(mine=5, shared=3), landed=False, now=NOW)
    assert not PageCache.usable(entry, Revision(mine=None, shared=2), landed=False, now=NOW)
    # A transaction running at the copy's read has committed a change since.
    assert not PageCache.usable(entry, same, landed=True, now=NOW)
    # A mediator's request or a mandate shown on it has lapsed.
    assert not PageCache.usable(entry, same, landed=False, now=NOW + timedelta(minutes=5))
