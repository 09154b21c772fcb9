"""The help points' pages and the mediator's new sheets, checked with axe-core in Chromium.

The public directory, the back office's list and form, a help point's shared view, the
"who holds your data" printout and the letter with its receipt QR codes. Same rules as
test_accessibility.py: no serious or critical axe violation and the same structure checks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
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

MEDIATOR = "mediateur.points@exemple.invalid"
ADMIN = "admin.points@exemple.invalid"
HELP_POINT = "Point d'aide numérique de Bellevue (démo)"
PAGES = [
    "help_points",
    "help_points_filtered",
    "backoffice_help_points",
    "backoffice_help_point_new",
    "backoffice_help_point_edit",
    "backoffice_help_point_refused",
    "admin_help_points",
    "admin_help_point_chosen",
    "mediation_help_point",
    "mediation_holders",
    "mediation_letter",
]


def open_session_for_discovery(page: Any, base: str, full_name: str) -> str:
    """A session with a resident without email, whose mandate covers discovery and erasure."""
    page.goto(base + "/mediation/seance")
    page.get_by_label("Nom et prénom").fill(full_name)
    page.get_by_label("Numéro et rue").fill("5 rue de Kerbonne")
    page.get_by_label("Code postal").fill("29200")
    page.get_by_label("Commune").fill("Brest")
    page.get_by_label("pièce d'identité montrée (rien n'est copié ni noté)").check()
    page.get_by_label("Savoir qui détient mes données").check()
    page.get_by_label("Supprimer mes données").check()
    page.get_by_label("Mandat papier signé par la personne").check()
    page.get_by_role("button", name="Ouvrir la séance et enregistrer le mandat").click()
    page.wait_for_url("**/mediation/habitants/*")
    return str(page.url)


def _walk(browser: Any, demo: axe.Demo) -> dict[str, dict[str, Any]]:
    base = demo.base
    audits: dict[str, dict[str, Any]] = {}
    demo.staff_ready()  # one writer at a time on the demo's SQLite file
    add_staff(demo, MEDIATOR, "mediator", "--help-point", HELP_POINT)
    add_staff(demo, ADMIN, "admin")

    def context() -> tuple[Any, Any]:
        ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
        ctx.set_default_timeout(15_000)
        return ctx, ctx.new_page()

    ctx, page = context()

    def audit(name: str, path: str | None = None) -> None:
        if path is not None:
            response = page.goto(base + path)
            assert response is not None and response.ok, f"{name}: {path} did not open"
        assert "/connexion" not in page.url, f"{name}: sent to the login page ({page.url})"
        audits[name] = _audit(page)

    audit("help_points", "/points-d-aide")
    audit("help_points_filtered", "/points-d-aide?commune=GUIPAVAS")
    ctx.close()

    ctx, page = context()
    staff_login(page, base, axe.STAFF)
    audit("backoffice_help_points", "/back-office/points-d-aide")
    audit("backoffice_help_point_new", "/back-office/points-d-aide/nouveau")
    page.get_by_role("link", name="Retour à l'annuaire des points d'aide").click()
    page.locator("a[href^='/back-office/points-d-aide/']:not([href$='nouveau'])").first.click()
    page.wait_for_load_state("load")
    audit("backoffice_help_point_edit")
    # A refused form: the French message, the values kept (the browser's own checks let a
    # wrong phone number through).
    page.get_by_label("Téléphone — facultatif").fill("0298")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("load")
    assert "10 chiffres" in page.content()
    audit("backoffice_help_point_refused")
    ctx.close()

    # An administrator sees a select per mediator, and chooses the help point from it.
    ctx, page = context()
    staff_login(page, base, ADMIN)
    audit("admin_help_points", "/back-office/points-d-aide")
    select = page.get_by_label("Point d'aide de " + MEDIATOR)
    assert select.input_value() == HELP_POINT
    select.select_option(HELP_POINT)
    page.get_by_role("button", name="Enregistrer le point d'aide de " + MEDIATOR).click()
    page.wait_for_load_state("load")
    assert "Le point d'aide du médiateur est enregistré." in page.content()
    audit("admin_help_point_chosen")
    ctx.close()

    ctx, page = context()
    staff_login(page, base, MEDIATOR)
    resident_url = open_session_for_discovery(page, base, "Goulven Le Bihan")
    page.get_by_label("Savoir qui détient mes données").check()
    page.get_by_label("Eau du Ponant").check()
    page.get_by_label("Bibus").check()
    page.get_by_role("button", name="Déposer la demande pour la personne").click()
    page.wait_for_url("**/accuse")
    audit("mediation_help_point", "/mediation/point-d-aide")
    page.goto(resident_url + "/qui-detient")
    deadline = time.monotonic() + 40
    # The simulated signatories answer within seconds: audit the sheet with their answers.
    while "Réponses attendues" in page.content():
        assert time.monotonic() < deadline, "the simulated signatories never answered"
        time.sleep(0.5)
        page.reload()
    audit("mediation_holders")
    audit("mediation_letter", resident_url.removeprefix(base) + "/lettre")
    ctx.close()
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


@pytest.mark.parametrize("name", PAGES)
def test_help_point_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])
