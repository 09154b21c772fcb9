"""Shared by the tests that need a help point in the directory (a mediator's account names one)."""

from __future__ import annotations

from desk.helppoints.models import HelpPoint
from desk.helppoints.services import slug_of


async def directory_entry(name: str, *, published: bool = True) -> HelpPoint:
    """The directory entry called `name`, added when missing (a mediator's help point is one)."""
    found = await HelpPoint.filter(name=name).first()
    if found is not None:
        return found
    return await HelpPoint.create(
        slug=slug_of(name), name=name, street="1 rue de l'Essai", postcode="29200",
        city="BREST", opening_hours="lundi : 9 h – 12 h", published=published,
    )  # fmt: skip
