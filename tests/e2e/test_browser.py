"""A resident in a real browser (Debian's Chromium, JavaScript off), against `desk demo`."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

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


def test_resident_erases_everywhere_in_a_browser_without_javascript(
    demo: str, tmp_path: Path
) -> None:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(java_script_enabled=False, locale="fr-FR")
        page.goto(demo + "/")
        assert page.locator("html").get_attribute("lang") == "fr"
        page.get_by_role("link", name="Commencer : recevoir un lien de connexion").click()

        page.get_by_label("Adresse électronique").fill(EMAIL)
        page.get_by_role("button", name="Recevoir mon lien de connexion").click()
        assert "lien" in page.content()

        link = None
        for _ in range(50):
            mails = httpx.get(demo + "/dev/mailbox.json", params={"to": EMAIL}).json()
            links = [u for m in mails for u in m["links"] if "/connexion/" in u]
            if links:
                link = links[-1]
                break
            time.sleep(0.2)
        assert link, "the login link never arrived in the demo mailbox"
        page.goto(link)
        page.get_by_role("button", name="Me connecter").click()
        assert page.url.endswith("/mon-espace")

        page.get_by_role("button", name="Savoir qui détient mes données").click()
        page.goto(demo + "/mon-espace")
        _reload_until(page, "ont répondu")
        _reload_until(page, "6 signataires sur 11 ont répondu")
        page.get_by_role(
            "link", name="Supprimer mes données chez tous les signataires qui en détiennent"
        ).click()
        page.get_by_role("button", name="Confirmer").click()
        _reload_until(page, "Voir le reçu signé")
        page.screenshot(path=str(tmp_path / "request.png"), full_page=True)
        page.get_by_role("link", name="Voir le reçu signé").first.click()
        assert page.locator("svg").count() >= 1
        assert EMAIL not in page.content()
        browser.close()
