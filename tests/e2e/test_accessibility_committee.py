"""The committee's pages and the charter's text, checked with axe-core in a real Chromium.

The charter's text and versions, "Proposer une amélioration" (empty, with its error, and
answered), the committee's public page, the composition kept by an administrator (with an
error), the committee's page with a contested alert, a suggestion to answer, and the
organisation's alerts page as its DPO sees it (with the contest form). Same rules as
test_accessibility.py: no serious or critical axe violation and the same structure checks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e import axe
from tests.e2e.test_accessibility import _audit, check_report
from tests.e2e.test_accessibility_more import add_staff, staff_login

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(not axe.available(), reason=axe.MISSING_REASON),
]

SLUG = "bibus"
DPO = f"dpo@{SLUG}.exemple.invalid"
ADMIN = "admin.a11y@exemple.invalid"
PAGES = [
    "charter_text",
    "suggestions",
    "suggestions_errors",
    "committee_public",
    "organisation_alerts",
    "organisation_alerts_errors",
    "seats",
    "seats_errors",
    "committee_with_contest",
    "committee_suggestion",
]


def _raise_alert(demo: axe.Demo) -> None:
    """An alert on the demo's database, as the ladder would raise it (the demo has none)."""
    with sqlite3.connect(demo.directory / "desk-demo.sqlite3", timeout=30) as db:
        (signatory_id,) = db.execute("SELECT id FROM signatory WHERE slug = ?", (SLUG,)).fetchone()
        db.execute(
            "INSERT INTO charter_alert (signatory_id, level, reason, delivery_ids, created_at) "
            "VALUES (?, 1, ?, '[]', ?)",
            (
                signatory_id,
                "1 demande d'habitant sans réponse définitive après la date limite.",
                datetime.now(UTC).isoformat(sep=" "),
            ),
        )


def _walk(browser: Any, demo: axe.Demo) -> dict[str, dict[str, Any]]:
    base = demo.base
    audits: dict[str, dict[str, Any]] = {}
    demo.staff_ready()  # one writer at a time on the demo's SQLite file
    add_staff(demo, ADMIN, "admin")
    _raise_alert(demo)
    ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()

    def audit(name: str, path: str | None = None) -> None:
        if path is not None:
            response = page.goto(base + path)
            assert response is not None and response.ok, f"{name}: {path} did not open"
        audits[name] = _audit(page)

    audit("charter_text", "/charte")
    audit("suggestions", "/charte/ameliorations")
    page.get_by_role("button", name="Envoyer ma proposition").click()
    page.wait_for_load_state()
    audit("suggestions_errors")
    page.get_by_label("Votre proposition").fill("Publier aussi les capteurs de l'espace public.")
    page.get_by_role("button", name="Envoyer ma proposition").click()
    page.wait_for_load_state()
    audit("committee_public", "/charte/comite")

    page.goto(base + "/organisation/connexion")
    page.locator("main input[type=email]").fill(DPO)
    seen = axe.mailbox_links(base, "/organisation/connexion/", to=DPO)
    page.locator("main form button[type=submit]").click()
    page.goto(axe.mailbox_link(base, "/organisation/connexion/", to=DPO, besides=seen))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/organisation")
    audit("organisation_alerts", "/organisation/alertes")
    page.get_by_text("Contester cette alerte").click()
    page.get_by_role("button", name="Contester l'alerte").click()
    page.wait_for_load_state()
    audit("organisation_alerts_errors")
    page.get_by_label("Pourquoi cette alerte est-elle, selon vous, injustifiée ?").fill(
        "La demande nous est parvenue après sa date limite."
    )
    page.get_by_role("button", name="Contester l'alerte").click()
    page.wait_for_load_state()

    staff_login(page, base, ADMIN)
    audit("seats", "/back-office/comite")
    page.locator("#new-name").fill("Anne Le Bris")
    page.get_by_role("button", name="Ajouter ce membre").click()
    page.wait_for_load_state()
    audit("seats_errors")
    audit("committee_with_contest", "/comite")
    link = page.get_by_role("link", name="Répondre à la proposition")
    audit("committee_suggestion", str(link.first.get_attribute("href")))
    ctx.close()
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


@pytest.mark.parametrize("name", PAGES)
def test_committee_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])
