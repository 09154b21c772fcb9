from __future__ import annotations

from dataclasses import replace

import httpx
from asgi_lifespan import LifespanManager
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.mail.sink import MailSink
from desk.settings import Settings
from tests.helpers import csrf_token


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
