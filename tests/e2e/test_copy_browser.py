"""Issue 17 items 6 and 9 in Chromium with JavaScript off, over the demo, audited with axe.

A resident asks a signatory for a copy, reads it as a page, saves its PDF, opens it again from
the same browser (an interrupted download), and finds it taken from another browser, on a page
that says what to do. On another signatory's card she withdraws the consent she gave for its
newsletter alone, and sees the answer and its receipt. Each page passes the same accessibility
checks as the others (test_accessibility.py), and the English ones carry no French sentence that
has an English version.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from desk.core.i18n import catalog
from tests.e2e import axe
from tests.e2e.test_accessibility import _audit, check_report

playwright_api = pytest.importorskip("playwright.sync_api")
pypdf = pytest.importorskip("pypdf")
pytestmark = [
    pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(not axe.available(), reason=axe.MISSING_REASON),
]

# The demo's simulated Eau du Ponant and Ville de Brest hold data about this address.
RESIDENT = "lou.copie@exemple.invalid"
PAGES = [
    "request_with_copy",
    "copy_readable",
    "copy_readable_en",
    "copy_gone",
    "card_purposes",
    "card_purposes_en",
    "request_purpose",
]


def _links(base: str) -> list[str]:
    mails = httpx.get(base + "/dev/mailbox.json", params={"to": RESIDENT}, timeout=5).json()
    return [u for m in mails for u in m["links"] if "/connexion/" in u]


def log_in(page: Any, base: str) -> None:
    """Log in with a new link, in this browser (JavaScript off: plain forms)."""
    before = len(_links(base))
    page.goto(base + "/connexion")
    page.locator("main input[type=email]").fill(RESIDENT)
    page.locator("main form button[type=submit]").click()
    deadline = time.monotonic() + 20
    while len(links := _links(base)) <= before:
        assert time.monotonic() < deadline, "no login link arrived"
        time.sleep(0.2)
    page.goto(links[-1])
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/mon-espace")


def _walk(browser: Any, demo: axe.Demo) -> dict[str, dict[str, Any]]:
    base = demo.base
    audits: dict[str, dict[str, Any]] = {}
    seen: dict[str, Any] = {}

    def context() -> tuple[Any, Any]:
        ctx = browser.new_context(bypass_csp=True, locale="fr-FR", java_script_enabled=False)
        ctx.set_default_timeout(20_000)
        return ctx, ctx.new_page()

    ctx, page = context()

    def audit(name: str, path: str | None = None, status: int = 200) -> None:
        """axe needs JavaScript: the audit opens the page in a twin of the browser (its
        cookies, so the same session) where scripts run; the walk itself runs without."""
        url = page.url if path is None else path if path.startswith("http") else base + path
        twin = browser.new_context(bypass_csp=True, locale="fr-FR")
        try:
            twin.add_cookies(ctx.cookies())
            twin_page = twin.new_page()
            response = twin_page.goto(url)
            assert response is not None and response.status == status, f"{name}: {url}"
            audits[name] = _audit(twin_page)
        finally:
            twin.close()

    log_in(page, base)
    page.goto(base + "/mon-espace/signataires/eau-du-ponant")
    page.get_by_role("button", name="Obtenir une copie de mes données chez Eau du Ponant").click()
    page.wait_for_url("**/mon-espace/demandes/*")
    axe.reload_until(page, "Lire la copie")
    audit("request_with_copy")

    page.get_by_role("link", name="Lire la copie").click()
    page.wait_for_url("**/lire")
    copy_url = page.url
    assert page.locator("h1").inner_text() == "Copie de vos données chez Eau du Ponant"
    assert "Export fictif" in page.content()
    assert page.get_by_role("heading", name="Ce qu'Eau du Ponant déclare faire de ces données")
    audit("copy_readable")

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Télécharger la version PDF").click()
    pdf_bytes = Path(pdf_download.value.path()).read_bytes()
    seen["pdf"] = " ".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf_bytes), strict=True).pages
    )
    # Interrupted? The same browser opens it again, within its window.
    again = page.goto(copy_url)
    assert again is not None and again.status == 200
    audit("copy_readable_en", copy_url + "?lang=en")
    ctx.close()

    # The same person in another browser: one copy per person, and the page says what to do.
    ctx, page = context()
    log_in(page, base)
    gone = page.goto(copy_url)
    assert gone is not None and gone.status == 410
    seen["gone"] = page.locator("main").inner_text()
    audit("copy_gone", status=410)
    ctx.close()

    # Withdraw one consent (the city's newsletter), not everything the city does.
    ctx, page = context()
    log_in(page, base)
    audit("card_purposes", "/mon-espace/signataires/ville-de-brest")
    audit("card_purposes_en", "/mon-espace/signataires/ville-de-brest?lang=en")
    page.goto(base + "/mon-espace/signataires/ville-de-brest")
    page.get_by_role(
        "button", name="Retirer mon consentement pour « Lettre d'information municipale »"
    ).click()
    page.wait_for_url("**/mon-espace/demandes/*")
    axe.reload_until(page, "a cessé d'utiliser vos données pour ce traitement")
    audit("request_purpose")
    page.goto(base + "/mon-espace/signataires/ville-de-brest")
    seen["card_after"] = page.locator("main").inner_text()
    ctx.close()
    audits["_seen"] = seen
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


def test_the_copy_reads_prints_and_retries_in_one_browser_only(
    audits: dict[str, dict[str, Any]],
) -> None:
    seen = audits["_seen"]
    assert "Copie de vos données chez Eau du Ponant" in seen["pdf"]
    assert "Gestion des abonnements à l'eau" in seen["pdf"]
    assert "déjà été ouverte depuis un autre navigateur" in seen["gone"]
    assert "Demander une nouvelle copie à Eau du Ponant" in seen["gone"]


def test_a_consent_withdrawn_for_one_purpose_shows_its_receipt(
    audits: dict[str, dict[str, Any]],
) -> None:
    card = audits["_seen"]["card_after"]
    assert "Consentement retiré : Ville de Brest a répondu le" in card
    assert "Voir le reçu signé" in card


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])


def test_english_pages_carry_no_french_sentence_that_has_an_english_one(
    audits: dict[str, dict[str, Any]],
) -> None:
    english = catalog("en")
    for name in PAGES:
        if not name.endswith("_en"):
            continue
        assert audits[name]["lang"] == "en"
        french = [
            line
            for line in audits[name]["lines"]
            if line in english and english[line] != line and "{" not in line
        ]
        assert not french, f"{name}: French left on an English page: {french}"
