"""Rate limits: a clear 429 that says when to retry, in memory and in a shared Redis."""

from __future__ import annotations

import base64
import secrets
import socket
from typing import Any

import httpx
import pytest

from desk.app import create_app
from desk.charter.models import CharterSuggestion
from desk.mail.sink import MailSink
from desk.settings import Settings
from tests.desk.identity.sessions_support import browser, running_app
from tests.desk.residents.helpers import ask_link, log_in, page_text, post_form
from tests.desk.staff.support import ask_staff_link
from tests.helpers import csrf_token

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _retry_after(response: httpx.Response) -> int:
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= 3600
    return wait


async def test_too_many_links_for_one_address_get_a_french_page_saying_when(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(settings, mail_sink, rate_limit_login_per_email="2 per hour") as app,
        browser(app) as client,
    ):
        for _ in range(2):
            assert (await ask_link(client, "presse@exemple.fr")).status_code == 200
        refused = await ask_link(client, " Presse@Exemple.fr")  # the same address
        assert refused.status_code == 429
        _retry_after(refused)
        assert refused.headers["content-type"].startswith("text/html")
        assert refused.headers["cache-control"] == "no-store"
        page = page_text(refused)
        assert "Trop de demandes" in page and "réessayez dans" in page
        # Another address is not held back by this one's limit.
        assert (await ask_link(client, "autre@exemple.fr")).status_code == 200
        # The same page in English for a browser that reads English.
        english = await client.post(
            "/connexion?lang=en",
            data={"csrftoken": client.cookies["csrftoken"], "email": "presse@exemple.fr"},
        )
        assert english.status_code == 429
        assert "Too many requests" in english.text and "try again in" in english.text


async def test_too_many_staff_links_from_one_network_address(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(settings, mail_sink, rate_limit_login_per_ip="3 per hour") as app,
        browser(app) as client,
    ):
        for n in range(3):
            sent = await ask_staff_link(client, f"agent{n}@guichet.exemple.invalid")
            assert sent.status_code == 200
        refused = await ask_staff_link(client, "agent9@guichet.exemple.invalid")
        assert refused.status_code == 429
        _retry_after(refused)
        assert "Trop de demandes" in page_text(refused)


async def test_too_many_organisation_links_for_one_address_or_network(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(
            settings, mail_sink, rate_limit_login_per_email="2 per hour",
            rate_limit_login_per_ip="4 per hour",
        ) as app,
        browser(app) as client,
    ):  # fmt: skip
        for _ in range(2):
            assert (await _ask_member_link(client, "dpo@eau.exemple.invalid")).status_code == 200
        refused = await _ask_member_link(client, "DPO@eau.exemple.invalid")
        assert refused.status_code == 429
        _retry_after(refused)
        assert "Trop de demandes" in page_text(refused)
        for n in range(2):
            sent = await _ask_member_link(client, f"redaction{n}@eau.exemple.invalid")
            assert sent.status_code == 200
        # Five asked from one network address: the fifth is held back whatever the address.
        assert (await _ask_member_link(client, "autre@eau.exemple.invalid")).status_code == 429


async def test_forms_anyone_can_fill_are_limited_per_network_address(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(settings, mail_sink, rate_limit_public_form_per_ip="2 per hour") as app,
        browser(app) as client,
    ):
        for n in range(2):
            token = await csrf_token(client, "/charte/ameliorations")
            sent = await client.post(
                "/charte/ameliorations",
                data={"csrftoken": token, "text": f"Idée {n}", "principle": "", "email": ""},
            )
            assert sent.status_code == 303
        token = await csrf_token(client, "/charte/ameliorations")
        refused = await client.post(
            "/charte/ameliorations",
            data={"csrftoken": token, "text": "Idée 3", "principle": "", "email": ""},
        )
        assert refused.status_code == 429
        _retry_after(refused)
        assert "Trop de demandes" in page_text(refused)
        # Reading is never held back; joining the charter shares the same counter.
        assert (await client.get("/charte/ameliorations")).status_code == 200
        token = await csrf_token(client, "/charte/rejoindre")
        joined = await client.post("/charte/rejoindre", data={"csrftoken": token})
        assert joined.status_code == 429
        assert await CharterSuggestion.all().count() == 2


async def _ask_member_link(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await csrf_token(client, "/organisation/connexion")
    return await client.post("/organisation/connexion", data={"csrftoken": token, "email": email})


async def test_the_token_endpoint_answers_problem_json_when_a_client_insists(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(settings, mail_sink, rate_limit_token_per_client="2 per hour") as app,
        browser(app) as client,
    ):
        form = {"grant_type": "client_credentials", "client_id": "eau", "client_secret": "non"}
        for _ in range(2):
            assert (await client.post("/oauth/token", data=form)).status_code == 401
        # The same client through HTTP Basic authentication counts too.
        basic = base64.b64encode(b"eau:non").decode()
        refused = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": f"Basic {basic}"},
        )
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        body = refused.json()
        assert body["status"] == 429 and body["retry_after"] == _retry_after(refused)
        assert "Réessayez dans" in body["detail"]
        other = {**form, "client_id": "bibus"}
        assert (await client.post("/oauth/token", data=other)).status_code == 401


async def test_answer_forms_are_limited_per_link_and_per_resident(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(settings, mail_sink, rate_limit_answer_per_link="2 per hour") as app,
        browser(app) as client,
    ):
        partner_page = "/partenaires/reponse/lien-inconnu"
        for _ in range(2):
            answer = await post_form(client, partner_page, {"action": "fulfil"})
            assert answer.status_code != 429
        assert (await post_form(client, partner_page, {"action": "fulfil"})).status_code == 429

        from desk.jobs import build_worker

        worker = build_worker(app.state.runtime)
        await log_in(client, worker, mail_sink, "repond@exemple.fr")
        path = "/mon-espace/demandes/DSK-INCONNUE/repondre"
        for _ in range(2):
            answer = await post_form(client, path, {"delivery": "1", "answer": "Oui"})
            assert answer.status_code == 404
        refused = await post_form(client, path, {"delivery": "1", "answer": "Oui"})
        assert refused.status_code == 429
        assert "Trop de demandes" in page_text(refused)


async def test_a_storage_outage_lets_people_through(
    settings: Settings, mail_sink: MailSink
) -> None:
    # Nothing listens on port 9: every count fails, and the desk stays usable.
    async with (
        running_app(settings, mail_sink, rate_limit_storage="redis://127.0.0.1:9/0") as app,
        browser(app) as client,
    ):
        assert (await ask_link(client, "panne@exemple.fr")).status_code == 200


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_with_redis_two_instances_share_the_counters(
    settings: Settings, mail_sink: MailSink
) -> None:
    limits: dict[str, Any] = {
        "rate_limit_storage": REDIS_URL,
        "rate_limit_login_per_email": "2 per hour",
    }
    namespace = f"desk-test-{secrets.token_hex(8)}"
    async with running_app(settings, mail_sink, **limits) as first:
        # A second instance of the desk: its own process memory, the same Redis and database.
        from dataclasses import replace

        second = create_app(replace(settings, **limits), mail_sink=mail_sink)
        for instance in (first, second):
            instance.state.rate_limiter.namespace = namespace
        async with browser(first) as one, browser(second) as two:
            for _ in range(2):
                assert (await ask_link(one, "partage@exemple.fr")).status_code == 200
            refused = await ask_link(two, "partage@exemple.fr")
            assert refused.status_code == 429
            _retry_after(refused)
            assert "Trop de demandes" in page_text(refused)
