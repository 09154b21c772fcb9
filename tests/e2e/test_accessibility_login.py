"""The pages of a login link opened on another device, checked with axe-core in Chromium.

The phone's page that asks for the code (empty, then with a wrong code), its wait for the PC's
confirmation, and the PC's page showing the code and the question — for a resident and for
staff, in French and in English. Same rules as test_accessibility.py.
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

PC_USER = "deux.appareils@exemple.invalid"
PAGES = [
    "login_other_device_code",
    "login_other_device_en",
    "login_elsewhere",
    "login_elsewhere_wrong_code",
    "login_waiting",
    "login_other_device_waiting",
    "login_other_device_confirmed",
    "login_other_device_nothing",
    "staff_login_elsewhere",
    "staff_login_other_device_code",
]


def _walk(browser: Any, demo: axe.Demo) -> dict[str, dict[str, Any]]:
    base = demo.base
    audits: dict[str, dict[str, Any]] = {}

    def context() -> tuple[Any, Any]:
        ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
        ctx.set_default_timeout(15_000)
        return ctx, ctx.new_page()

    def follow(page: Any, target: Any) -> None:
        """Click and wait for the next page (a form's answer, a link)."""
        with page.expect_navigation():
            target.click()
        page.wait_for_load_state("load")

    def audit(page: Any, name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(path if path.startswith("http") else base + path)
        audits[name] = _audit(page)

    demo.staff_ready()  # one writer at a time on the demo's SQLite file
    pc_ctx, pc = context()
    pc.goto(base + "/connexion")
    pc.get_by_label("Adresse électronique").fill(PC_USER)
    follow(pc, pc.get_by_role("button", name="Recevoir mon lien de connexion"))
    follow(pc, pc.get_by_role("link", name="Afficher le code à taper sur cet appareil"))
    audit(pc, "login_other_device_code")
    code = pc.locator(".login-code strong").inner_text()
    link = axe.mailbox_link(base, "/connexion/", to=PC_USER)

    phone_ctx, phone = context()
    audit(phone, "login_other_device_nothing", "/connexion/autre-appareil")
    audit(phone, "login_elsewhere", link)
    wrong = ("1" if code[0] != "1" else "2") + code[1:]
    phone.get_by_label("Code de vérification").fill(wrong)
    follow(phone, phone.get_by_role("button", name="Me connecter avec ce code"))
    audit(phone, "login_elsewhere_wrong_code")
    follow(phone, phone.get_by_role("button", name="Demander la confirmation"))
    audit(phone, "login_waiting")

    audit(pc, "login_other_device_waiting", "/connexion/autre-appareil")
    follow(pc, pc.get_by_role("button", name="Oui, c'est moi : confirmer"))
    audit(pc, "login_other_device_confirmed")
    follow(phone, phone.get_by_role("link", name="Continuer"))
    follow(phone, phone.get_by_role("button", name="Me connecter", exact=True))
    phone.wait_for_url("**/mon-espace")
    # Last: choosing English sticks to the browser.
    audit(pc, "login_other_device_en", "/connexion/autre-appareil?lang=en")
    pc_ctx.close()
    phone_ctx.close()

    pc_ctx, pc = context()
    pc.goto(base + "/equipe/connexion")
    seen = axe.mailbox_links(base, "/equipe/connexion/", to=axe.STAFF)
    pc.get_by_label("Adresse électronique").fill(axe.STAFF)
    follow(pc, pc.locator("main form button[type=submit]"))
    audit(pc, "staff_login_other_device_code", "/equipe/connexion/autre-appareil")
    link = axe.mailbox_link(base, "/equipe/connexion/", to=axe.STAFF, besides=seen)
    phone_ctx, phone = context()
    audit(phone, "staff_login_elsewhere", link)
    pc_ctx.close()
    phone_ctx.close()
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


@pytest.mark.parametrize("name", PAGES)
def test_other_device_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])


def test_the_english_page_is_in_english(audits: dict[str, dict[str, Any]]) -> None:
    report = audits["login_other_device_en"]
    assert report["lang"] == "en"
    assert "Open the link on another device" in report["lines"]
    assert not any("appareil" in line for line in report["lines"])
