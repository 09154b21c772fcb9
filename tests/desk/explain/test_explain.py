"""/comprendre: plain-language sheets, in French and English, one h1 each, linked from the desk."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from desk.core.i18n import translate
from desk.explain.topics import TOPICS, topic_path
from desk.registry.services import LEGAL_BASIS_EXPLANATIONS

ROOT = Path(__file__).resolve().parents[3]


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def _h1s(text: str) -> list[str]:
    return re.findall(r"<h1\b[^>]*>(.*?)</h1>", text, flags=re.S)


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_index_lists_every_sheet(client: httpx.AsyncClient, lang: str) -> None:
    response = await client.get(f"/comprendre?lang={lang}")

    assert response.status_code == 200
    text = _text(response)
    assert f'<html lang="{lang}">' in text
    assert _h1s(text) == [translate("Comprendre mes données", lang)]
    for slug, (title, summary) in TOPICS.items():
        assert f'href="{topic_path(slug)}"' in text
        assert translate(title, lang) in text
        assert translate(summary, lang) in text


@pytest.mark.parametrize("slug", sorted(TOPICS))
async def test_each_sheet_renders_in_french_and_english_with_one_h1(
    client: httpx.AsyncClient, slug: str
) -> None:
    title, _ = TOPICS[slug]

    french = _text(await client.get(f"/comprendre/{slug}?lang=fr"))
    english_response = await client.get(f"/comprendre/{slug}?lang=en")
    english = _text(english_response)

    assert english_response.status_code == 200
    assert _h1s(french) == [title]
    assert _h1s(english) == [translate(title, "en")]
    assert translate(title, "en") != title
    assert '<html lang="en">' in english
    # Headings go in order: h1 then h2s, never a skipped level.
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", english)]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    # Printed, the sheet says where it comes from.
    assert f"http://testserver/comprendre/{slug}" in english


async def test_rights_sheets_state_the_deadlines(client: httpx.AsyncClient) -> None:
    for slug in ("savoir-qui-detient", "copie", "effacement", "opposition"):
        text = _text(await client.get(f"/comprendre/{slug}"))
        assert "un délai d'un mois" in text
        assert "trois mois en tout" in text
        assert "Ce que le signataire doit répondre" in text
        assert "Et ensuite ?" in text

    english = _text(await client.get("/comprendre/effacement?lang=en"))
    assert "within one month" in english
    assert "three months in all" in english


async def test_complaint_sheet_gives_the_cnil_and_the_ethics_committee(
    client: httpx.AsyncClient,
) -> None:
    text = _text(await client.get("/comprendre/reclamation"))

    assert 'href="https://www.cnil.fr/fr/plaintes"' in text
    assert "3 Place de Fontenoy" in text
    assert "TSA 80715" in text
    assert "75334 PARIS CEDEX 07" in text
    assert "comité d'éthique de la charte" in text


async def test_legal_basis_sheet_lists_the_six_bases(client: httpx.AsyncClient) -> None:
    text = _text(await client.get("/comprendre/base-legale?lang=en"))

    assert text.count("<dt>") == 6
    assert translate(LEGAL_BASIS_EXPLANATIONS["consent"], "en") in text


async def test_unknown_sheet_is_a_clear_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/comprendre/nulle-part")

    assert response.status_code == 404
    assert "Cette fiche n'existe pas." in _text(response)


async def test_the_sheets_are_reachable_from_the_header_and_the_home_page(
    client: httpx.AsyncClient,
) -> None:
    home = _text(await client.get("/"))

    assert home.count('href="/comprendre"') >= 2  # the header menu and the home page
    assert "Comprendre mes données" in home


def test_every_link_to_a_sheet_in_the_templates_names_an_existing_sheet() -> None:
    linked = {
        (path.relative_to(ROOT).as_posix(), slug)
        for path in (ROOT / "templates").rglob("*.html")
        for slug in re.findall(r"/comprendre/([a-z0-9-]+)", path.read_text(encoding="utf-8"))
    }

    assert linked, "no page links to an explanation sheet"
    broken = sorted((where, slug) for where, slug in linked if slug not in TOPICS)
    assert not broken
