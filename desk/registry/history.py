"""A declaration's public history: its versions, newest first, each with what changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desk.core.errors import DeskError
from desk.registry.declarations import MSG_NOT_FOUND, changed_fields
from desk.registry.models import Declaration, DeclarationVersion, Signatory


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    version: DeclarationVersion
    changes: list[Change]


async def public_history(
    *, slug: str, code: str
) -> tuple[Signatory, Declaration, list[HistoryEntry]]:
    """A declaration's versions, newest first, each with what changed from the one before."""
    signatory = await Signatory.filter(slug=slug).first()
    declaration = (
        await Declaration.filter(signatory_id=signatory.id, code=code).first()
        if signatory
        else None
    )
    if signatory is None or declaration is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    versions = await DeclarationVersion.filter(declaration_id=declaration.id).order_by("number")
    entries: list[HistoryEntry] = []
    previous: dict[str, Any] = {}
    for version in versions:
        snap = dict(version.snapshot)
        names = changed_fields(previous, snap) if previous else []
        entries.append(
            HistoryEntry(
                version=version,
                changes=[Change(name, previous.get(name), snap.get(name)) for name in names],
            )
        )
        previous = snap
    entries.reverse()
    return signatory, declaration, entries
