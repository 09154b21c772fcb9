"""Headers every answer carries: HSTS over HTTPS only, no-store on every personal page."""

from __future__ import annotations

import httpx

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.settings import Settings
from tests.desk.identity.sessions_support import browser, running_app
from tests.desk.residents.helpers import log_in

HSTS = "max-age=63072000; includeSubDomains"


def _no_store(response: httpx.Response) -> bool:
    cache_control: str | None = response.headers.get("cache-control")
    return cache_control == "no-store"


async def test_hsts_only_over_https(settings: Settings, mail_sink: MailSink) -> None:
    async with (
        running_app(settings, mail_sink, https_only=True, base_url="https://testserver") as app,
        browser(app, "https://testserver") as client,
    ):
        for path in ("/", "/page-absente", "/static/desk.css"):
            assert (await client.get(path)).headers["strict-transport-security"] == HSTS, path


async def test_no_hsts_over_http_and_the_usual_protections_stay(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    directives = dict(
        part.strip().partition(" ")[::2]
        for part in response.headers["content-security-policy"].split(";")
    )
    assert directives["frame-ancestors"] == "'none'"
    # No inline script: neither script-src nor its fallback default-src allows it.
    assert "'unsafe-inline'" not in directives.get("script-src", directives["default-src"])


async def test_personal_pages_are_never_stored_by_a_cache(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    # Public pages, nobody logged in: caches may keep them.
    for path in ("/", "/signataires", "/static/desk.css"):
        assert not _no_store(await client.get(path)), path
    # Pages about one person or one partner: whoever asks.
    for path in (
        "/mon-espace",
        "/equipe/connexion",
        "/back-office",
        "/partenaires/reponse/lien-inconnu",
        "/api/v1/holdings",
    ):
        assert _no_store(await client.get(path)), path
    assert _no_store(await client.post("/oauth/token", data={"grant_type": "x"}))

    # Logged in, every page is theirs (a public page shows their name and menu); not the CSS.
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    for path in ("/", "/signataires", "/mon-espace", "/page-absente"):
        assert _no_store(await client.get(path)), path
    assert not _no_store(await client.get("/static/desk.css"))
