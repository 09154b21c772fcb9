"""The security headers on every answer, health probes and token errors included, and a CSP
that allows no inline style: pages keep their look from stylesheets under /static."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.factories import make_signatory
from tests.helpers import partner_bearer

ROOT = Path(__file__).resolve().parents[3]
EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _csp(response: httpx.Response) -> dict[str, str]:
    return dict(
        part.strip().partition(" ")[::2]
        for part in response.headers["content-security-policy"].split(";")
    )


def _protected(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.request.url.path, name)
    assert _csp(response)["frame-ancestors"] == "'none'", response.request.url.path


async def test_health_probes_and_token_errors_carry_the_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/healthz", "/readyz"):
        _protected(await client.get(path))
    form = {"content-type": "application/x-www-form-urlencoded"}
    token_errors = [
        await client.post("/oauth/token", content=b"x", headers={"content-type": "text/plain"}),
        await client.post("/oauth/token", data={"grant_type": "password"}),
        await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
        ),
        await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": "Basic %%%"},
        ),
        await client.post("/oauth/token", content=b"grant_type=a%00", headers=form),
        await client.post("/oauth/token", content=b"x" * 10_000, headers=form),
        await client.get("/oauth/token"),
    ]
    assert {r.status_code for r in token_errors} == {400, 401, 405, 413}
    for response in token_errors:
        _protected(response)
        # A bearer-token API has no forms: it hands out no CSRF cookie.
        assert "csrftoken" not in response.headers.get("set-cookie", ""), response.status_code


async def test_the_csp_allows_no_inline_style_nor_script(client: httpx.AsyncClient) -> None:
    csp = _csp(await client.get("/"))
    assert csp["style-src"] == "'self'"
    assert "unsafe-inline" not in (await client.get("/")).headers["content-security-policy"]


def test_no_page_template_holds_an_inline_style() -> None:
    # Mail bodies are not pages (no CSP applies to them, and mail clients want inline styles);
    # the standalone annual report is a file, with its styles inlined on purpose.
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        relative = path.relative_to(ROOT / "templates")
        if relative.parts[0] == "email" or relative.name == "report_standalone.html":
            continue
        text = path.read_text("utf-8")
        if re.search(r"<style\b|\sstyle=", text):
            offenders.append(str(relative))
    assert not offenders, offenders


async def test_pages_render_with_their_stylesheets_and_no_inline_style(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    x = await make_signatory("eau-du-ponant")
    await partner_bearer(client, x.slug)  # a signatory with a client: its page lists more
    pages = [
        "/",
        "/signataires",
        f"/signataires/{x.slug}",
        "/statistiques",
        "/comprendre/effacement",
        "/verifier",
        "/registre-du-guichet",
    ]
    sheets: set[str] = set()
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert not re.search(r"<style\b|\sstyle=\"", response.text), path
        sheets |= set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', response.text))
    assert {"/static/desk.css", "/static/stats.css", "/static/explain.css"} <= sheets
    for sheet in sheets | {"/static/sheet.css", "/static/letter.css"}:
        response = await client.get(sheet)
        assert response.status_code == 200, sheet
        assert response.headers["content-type"].startswith("text/css")
