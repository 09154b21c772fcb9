from __future__ import annotations

import re
from dataclasses import replace

import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.jobs import build_worker
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.settings import Settings
from tests.desk.identity.sessions_support import (
    browser,
    cookie_attributes,
    running_app,
    set_cookies,
)
from tests.desk.residents.helpers import log_in, page_text
from tests.helpers import csrf_token, form_token


async def test_form_with_its_token_passes(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    response = await client.post("/deconnexion", data={"csrftoken": token})
    assert response.status_code == 303


async def test_multipart_form_with_token_first_passes(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/deconnexion", data={"csrftoken": token}, files={"f": ("a.txt", b"x", "text/plain")}
    )
    assert response.status_code == 303


async def test_a_file_before_the_token_is_refused(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    body = (
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nx\r\n'
        b'--B\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\n'
        + token.encode()
        + b"\r\n--B--\r\n"
    )
    response = await client.post(
        "/deconnexion", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert response.status_code == 403
    assert "Formulaire expiré" in response.text


async def test_a_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    await csrf_token(client)
    response = await client.post("/deconnexion", data={"csrftoken": "forged"})
    assert response.status_code == 403


async def test_the_header_carries_the_token_too(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client)
    response = await client.post("/deconnexion", headers={"x-csrftoken": token})
    assert response.status_code == 303


async def test_malformed_and_oversized_forms_get_clear_answers(client: httpx.AsyncClient) -> None:
    await csrf_token(client)
    form = {"content-type": "application/x-www-form-urlencoded"}
    bad = await client.post("/deconnexion", content=b"csrftoken=\xff\xfe", headers=form)
    assert bad.status_code == 400 and "illisible" in bad.text
    huge = await client.post("/deconnexion", content=b"a=" + b"x" * 300_000, headers=form)
    assert huge.status_code == 413
    odd = await client.post(
        "/deconnexion", content=b"{}", headers={"content-type": "application/json"}
    )
    assert odd.status_code == 403


async def test_a_form_posted_from_another_site_is_refused_even_with_the_token(
    client: httpx.AsyncClient,
) -> None:
    token = await csrf_token(client)
    for headers in (
        {"origin": "https://evil.example"},
        {"origin": "null", "sec-fetch-site": "cross-site"},  # a sandboxed frame elsewhere
        {"sec-fetch-site": "cross-site"},
    ):
        response = await client.post("/deconnexion", data={"csrftoken": token}, headers=headers)
        assert response.status_code == 403, headers
        assert "Formulaire expiré" in response.text


async def test_the_desks_own_origins_pass(settings: Settings, mail_sink: MailSink) -> None:
    # The address the request was sent to, and the configured public address (DESK_BASE_URL),
    # which a reverse proxy may not pass on as Host.
    public = replace(settings, base_url="https://guichet.brest.example")
    EXECUTOR_CACHE.clear()  # as the `app` fixture does: the suite switches databases
    application = create_app(public, mail_sink=mail_sink)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            token = await csrf_token(client)
            for headers in (
                {"origin": "http://testserver", "sec-fetch-site": "same-origin"},
                {"origin": "https://guichet.brest.example", "sec-fetch-site": "same-site"},
                # A same-site post from a no-referrer page (the login confirmation).
                {"origin": "null", "sec-fetch-site": "same-origin"},
            ):
                response = await client.post(
                    "/deconnexion", data={"csrftoken": token}, headers=headers
                )
                assert response.status_code == 303, headers
            other = await client.post(
                "/deconnexion", data={"csrftoken": token}, headers={"origin": "https://x.example"}
            )
            assert other.status_code == 403


# --- tokens bound to the session (issue 14, item 4) ----------------------------------------------

TOKEN_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')


def _plant(client: httpx.AsyncClient, name: str, value: str) -> None:
    """What a sibling subdomain or a network attacker can do to a non-__Host- cookie."""
    client.cookies.delete(name)
    client.cookies.set(name, value, domain="testserver.local", path="/")


async def test_an_attackers_own_token_pair_is_refused_with_a_victims_session(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, "victime@exemple.fr")
    async with browser(app) as attacker:
        # The attacker's own valid pair: anonymous, then logged in as themselves.
        anonymous = await csrf_token(attacker)
        await log_in(attacker, worker, mail_sink, "attaquant@exemple.fr")
        logged_in = form_token(attacker)
        assert anonymous != logged_in
    for stolen in (anonymous, logged_in):
        _plant(client, "csrftoken", stolen)
        for headers in ({}, {"x-csrftoken": stolen}):
            forged = await client.post(
                "/deconnexion/partout",
                data={} if headers else {"csrftoken": stolen},
                headers=headers,
            )
            assert forged.status_code == 403, stolen
            assert "Formulaire expiré ou incomplet" in page_text(forged)
            assert "jeton de sécurité" in page_text(forged)
    # Nothing happened: the victim is still logged in, and their own form still works.
    page = await client.get("/mon-espace")
    assert page.status_code == 200
    (own,) = set(TOKEN_FIELD.findall(page.text))
    assert own not in (anonymous, logged_in)
    done = await client.post("/deconnexion/partout", data={"csrftoken": own})
    assert done.status_code == 303
    assert (await client.get("/mon-espace")).status_code == 303


async def test_a_login_gives_a_new_token_and_forms_keep_working(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    before = await csrf_token(client, "/connexion")
    login_page = await client.get("/connexion")
    assert TOKEN_FIELD.findall(login_page.text) == [before]
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    page = await client.get("/mon-espace")
    (after,) = set(TOKEN_FIELD.findall(page.text))
    # The cookie carries the new session's token; the one from before the login opens nothing.
    assert after != before and form_token(client) == after
    assert (await client.post("/deconnexion", data={"csrftoken": before})).status_code == 403
    # Logging out gives an anonymous token again, which anonymous forms accept.
    assert (await client.post("/deconnexion", data={"csrftoken": after})).status_code == 303
    anonymous = await csrf_token(client, "/connexion")
    assert anonymous not in (before, after)
    asked = await client.post(
        "/connexion", data={"csrftoken": anonymous, "email": "camille@exemple.fr"}
    )
    assert asked.status_code == 200


async def test_over_https_the_csrf_cookie_is_host_prefixed(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(settings, mail_sink, https_only=True, base_url="https://testserver") as app,
        browser(app, "https://testserver") as client,
    ):
        response = await client.get("/connexion")
        assert not set_cookies(response, "csrftoken")
        (header,) = set_cookies(response, "__Host-csrftoken")
        attributes = cookie_attributes(header)
        assert attributes["path"] == "/" and "domain" not in attributes
        assert "secure" in attributes and "httponly" in attributes
        token = attributes["__Host-csrftoken"]
        assert TOKEN_FIELD.findall(response.text) == [token]
        form = {"csrftoken": token, "email": "tls@exemple.fr"}
        assert (await client.post("/connexion", data=form)).status_code == 200
        # A cookie without the prefix (which a subdomain could plant) counts for nothing.
        client.cookies.clear()
        client.cookies.set("csrftoken", token, domain="testserver")
        refused = await client.post("/connexion", data=form)
        assert refused.status_code == 403
        assert "Formulaire expiré" in page_text(refused)
        client.cookies.clear()
        # And a real login then a form work with it.
        await log_in(client, build_worker(app.state.runtime), mail_sink, "tls@exemple.fr")
        page = await client.get("/mon-espace")
        (own,) = set(TOKEN_FIELD.findall(page.text))
        assert own == form_token(client) == client.cookies.get("__Host-csrftoken")
        assert (await client.post("/deconnexion", data={"csrftoken": own})).status_code == 303
