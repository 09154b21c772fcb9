from __future__ import annotations

from starlette.applications import Starlette

from desk.demo.seed import DEMO_RESIDENT_EMAIL, seed_demo
from desk.registry.models import (
    CharterStatus,
    Declaration,
    DeclarationVersion,
    Signatory,
    StatusChange,
)
from desk.registry.services import KIND_LABELS, LEGAL_BASIS_LABELS
from desk.residents.models import Resident


async def _counts() -> tuple[int, int, int]:
    return (
        await Signatory.all().count(),
        await Declaration.all().count(),
        await Resident.all().count(),
    )


async def test_seeding_twice_creates_nothing_more(app: Starlette) -> None:
    first = await seed_demo()
    after_first = await _counts()
    pseudonym = (await Resident.get(email=DEMO_RESIDENT_EMAIL)).pseudonym

    second = await seed_demo()

    assert first == second == after_first[0]
    assert 8 <= first <= 14
    assert await _counts() == after_first
    assert (await Resident.get(email=DEMO_RESIDENT_EMAIL)).pseudonym == pseudonym


async def test_reseeding_keeps_changes_made_since(app: Starlette) -> None:
    await seed_demo()
    await Signatory.filter(slug="bibus").update(charter_status=CharterStatus.SUSPENDED)

    await seed_demo()

    assert (await Signatory.get(slug="bibus")).charter_status == CharterStatus.SUSPENDED


async def test_demo_register_is_realistic_and_fictional(app: Starlette) -> None:
    await seed_demo()
    signatories = await Signatory.all().prefetch_related("declarations")
    slugs = {s.slug for s in signatories}
    assert {
        "brest-metropole",
        "ville-de-brest",
        "eau-du-ponant",
        "bibus",
        "brest-metropole-habitat",
    } <= slugs
    assert {s.kind.value for s in signatories} == set(KIND_LABELS)
    adapters = [s.adapter for s in signatories]
    assert {"simulated", "email"} == set(adapters)
    assert abs(adapters.count("simulated") - adapters.count("email")) <= 2
    for s in signatories:
        assert s.dpo_email.endswith(".exemple.invalid")
        assert s.accepted_identifiers == ["email", "full_name", "postal_address"]
        assert s.adapter_settings == {}
        assert s.signed_on is not None
        assert "2022-10-01" <= s.signed_on.isoformat() <= "2025-12-31"
        assert 1 <= len(s.declarations) <= 3
        for d in s.declarations:
            assert d.legal_basis in LEGAL_BASIS_LABELS
            assert d.data_categories and d.retention and d.purposes
    resident = await Resident.get(email=DEMO_RESIDENT_EMAIL)
    assert len(resident.pseudonym) == 32


async def test_the_demo_register_has_its_charter_life_and_first_versions(app: Starlette) -> None:
    total = await seed_demo()
    await seed_demo()  # twice: nothing is recorded again
    assert await StatusChange.all().count() == 3 * total
    signed = await StatusChange.filter(status=CharterStatus.SIGNED).prefetch_related("signatory")
    assert {s.charter_version for s in signed} == {"2022-10"}
    assert all(s.changed_at.date() == s.signatory.signed_on for s in signed)
    assert await DeclarationVersion.all().count() == await Declaration.all().count()
