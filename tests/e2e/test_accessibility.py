"""Every page, checked with axe-core (WCAG 2.1 A/AA, the base of RGAA 4.1) in a real Chromium.

One `desk demo` serves the page tests. A newcomer, a resident who erased everywhere, a signatory's
DPO and a back-office agent each show their pages once; each page is audited on the way, then
each audit is one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from desk.core.i18n import catalog
from tests.e2e import axe

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(not axe.available(), reason=axe.MISSING_REASON),
]

NEWCOMER = "dominique.demo@exemple.invalid"
PAGES = [
    "home",
    "accessibility",
    "desk_register",
    "explain",
    "explain_topic",
    "signatories",
    "signatory",
    "login",
    "login_sent",
    "login_confirm",
    "login_link_invalid",
    "dashboard_before_discovery",
    "erasure_confirm_before_discovery",
    "signatory_card",
    "dashboard_after_discovery",
    "dashboard_refresh_stopped",
    "dashboard_refreshing",
    "request_discovery",
    "request_refreshing",
    "erasure_confirm",
    "request_erasure",
    "signatory_card_after_erasure",
    "receipt",
    "verifier_empty",
    "verifier_valid",
    "verifier_garbage",
    "partner_answer",
    "partner_link_invalid",
    "not_found",
    "staff_login",
    "staff_login_sent",
    "staff_login_confirm",
    "backoffice",
    "backoffice_signatory",
    "backoffice_delivery",
    "backoffice_postal",
    "home_en",
    "dashboard_en",
    "erasure_confirm_en",
    "request_erasure_en",
    "signatory_card_en",
    "receipt_en",
    "partner_answer_en",
]

STRUCTURE_JS = """() => {
  const first = document.querySelector(
    'a[href], button, input:not([type=hidden]), select, textarea');
  const href = first && first.getAttribute('href');
  const fields = document.querySelectorAll(
    'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea');
  const unlabelled = [...fields].filter(el =>
    !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.getAttribute('aria-labelledby')).map(el => el.outerHTML.slice(0, 160));
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .map(h => Number(h.tagName[1]));
  const skips = levels.filter((level, i) => i > 0 && level > levels[i - 1] + 1)
    .map(level => 'h' + level);
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  return {
    h1: document.querySelectorAll('h1').length,
    heading_skips: skips,
    duplicate_ids: [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))],
    lang: document.documentElement.getAttribute('lang') || '',
    title: document.title,
    skip: !!(href && href.startsWith('#') && href.length > 1
             && document.getElementById(href.slice(1))),
    unlabelled: unlabelled,
  };
}"""


def _audit(page: Any) -> dict[str, Any]:
    report: dict[str, Any] = page.evaluate(STRUCTURE_JS)
    report["url"] = page.url
    # RGAA 13.1.1 accepts a timed refresh the user can stop: the dashboard offers that link.
    report["refresh_can_stop"] = page.locator("a[href$='actualiser=non']").count() > 0
    report["violations"] = axe.run_axe(page)
    report["lines"] = [
        line.strip() for line in page.locator("body").inner_text().splitlines() if line.strip()
    ]
    return report


def _walk(browser: Any, demo: axe.Demo) -> dict[str, dict[str, Any]]:
    base = demo.base
    audits: dict[str, dict[str, Any]] = {}
    ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()

    def audit(name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(path if path.startswith("http") else base + path)
        audits[name] = _audit(page)

    audit("home", "/")
    audit("accessibility", "/accessibilite")
    audit("desk_register", "/registre-du-guichet")
    audit("explain", "/comprendre")
    audit("explain_topic", "/comprendre/delais")
    audit("signatories", "/signataires")
    slug = page.locator("tbody th a").first.get_attribute("href").rsplit("/", 1)[-1]
    audit("signatory", f"/signataires/{slug}")
    audit("not_found", "/cette-page-n-existe-pas")
    audit("verifier_empty", "/verifier")
    audit("verifier_garbage", "/verifier?jws=ceci.n-est-pas.un-recu")
    audit("partner_link_invalid", "/partenaires/reponse/lien-faux")
    audit("login_link_invalid", "/connexion/lien-faux")

    # A resident of its own, to see the login pages and a dashboard before any request.
    audit("login", "/connexion")
    page.get_by_label("Adresse électronique").fill(NEWCOMER)
    page.get_by_role("button", name="Recevoir mon lien de connexion").click()
    audit("login_sent")
    page.goto(axe.mailbox_link(base, "/connexion/", to=NEWCOMER))
    audit("login_confirm")
    page.get_by_role("button", name="Me connecter").click()
    page.wait_for_url("**/mon-espace")
    audit("dashboard_before_discovery")
    audit("erasure_confirm_before_discovery", "/mon-espace/supprimer?tous=1")
    audit("signatory_card", f"/mon-espace/signataires/{slug}")
    ctx.close()

    # The shared resident has asked who holds data, then erased everywhere.
    journey = demo.journey()
    ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    ctx.add_cookies(journey.browser_cookies())
    page = ctx.new_page()
    audit("dashboard_after_discovery", "/mon-espace")
    audit("dashboard_refresh_stopped", "/mon-espace?actualiser=non")
    audit("dashboard_refreshing", "/mon-espace?actualiser=oui")
    erased_card = page.locator("ul[aria-labelledby=effacees] a").first.get_attribute("href")
    audit("resident_requests", "/mon-espace/demandes")
    audit("request_discovery", journey.discovery_path)
    audit("request_refreshing", journey.erasure_path + "?actualiser=oui")
    audit("erasure_confirm", "/mon-espace/supprimer?tous=1")
    audit("request_erasure", journey.erasure_path)
    audit("signatory_card_after_erasure", erased_card)
    audit("receipt", journey.receipt_path)
    verify = page.locator("a[href^='/verifier?jws=']").first.get_attribute("href")
    audit("verifier_valid", verify)
    audit("partner_answer", journey.partner_link)
    audit("home_en", "/?lang=en")
    audit("dashboard_en", "/mon-espace?lang=en")
    audit("resident_requests_en", "/mon-espace/demandes?lang=en")
    audit("erasure_confirm_en", "/mon-espace/supprimer?tous=1&lang=en")
    audit("request_erasure_en", journey.erasure_path + "?lang=en")
    audit("signatory_card_en", erased_card + "?lang=en")
    audit("receipt_en", journey.receipt_path + "?lang=en")
    audit("partner_answer_en", journey.partner_link + "?lang=en")
    ctx.close()

    demo.staff_ready()
    ctx = browser.new_context(bypass_csp=True, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    audit("staff_login", "/equipe/connexion")
    seen = axe.mailbox_links(base, "/equipe/connexion/", to=axe.STAFF)
    page.get_by_label("Adresse électronique").fill(axe.STAFF)
    page.locator("main form button[type=submit]").click()
    audit("staff_login_sent")
    page.goto(axe.mailbox_link(base, "/equipe/connexion/", to=axe.STAFF, besides=seen))
    audit("staff_login_confirm")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/back-office")
    audit("backoffice")
    audit("backoffice_postal", "/back-office/courriers")
    audit("backoffice_signatory", f"/back-office/signataires/{journey.slug}")
    delivery = page.locator("a[href^='/back-office/envois/']").first.get_attribute("href")
    audit("backoffice_delivery", delivery)
    ctx.close()
    return audits


@pytest.fixture(scope="module")
def audits() -> Iterator[dict[str, dict[str, Any]]]:
    yield from axe.audit_walk(_walk)


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_serious_accessibility_problem(
    audits: dict[str, dict[str, Any]], name: str
) -> None:
    check_report(name, audits[name])


def check_report(name: str, report: dict[str, Any]) -> None:
    """No serious or critical axe violation, and the page's structure holds (shared checks)."""
    where = f"{name} ({report['url']})"
    minor = [v for v in report["violations"] if v not in axe.blocking(report["violations"])]
    if minor:
        print(f"\n{where}: minor axe findings\n{axe.describe(minor)}")
    blocking = [
        v
        for v in axe.blocking(report["violations"])
        if not (v["id"] == "meta-refresh" and report["refresh_can_stop"])
    ]
    assert not blocking, f"{where}: serious or critical axe violations\n{axe.describe(blocking)}"
    assert report["h1"] == 1, f"{where}: {report['h1']} h1 headings, expected exactly one"
    assert report["lang"] in ("fr", "en"), f"{where}: <html lang> is {report['lang']!r}"
    parts = [part.strip() for part in report["title"].split(" — ")]
    assert len(parts) >= 2 and parts[0] and parts[0] != parts[-1], (
        f"{where}: the <title> {report['title']!r} does not name the page"
    )
    assert report["skip"], f"{where}: the first link is not a skip link to the content"
    assert not report["unlabelled"], f"{where}: fields without a label: {report['unlabelled']}"
    assert not report["heading_skips"], (
        f"{where}: heading levels skipped: {report['heading_skips']}"
    )
    assert not report["duplicate_ids"], f"{where}: duplicate ids: {report['duplicate_ids']}"


def test_english_pages_say_they_are_english(audits: dict[str, dict[str, Any]]) -> None:
    for name in PAGES:
        expected = "en" if name.endswith("_en") else "fr"
        assert audits[name]["lang"] == expected, f"{name}: lang={audits[name]['lang']!r}"


def test_english_pages_carry_no_french_sentence_that_has_an_english_one(
    audits: dict[str, dict[str, Any]],
) -> None:
    """A whole line of an English page that is a French msgid with an English translation means
    a template forgot `_()` (or printed a label untranslated)."""
    english = catalog("en")
    for name in PAGES:
        if not name.endswith("_en"):
            continue
        french = [
            line
            for line in audits[name]["lines"]
            if line in english and english[line] != line and "{" not in line
        ]
        assert not french, f"{name}: French left on an English page: {french}"
