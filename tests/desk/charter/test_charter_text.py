"""The charter's own page: its version, adoption, principles, and who signed which version."""

from __future__ import annotations

import httpx

from desk.registry.joining import change_status
from tests.desk.organisations.test_space import _candidate


async def test_the_charter_page_states_its_version_principles_and_signatories(
    client: httpx.AsyncClient,
) -> None:
    signatory = await _candidate()
    await change_status(slug=signatory.slug, status="capacity_shown", reason="Vu.", actor="t")
    await change_status(slug=signatory.slug, status="signed", reason="Signée.", actor="t")
    page = await client.get("/charte")
    assert page.status_code == 200
    body = page.text
    assert "2022-10" in body and "jury" in body
    assert "Principe 2" in body and "Principe 9" in body
    assert "Seul le texte officiel publié par Brest métropole fait foi." in body
    assert signatory.name.replace("'", "&#39;") in body
    english = await client.get("/charte", headers={"accept-language": "en"})
    assert english.status_code == 200
