"""Identifiers of a resident that other domains know (the mediation's name and postal address).

`requests` may not import `mediation` (arrows point inward), so a domain that knows more about a
resident registers a source here when the app is wired (see desk/jobs.py), and the envelope takes
from the sources only the kinds the signatory accepts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

IdentifierSource = Callable[[int], Awaitable[dict[str, str]]]
# The same for many residents at once (one query for a worker's batch): found ones by id.
ManySource = Callable[[Collection[int]], Awaitable[dict[int, dict[str, str]]]]

_SOURCES: list[tuple[IdentifierSource, ManySource | None]] = []


def register(source: IdentifierSource, *, many: ManySource | None = None) -> None:
    if all(known is not source for known, _ in _SOURCES):
        _SOURCES.append((source, many))


async def known_identifiers(resident_id: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for source, _ in _SOURCES:
        for kind, value in (await source(resident_id)).items():
            found.setdefault(kind, value)
    return found


async def known_identifiers_many(resident_ids: Collection[int]) -> dict[int, dict[str, str]]:
    """`known_identifiers` of each of `resident_ids`, each batched source asked once."""
    found: dict[int, dict[str, str]] = {rid: {} for rid in resident_ids}
    for source, many in _SOURCES:
        if many is not None:
            by_resident = await many(list(found))
        else:
            by_resident = {rid: await source(rid) for rid in found}
        for rid, identifiers in by_resident.items():
            for kind, value in identifiers.items():
                found[rid].setdefault(kind, value)
    return found
