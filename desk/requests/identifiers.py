"""Identifiers of a resident that other domains know (the mediation's name and postal address).

`requests` may not import `mediation` (arrows point inward), so a domain that knows more about a
resident registers a source here when the app is wired (see desk/jobs.py), and the envelope takes
from the sources only the kinds the signatory accepts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

IdentifierSource = Callable[[int], Awaitable[dict[str, str]]]

_SOURCES: list[IdentifierSource] = []


def register(source: IdentifierSource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


async def known_identifiers(resident_id: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for source in _SOURCES:
        for kind, value in (await source(resident_id)).items():
            found.setdefault(kind, value)
    return found
