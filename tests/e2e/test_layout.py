"""The main pages on a small phone (320 px), zoomed to 200 %, and on a desktop, JavaScript off.

No horizontal scrolling (WCAG 1.4.10 reflow), light pages (under 100 KB with their stylesheet
and images) and screenshots at 320 and 1280 px kept in the test's tmp_path for a human to look at.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import axe
from tests.e2e.test_accessibility_more import (
    HELP_POINT,
    MEDIATOR,
    add_staff,
    open_session_without_email,
    staff_login,
)

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(axe.CHROMIUM is None, reason="Chromium is not installed")

MAX_PAGE_BYTES = 100 * 1024
SCREENSHOTS = (
    "home",
    "signatories",
    "dashboard",
    "request",
    "receipt",
    "partner",
    "statistics",
    "mediation",
)
# Viewports: a 320 px phone; 200 % zoom of a 1280 px screen (640 CSS px at 2 device px per
# CSS px); a desktop.
PHONE = {"viewport": {"width": 320, "height": 720}}
ZOOM_200 = {"viewport": {"width": 640, "height": 480}, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def _pages(journey: axe.Journey, complaint_path: str) -> dict[str, str]:
    return {
        "home": "/",
        "signatories": "/signataires",
        "signatory": f"/signataires/{journey.slug}",
        "accessibility": "/accessibilite",
        "login": "/connexion",
        "dashboard": "/mon-espace?actualiser=non",
        "signatory_card": f"/mon-espace/signataires/{journey.slug}",
        "erasure_confirm": "/mon-espace/supprimer?tous=1",
        "request": journey.erasure_path,
        "receipt": journey.receipt_path,
        "verifier": "/verifier",
        "partner": journey.partner_link,
        "complaint": complaint_path,
        "statistics": "/statistiques",
        "report": f"/bilan/{datetime.date.today().year}",
        "open_data": "/donnees-ouvertes/",
        "transparency": "/transparence",
        "flows": "/signataires/flux",
        "self_evaluation": f"/signataires/{journey.slug}/auto-evaluation",
        "explain": "/comprendre",
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = axe.launch(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def journey() -> axe.Journey:
    return axe.shared_demo().journey()


@pytest.fixture(scope="module")
def pages(journey: axe.Journey) -> dict[str, str]:
    with httpx.Client(base_url=journey.base, cookies=journey.cookies, timeout=10) as client:
        request_page = client.get(journey.erasure_path).text
    complaint = re.findall(r'href="(/mon-espace/reclamations/[0-9]+)"', request_page)
    assert complaint, "the erasure page links to no complaint form"
    return _pages(journey, complaint[0])


@pytest.fixture(scope="module")
def mediator(browser: Any, journey: axe.Journey) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A mediator's session cookies, JavaScript off, and the mediator's main pages."""
    demo = axe.shared_demo()
    demo.staff_ready()  # one writer at a time on the demo's SQLite file
    add_staff(demo, MEDIATOR, "mediator", "--help-point", HELP_POINT)
    ctx = browser.new_context(java_script_enabled=False, locale="fr-FR")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    staff_login(page, journey.base, MEDIATOR)
    resident = open_session_without_email(page, journey.base, "Gwenaëlle Kerjean")
    cookies: list[dict[str, Any]] = ctx.cookies()
    ctx.close()
    return cookies, {
        "mediation": "/mediation",
        "mediation_session_form": "/mediation/seance",
        "mediation_resident": resident,
    }


def _context(browser: Any, journey: axe.Journey, **options: Any) -> Any:
    ctx = browser.new_context(java_script_enabled=False, locale="fr-FR", **options)
    ctx.set_default_timeout(15_000)
    ctx.add_cookies(journey.browser_cookies())
    return ctx


def _url(journey: axe.Journey, path: str) -> str:
    return path if path.startswith("http") else journey.base + path


def _overflow(page: Any) -> dict[str, Any]:
    """The page's scroll width, and what sticks out to the right if anything does."""
    result: dict[str, Any] = page.evaluate(
        """() => {
          const limit = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > limit + 1)
            .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
              + ' ' + Math.round(e.getBoundingClientRect().right) + 'px');
          return {width: document.documentElement.scrollWidth, limit: limit, wide: wide};
        }"""
    )
    return result


@pytest.mark.parametrize("viewport", [PHONE, ZOOM_200], ids=["320px", "zoom-200"])
def test_main_pages_do_not_scroll_sideways(
    browser: Any,
    journey: axe.Journey,
    pages: dict[str, str],
    viewport: dict[str, Any],
    tmp_path: Path,
) -> None:
    ctx = _context(browser, journey, **viewport)
    _check_sideways(ctx, journey, pages, viewport["viewport"]["width"], tmp_path)


@pytest.mark.parametrize("viewport", [PHONE, ZOOM_200], ids=["320px", "zoom-200"])
def test_mediator_pages_do_not_scroll_sideways(
    browser: Any,
    journey: axe.Journey,
    mediator: tuple[list[dict[str, Any]], dict[str, str]],
    viewport: dict[str, Any],
    tmp_path: Path,
) -> None:
    cookies, pages = mediator
    ctx = browser.new_context(java_script_enabled=False, locale="fr-FR", **viewport)
    ctx.set_default_timeout(15_000)
    ctx.add_cookies(cookies)
    _check_sideways(ctx, journey, pages, viewport["viewport"]["width"], tmp_path)


def _check_sideways(
    ctx: Any, journey: axe.Journey, pages: dict[str, str], width: int, tmp_path: Path
) -> None:
    page = ctx.new_page()
    problems = []
    for name, path in pages.items():
        page.goto(_url(journey, path))
        assert page.locator("h1").count() == 1, f"{name} did not render without JavaScript"
        found = _overflow(page)
        if found["width"] > width + 1:
            problems.append(f"{name}: {found['width']} px wide > {width} px, {found['wide']}")
        if width == 320 and name in SCREENSHOTS:
            page.screenshot(path=str(tmp_path / f"{name}-320.png"), full_page=True)
    ctx.close()
    assert not problems, "pages wider than the screen:\n" + "\n".join(problems)


def test_pages_are_light_and_look_right_on_a_desktop(
    browser: Any, journey: axe.Journey, pages: dict[str, str], tmp_path: Path
) -> None:
    heavy = []
    for name, path in pages.items():
        # A fresh context per page: nothing cached, the stylesheet counts for every page.
        ctx = _context(browser, journey, **DESKTOP)
        page = ctx.new_page()
        responses: list[Any] = []

        def record(response: Any, into: list[Any] = responses) -> None:
            into.append(response)

        page.on("response", record)
        page.goto(_url(journey, path))
        total = 0
        for response in responses:
            sizes = response.request.sizes()
            total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        print(f"{name}: {total} bytes in {len(responses)} responses")
        if total >= MAX_PAGE_BYTES:
            heavy.append(f"{name}: {total} bytes ({[r.url for r in responses]})")
        if name in SCREENSHOTS:
            page.screenshot(path=str(tmp_path / f"{name}-1280.png"), full_page=True)
        ctx.close()
    assert not heavy, "pages of 100 KB or more:\n" + "\n".join(heavy)
