"""The help points in a real browser (Debian's Chromium, JavaScript off), against `desk demo`:
the home page's sentence leads to the directory, which filters by town without JavaScript; a
mediator prints "who holds your data" for a resident without email, and a colleague of the same
help point sees that person in the shared view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import axe
from tests.e2e.test_accessibility_help_points import open_session_for_discovery
from tests.e2e.test_accessibility_more import add_staff, staff_login

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed")

MEDIATOR = "mediatrice.annuaire@exemple.invalid"
COLLEAGUE = "collegue.annuaire@exemple.invalid"
HELP_POINT = "Maison de quartier de Recouvrance (démo)"


def _no_js(browser: Any) -> Any:
    ctx = browser.new_context(java_script_enabled=False, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    return ctx.new_page()


def test_the_directory_and_the_who_holds_printout(tmp_path: Path) -> None:
    demo = axe.shared_demo()
    base = demo.base
    demo.staff_ready()
    for email, name in ((MEDIATOR, "Maïwenn Médiatrice"), (COLLEAGUE, "Tanguy Collègue")):
        add_staff(demo, email, "mediator", "--name", name, "--help-point", HELP_POINT)
    with playwright_api.sync_playwright() as p:
        browser = axe.launch(p)
        page = _no_js(browser)
        page.goto(base + "/")
        page.get_by_role("link", name="points d'aide numérique de votre quartier").click()
        assert page.url.endswith("/points-d-aide")
        assert page.locator("main section.card").count() == 3
        assert "Boucle magnétique à l'accueil" in page.content()
        page.get_by_label("Commune").select_option("GUIPAVAS")
        page.get_by_role("button", name="Afficher").click()
        assert "commune=GUIPAVAS" in page.url
        assert page.locator("main section.card").count() == 1
        assert "Mairie de Guipavas" in page.content()

        staff_login(page, base, MEDIATOR)
        resident_url = open_session_for_discovery(page, base, "Maïwenn Quéré")
        page.get_by_label("Savoir qui détient mes données").check()
        page.get_by_label("Eau du Ponant").check()
        page.get_by_label("Bibus").check()
        page.get_by_role("button", name="Déposer la demande pour la personne").click()
        page.wait_for_url("**/accuse")
        page.goto(resident_url)
        page.get_by_role("link", name="Imprimer « Qui détient vos données »", exact=False).click()
        assert page.url.endswith("/qui-detient")
        deadline = time.monotonic() + 40
        while "Réponses attendues" in page.content():
            assert time.monotonic() < deadline, "the simulated signatories never answered"
            time.sleep(0.5)
            page.reload()
        content = page.content()
        assert "Qui détient vos données" in content and "Imprimé le" in content
        assert "Eau du Ponant" in content and "Bibus" in content
        assert "1 place de la Démonstration" not in content  # another help point's address
        assert "2 rue de l'Exemple" in content  # this one's, from the directory
        page.emulate_media(media="print")
        page.screenshot(path=str(tmp_path / "who-holds-print.png"), full_page=True)
        assert not page.get_by_role("link", name="← Retour à la fiche de la personne").is_visible()
        assert page.get_by_role("heading", name="Qui détient vos données").is_visible()
        page.emulate_media(media="screen")
        page.context.close()

        colleague = _no_js(browser)
        staff_login(colleague, base, COLLEAGUE)
        colleague.goto(base + "/mediation")
        colleague.get_by_role("link", name="Les personnes suivies au point d'aide").first.click()
        assert colleague.url.endswith("/mediation/point-d-aide")
        assert "Maïwenn Quéré" in colleague.content()
        assert "Mandat détenu par Maïwenn Médiatrice" in colleague.content()
        browser.close()
