"""The desk's own register of processing: every retention rule's duration, rendered from the one
table of rules, in French and in English; docs/retention.md shows the same table."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import httpx
from starlette.applications import Starlette

from desk.retention.register import PROCESSINGS
from desk.retention.rules import RULES, markdown_table

DOCS = Path(__file__).resolve().parents[3] / "docs" / "retention.md"


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def test_register_lists_each_processing_and_every_rule_duration(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/registre-du-guichet")
    assert page.status_code == 200
    text = _text(page)
    assert "<h1>Registre des traitements du guichet</h1>" in text
    for processing in PROCESSINGS:
        assert f">{processing.name}</h2>" in text
    for rule in RULES:
        assert str(rule.duration) in text, rule.key
        assert str(rule.kept) in text, rule.key
    # Every table says what it holds, for screen readers too.
    assert text.count("<caption>") == text.count("<table")
    assert "Durées de conservation — Comptes et connexion" in text
    assert "contact pas encore renseigné" in text


async def test_register_in_english_with_the_dpo_contact(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    app.state.settings = replace(app.state.settings, dpo_contact="DPO, 2 rue Frézier, Brest")
    text = _text(await client.get("/registre-du-guichet?lang=en"))
    assert "<h1>The desk's register of processing</h1>" in text
    assert "Erased 15 minutes after it is first opened" in text
    assert "12 months after the last answer to the request" in text
    assert "DPO, 2 rue Frézier, Brest" in text
    assert "Registre des traitements" not in text


async def test_every_page_links_the_register(client: httpx.AsyncClient) -> None:
    home = _text(await client.get("/"))
    assert re.search(r'<a href="/registre-du-guichet">Vos données au guichet</a>', home)


def test_docs_show_the_rules_table() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    table = docs.split("<!-- rules:start -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert table == markdown_table("en"), "run: python -m desk.retention.rules"
