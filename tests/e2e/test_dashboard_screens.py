"""How long the dashboard is on a small phone (320 px wide): a resident with 40 signatories and
20 requests must not scroll through dozens of screens to find what is left to do (issue 17).

The page is rendered by the app in-process, then laid out by Debian's Chromium with the desk's
own stylesheet; the number of screens is printed (run with -s) and kept under a ceiling.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.residents.models import Resident
from tests.desk.residents.helpers import log_in
from tests.factories import make_signatory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

STATIC = Path(__file__).resolve().parents[2] / "static"
WIDTH, HEIGHT = 320, 568  # the smallest phone still common (iPhone SE, first generation)
EMAIL = "ecrans@exemple.invalid"
# Measured: 82.7 screens before issue 17 (a table row per signatory, a table per request),
# 13.0 after (signatories grouped by what they said, one line per request).
CEILING = 14


async def _answer(app: Starlette, delivery: Delivery, action: str, **kwargs: Any) -> None:
    rt = app.state.runtime
    step = getattr(transitions, action)
    await step(
        delivery_id=delivery.id, actor="partner", keyring=rt.keyring, issuer=rt.issuer, **kwargs
    )


async def _history(app: Starlette, resident_id: int) -> None:
    """A discovery answered by every signatory (half hold data), then 19 requests of every kind,
    some answered, some awaited."""
    discovery = await file_request(resident_id=resident_id, kind=RequestKind.DISCOVERY)
    deliveries = list(await Delivery.filter(request_id=discovery.id).order_by("id"))
    holders: list[int] = []
    for n, delivery in enumerate(deliveries):
        holds = n % 2 == 0
        outcome = (
            {"holds_data": True, "declarations": ["traitement-1"], "categories": ["identité"]}
            if holds
            else {"holds_data": False}
        )
        await _answer(app, delivery, "fulfil", outcome=outcome)
        if holds:
            holders.append(delivery.signatory_id)  # type: ignore[attr-defined]
    kinds = [RequestKind.ACCESS, RequestKind.ERASURE, RequestKind.OBJECTION]
    for n in range(19):
        kind = kinds[n % 3]
        chosen = [holders[(n + k) % len(holders)] for k in range(1 + n % 4)]
        request = await file_request(resident_id=resident_id, kind=kind, signatory_ids=chosen)
        if n % 2 == 0:
            first = await Delivery.filter(request_id=request.id).order_by("id").first()
            assert first is not None
            answers: dict[RequestKind, dict[str, Any]] = {
                RequestKind.ACCESS: {"holds_data": False},
                RequestKind.ERASURE: {"result": "erased", "erased_categories": ["identité"]},
                RequestKind.OBJECTION: {"result": "stopped"},
            }
            await _answer(app, first, "fulfil", outcome=answers[kind])


async def _screens(html: str) -> float:
    css = (STATIC / "desk.css").read_text(encoding="utf-8")
    page_html = re.sub(
        r'<link rel="stylesheet" href="/static/desk.css">', f"<style>{css}</style>", html
    )
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = await browser.new_page(
            java_script_enabled=False, viewport={"width": WIDTH, "height": HEIGHT}
        )
        await page.set_content(page_html)
        height: int = await page.evaluate("() => document.documentElement.scrollHeight")
        await browser.close()
    return height / HEIGHT


async def test_dashboard_of_40_signatories_and_20_requests_fits_a_few_phone_screens(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    for n in range(40):
        await make_signatory(f"organisme-{n:02d}", name=f"Organisme d'essai {n:02d}")
    await log_in(client, worker, mail_sink, EMAIL)
    resident = await Resident.get(email=EMAIL)
    await _history(app, resident.id)
    page = await client.get("/mon-espace")
    assert page.status_code == 200
    screens = await _screens(page.text)
    print(
        f"\ndashboard, 40 signatories and 20 requests, at {WIDTH}x{HEIGHT}: {screens:.1f} screens"
    )
    assert screens <= CEILING
