"""The pages added since the first audit, checked with axe-core in a real Chromium.

The mediator's pages (home, session form, a resident without email, the mandate to print, the
acknowledgement of an erasure, the wait for a resident's consent, and the resident's own page
asking for it), the ethics committee, the public statistics and charter pages,
and a resident's complaint form. Same rules as test_accessibility.py: no serious or critical
axe violation and the same structure checks.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e import axe
from tests.e2e.test_accessibility import _audit, check_report

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(not axe.available(), reason=axe.MISSING_REASON),
]

MEDIATOR = "mediatrice.a11y@exemple.invalid"
COMMITTEE = "comite.a11y@exemple.invalid"
# A mediator's help point is a published entry of the directory (`desk demo` seeds this one).
HELP_POINT = "Point d'aide numérique de Bellevue (démo)"
PAGES = [
    "mediation_home",
    "mediation_session_form",
    "mediation_resident",
    "mediation_mandate",
    "mediation_acknowledgement",
    "mediation_consent",
    "resident_asked_by_mediator",
    "committee",
    "statistics",
    "report",
    "open_data",
    "transparency",
    "flows",
    "signatory_alerts",
    "signatory_self_evaluation",
    "explain_index",
    "explain_complaint_topic",
    "complaint",
]


def add_staff(demo: axe.Demo, email: str, role: str, *extra: str) -> None:
    """`desk staff add` on the shared demo's database (its cwd is the demo's directory)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL="sqlite://desk-demo.sqlite3",
        DESK_DATA_DIR=str(demo.directory / "data"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "desk.cli", "staff", "add", email, "--role", role, *extra],
        cwd=demo.directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _login_links(base: str, email: str) -> list[str]:
    mails = httpx.get(base + "/dev/mailbox.json", params={"to": email}, timeout=5).json()
    return [u for m in mails for u in m["links"] if "/equipe/connexion/" in u]


def staff_login(page: Any, base: str, email: str) -> None:
    """Log in as `email` with a fresh link (an earlier test may have used an older one)."""
    before = len(_login_links(base, email))
    page.goto(base + "/equipe/connexion")
    page.locator("main input[type=email]").fill(email)
    page.locator("main form button[type=submit]").click()
    deadline = time.monotonic() + 20
    while len(links := _login_links(base, email)) <= before:
        assert time.monotonic() < deadline, f"no new login link for {email}"
        time.sleep(0.2)
    page.goto(links[-1])
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def open_session_without_email(page: Any, base: str, full_name: str) -> str:
    """A mediator opens a session for a resident without email; returns the resident's URL.

    `full_name` must be new to the demo: a namesake would make the form ask which one it is.
    """
    page.goto(base + "/mediation/seance")
    page.get_by_label("Nom et prénom").fill(full_name)
    page.get_by_label("Numéro et rue").fill("3 rue de Kerbonne")
    page.get_by_label("Code postal").fill("29200")
    page.get_by_label("Commune").fill("Brest")
    page.get_by_label("pièce d'identité montrée (rien n'est copié ni noté)").check()
    page.get_by_label("Supprimer mes données").check()
    page.get_by_role("button", name="Ouvrir la séance et enregistrer le mandat").click()
    page.wait_for_url("**/mediation/habitants/*")
    return str(page.url)


def _walk(browser: Any, demo: axe.Demo) -> dict[str, dict[str, Any]]:
    base = demo.base
    audits: dict[str, dict[str, Any]] = {}
    journey = demo.journey()
    demo.staff_ready()  # one writer at a time on the demo's SQLite file
    add_staff(demo, MEDIATOR, "mediator", "--help-point", HELP_POINT)
    add_staff(demo, COMMITTEE, "committee")

    def context(**options: Any) -> tuple[Any, Any]:
        ctx = browser.new_context(bypass_csp=True, locale="fr-FR", **options)
        ctx.set_default_timeout(15_000)
        return ctx, ctx.new_page()

    ctx, page = context()

    def audit(name: str, path: str | None = None) -> None:
        if path is not None:
            response = page.goto(path if path.startswith("http") else base + path)
            assert response is not None and response.ok, f"{name}: {path} did not open"
        assert "/connexion" not in page.url, f"{name}: sent to the login page ({page.url})"
        audits[name] = _audit(page)

    # Public pages.
    audit("statistics", "/statistiques")
    audit("report", f"/bilan/{datetime.date.today().year}")
    audit("open_data", "/donnees-ouvertes/")
    audit("transparency", "/transparence")
    audit("flows", "/signataires/flux")
    audit("signatory_alerts", f"/signataires/{journey.slug}/alertes")
    audit("signatory_self_evaluation", f"/signataires/{journey.slug}/auto-evaluation")
    audit("explain_index", "/comprendre")
    audit("explain_complaint_topic", "/comprendre/reclamation")
    ctx.close()

    # The journey's resident writes to the committee about one of her deliveries.
    ctx, page = context()
    ctx.add_cookies(journey.browser_cookies())
    page.goto(base + journey.erasure_path)
    complaint = page.locator("a[href^='/mon-espace/reclamations/']").first.get_attribute("href")
    audit("complaint", complaint)
    ctx.close()

    # A mediator with a resident who has no email address.
    ctx, page = context()
    staff_login(page, base, MEDIATOR)
    audit("mediation_home", "/mediation")
    audit("mediation_session_form", "/mediation/seance")
    resident_url = open_session_without_email(page, base, "Yvonne Le Gall")
    audit("mediation_resident")
    page.get_by_role("link", name="Imprimer le mandat à faire signer").click()
    # Audit the mandate page itself, not the document still being swapped in.
    page.wait_for_url("**/mandats/*")
    page.wait_for_load_state("load")
    audit("mediation_mandate")
    page.goto(resident_url)
    page.get_by_role("button", name="La personne a signé le mandat papier").click()
    page.wait_for_load_state("load")
    page.get_by_label("Supprimer mes données").check()
    page.locator("input[id^='file-sig-']").first.check()
    page.get_by_role("button", name="Déposer la demande pour la personne").click()
    page.wait_for_url("**/accuse")
    audit("mediation_acknowledgement")
    # The journey's resident has an online account: the session waits for her consent.
    page.goto(base + "/mediation/seance")
    page.get_by_label("Elle a une adresse électronique", exact=False).check()
    page.get_by_label("Adresse électronique", exact=True).fill(axe.RESIDENT)
    page.get_by_label("pièce d'identité montrée (rien n'est copié ni noté)").check()
    page.get_by_label("Supprimer mes données").check()
    page.get_by_role("button", name="Ouvrir la séance et enregistrer le mandat").click()
    page.wait_for_url("**/consentement")
    audit("mediation_consent")
    ctx.close()

    # She sees, in her own space, the mediator asking to assist her.
    ctx, page = context()
    ctx.add_cookies(journey.browser_cookies())
    audit("resident_asked_by_mediator", "/mon-espace?actualiser=non")
    assert page.get_by_role("button", name="J'accepte").count() == 1
    ctx.close()

    ctx, page = context()
    staff_login(page, base, COMMITTEE)
    audit("committee", "/comite")
    ctx.close()
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


@pytest.mark.parametrize("name", PAGES)
def test_new_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])
