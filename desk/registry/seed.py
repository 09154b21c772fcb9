"""Demo data (to be written)."""

from __future__ import annotations

DEMO_RESIDENT_EMAIL = "camille.demo@exemple.invalid"


async def seed_demo() -> int:
    return 0
