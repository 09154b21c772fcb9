"""The charter itself on the desk: its principles, its versions, and who signed which one.

The text is data (desk.registry.charter_versions); the official text is Brest métropole's,
and the page says so and links to it.
"""

from __future__ import annotations

from desk.registry.charter_versions import CURRENT, OFFICIAL_TEXT_URL, PRINCIPLES, VERSIONS
from desk.registry.joining import CHARTER_ADOPTED_ON, CURRENT_CHARTER_VERSION
from desk.registry.models import CharterStatus, Signatory


async def signed_versions() -> list[Signatory]:
    """Who signed which version of the charter (the signatories that signed, and still do)."""
    return list(
        await Signatory.filter(
            charter_status__in=[CharterStatus.SIGNED, CharterStatus.SUSPENDED]
        ).order_by("name")
    )


__all__ = [
    "CHARTER_ADOPTED_ON",
    "CURRENT",
    "CURRENT_CHARTER_VERSION",
    "OFFICIAL_TEXT_URL",
    "PRINCIPLES",
    "VERSIONS",
    "signed_versions",
]
