"""The charter's life and the organisation's space, checked with axe-core in a real Chromium.

The charter page, the "Rejoindre la charte" form (empty and answered with errors), a
declaration's public history, and the organisation's space as the demo's DPO sees it: home,
inbox, one delivery, a new declaration (with its errors), the committee's questions. Same rules
as test_accessibility.py: no serious or critical axe violation and the same structure checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import axe
from tests.e2e.test_accessibility import _audit, check_report

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(not axe.available(), reason=axe.MISSING_REASON),
]

# A demo signatory (desk/demo/seed_data.py) and its DPO, made by `desk seed`.
SLUG = "eau-du-ponant"
DPO = f"dpo@{SLUG}.exemple.invalid"
PAGES = [
    "charter",
    "join",
    "join_errors",
    "declaration_history",
    "organisation_login",
    "organisation_home",
    "organisation_inbox",
    "organisation_new_declaration",
    "organisation_declaration_errors",
    "organisation_complaints",
]


def _walk(browser: Any, demo: axe.Demo) -> dict[str, dict[str, Any]]:
    base = demo.base
    audits: dict[str, dict[str, Any]] = {}
    ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()

    def audit(name: str, path: str | None = None) -> None:
        if path is not None:
            response = page.goto(base + path)
            assert response is not None and response.ok, f"{name}: {path} did not open"
        audits[name] = _audit(page)

    audit("charter", "/charte")
    audit("join", "/charte/rejoindre")
    page.get_by_label("Numéro SIREN ou SIRET").fill("123")
    page.get_by_role("button", name="Envoyer la candidature").click()
    page.wait_for_load_state()
    audit("join_errors")
    page.goto(base + f"/signataires/{SLUG}")
    history = page.get_by_role("link", name="Historique des modifications de cette déclaration")
    audit("declaration_history", str(history.first.get_attribute("href")))

    audit("organisation_login", "/organisation/connexion")
    page.locator("main input[type=email]").fill(DPO)
    seen = axe.mailbox_links(base, "/organisation/connexion/", to=DPO)
    page.locator("main form button[type=submit]").click()
    page.goto(axe.mailbox_link(base, "/organisation/connexion/", to=DPO, besides=seen))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/organisation")
    audit("organisation_home")
    audit("organisation_inbox", "/organisation/demandes")
    audit("organisation_new_declaration", "/organisation/declarations/nouvelle")
    page.get_by_role("button", name="Publier la déclaration").click()
    page.wait_for_load_state()
    audit("organisation_declaration_errors")
    audit("organisation_complaints", "/organisation/reclamations")
    ctx.close()
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


@pytest.mark.parametrize("name", PAGES)
def test_charter_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])
