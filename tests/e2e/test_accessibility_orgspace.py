"""The register of organisations and the organisation's own settings, checked with axe-core.

Public: the register of organisations and one non-signatory's page. The organisation's space
as the demo's DPO sees it: the connection settings (and their error), the self-evaluations
(and their error), its statistics, the edit form of a declaration with register recipients.
The team's page of the register (role `register`), empty and with errors. Same rules as
test_accessibility.py: no serious or critical axe violation and the same structure checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
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

# Not the DPO test_accessibility_charter.py logs in as: each login link is used once.
SLUG = "bibus"
DPO = f"dpo@{SLUG}.exemple.invalid"
REGISTER_STAFF = "registre.demo@exemple.invalid"
PAGES = [
    "register_of_organisations",
    "organisation_public_page",
    "organisation_connection",
    "organisation_connection_error",
    "organisation_self_evaluations",
    "organisation_self_evaluation_errors",
    "organisation_statistics",
    "organisation_edit_declaration",
    "team_register",
    "team_register_errors",
]


def _add_register_staff(demo: axe.Demo) -> None:
    """`desk staff add … --role register` on the demo's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL="sqlite://desk-demo.sqlite3", DESK_DATA_DIR=str(demo.directory / "data")
    )
    done = subprocess.run(
        [sys.executable, "-m", "desk.cli", "staff", "add", REGISTER_STAFF, "--role", "register"],
        cwd=demo.directory, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


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

    def submit(label: str) -> None:
        page.get_by_role("button", name=label).first.click()
        page.wait_for_load_state()

    audit("register_of_organisations", "/organisations")
    other = page.locator("main a[href^='/organisations/']").first.get_attribute("href")
    audit("organisation_public_page", str(other))

    page.goto(base + "/organisation/connexion")
    seen = axe.mailbox_links(base, "/organisation/connexion/", to=DPO)
    page.locator("main input[type=email]").fill(DPO)
    page.locator("main form button[type=submit]").click()
    page.goto(axe.mailbox_link(base, "/organisation/connexion/", to=DPO, besides=seen))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/organisation")
    audit("organisation_connection", "/organisation/raccordement")
    for box in page.locator("input[name=identifiers]").all():
        box.uncheck()
    submit("Enregistrer les identifiants")
    audit("organisation_connection_error")
    audit("organisation_self_evaluations", "/organisation/auto-evaluations")
    submit("Publier l'auto-évaluation")
    audit("organisation_self_evaluation_errors")
    audit("organisation_statistics", "/organisation/statistiques")
    page.goto(base + "/organisation")
    edit = page.locator("main a[href^='/organisation/declarations/']").first.get_attribute("href")
    audit("organisation_edit_declaration", str(edit))
    ctx.close()

    _add_register_staff(demo)
    ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto(base + "/equipe/connexion")
    seen = axe.mailbox_links(base, "/equipe/connexion/", to=REGISTER_STAFF)
    page.locator("main input[type=email]").fill(REGISTER_STAFF)
    page.locator("main form button[type=submit]").click()
    page.goto(axe.mailbox_link(base, "/equipe/connexion/", to=REGISTER_STAFF, besides=seen))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    audit("team_register", "/back-office/organisations")
    submit("Ajouter au registre")
    audit("team_register_errors")
    ctx.close()
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


@pytest.mark.parametrize("name", PAGES)
def test_orgspace_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])
