"""A resident in a real browser (Debian's Chromium, JavaScript off), against `desk demo`."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import start_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

EMAIL = "camille.demo@exemple.invalid"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    process, base = start_demo(tmp_path, DESK_SIMULATED_DELAY="0.3")
    yield base
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)


def _reload_until(page: object, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.content():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"never saw {text!r}"
        time.sleep(0.5)
        page.reload()  # type: ignore[attr-defined]


def _browser(p: Any) -> Any:
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def _log_in(page: Any, demo: str, email: str = EMAIL) -> None:
    page.goto(demo + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_role("link", name="Commencer : recevoir un lien de connexion").click()
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_role("button", name="Recevoir mon lien de connexion").click()
    assert "lien" in page.content()
    link = None
    for _ in range(50):
        mails = httpx.get(demo + "/dev/mailbox.json", params={"to": email}).json()
        links = [u for m in mails for u in m["links"] if "/connexion/" in u]
        if links:
            link = links[-1]
            break
        time.sleep(0.2)
    assert link, "the login link never arrived in the demo mailbox"
    page.goto(link)
    page.get_by_role("button", name="Me connecter").click()
    assert page.url.endswith("/mon-espace")


def _asked(page: Any) -> list[str]:
    """The signatories the erasure confirmation would ask (its hidden fields)."""
    fields = page.locator("main form input[name=signatory]")
    return sorted(str(fields.nth(i).get_attribute("value")) for i in range(fields.count()))


def test_resident_erases_everywhere_in_a_browser_without_javascript(
    demo: str, tmp_path: Path
) -> None:
    """Discovery → erase everywhere → receipts; then the dashboard, the card and the
    erase-everywhere page say "effacées", and a second erase-everywhere offers only what is left."""
    with playwright_api.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(java_script_enabled=False, locale="fr-FR")
        _log_in(page, demo)

        page.get_by_role("button", name="Savoir qui détient mes données").click()
        page.goto(demo + "/mon-espace")
        _reload_until(page, "6 signataires sur 11 ont répondu")
        page.get_by_role(
            "link", name="Supprimer mes données chez tous les signataires qui en détiennent"
        ).click()
        # Those that said yes, and the five (answering by email) that have not answered yet.
        assert "N'ont pas encore répondu, ou n'ont pas été interrogés (5)" in page.content()
        first = _asked(page)
        page.get_by_role("button", name="Confirmer").click()
        assert "/mon-espace/demandes/" in page.url
        holders = len(first) - 5
        _reload_until(page, f"Réponses reçues ({holders})")
        page.screenshot(path=str(tmp_path / "request.png"), full_page=True)
        assert "Réponses attendues (5)" in page.content()
        # Leave one signatory out of the erasure: withdraw it before it answers.
        page.get_by_role("button", name="Retirer cette demande").first.click()
        assert "Votre demande auprès de cet organisme a été retirée." in page.content()
        page.get_by_role("link", name="Voir le reçu signé").first.click()
        assert page.locator("svg").count() >= 1
        assert EMAIL not in page.content()

        page.goto(demo + "/mon-espace")
        dashboard = page.content()
        assert f"Données effacées ({holders})" in dashboard
        assert "Effacement demandé (4)" in dashboard
        assert "données effacées" in dashboard
        erased = page.locator("ul[aria-labelledby=effacees] > li > a").first
        name = erased.inner_text()
        erased.click()
        assert page.url.endswith("/mon-espace/signataires/" + page.url.rsplit("/", 1)[-1])
        card = page.content()
        assert "Données effacées" in card
        assert f"Supprimer mes données chez {name}" not in card
        page.get_by_role("link", name="Voir le reçu signé").click()
        assert "/recus/" in page.url

        page.goto(demo + "/mon-espace/supprimer?tous=1")
        again = page.content()
        assert "effacées le" in again
        assert "effacement déjà demandé" in again
        left = _asked(page)
        assert len(left) == 1 and left[0] in first
        page.get_by_role("button", name="Confirmer").click()
        assert "/mon-espace/demandes/" in page.url
        browser.close()


def test_resident_erases_everywhere_before_asking_who_holds_data(demo: str) -> None:
    with playwright_api.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(java_script_enabled=False, locale="fr-FR")
        _log_in(page, demo, "lou.demo@exemple.invalid")
        # One clear first step, and no red button yet.
        buttons = page.locator("main button")
        assert buttons.first.inner_text() == "Savoir qui détient mes données"
        assert page.locator("main .danger").count() == 0
        page.get_by_role("link", name="Supprimer mes données chez tous les signataires").click()
        assert "Vous n'avez pas encore demandé qui détient vos données" in page.content()
        assert len(_asked(page)) == 11
        page.get_by_role("button", name="Confirmer").click()
        assert "/mon-espace/demandes/" in page.url
        _reload_until(page, "Réponses reçues (6)")
        assert "Réponses attendues (5)" in page.content()
        page.goto(page.url.split("/mon-espace")[0] + "/mon-espace")
        assert "Effacement demandé (5)" in page.content()
        browser.close()
