from __future__ import annotations

import secrets
from datetime import timedelta

import httpx

from desk.core import clock
from desk.identity.models import LoginChallenge
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.residents.models import Resident
from desk.residents.services import login_path, purge_expired
from desk.settings import Settings
from tests.desk.residents.helpers import ask_link, log_in, mailed_link, page_text, post_form
from tests.factories import make_resident


async def test_login_journey_through_the_mailed_link(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    form = await client.get("/connexion")
    assert form.status_code == 200
    assert 'name="email"' in form.text and '<label for="email">' in form.text

    sent = await ask_link(client, "  Camille@Exemple.FR ")
    assert "Si cette adresse est valide, un lien vient de vous être envoyé" in sent.text
    await worker.run_until_idle()
    (mail,) = mail_sink.to("camille@exemple.fr")
    assert "connexion" in mail.subject.lower()
    assert mail.html and "/connexion/" in mail.html
    link = next(link for link in mail.links if "/connexion/" in link)
    path = link.removeprefix("http://testserver")

    # Opening the link (as a mail scanner would) does not log in.
    confirm = await client.get(path)
    assert confirm.status_code == 200
    assert "Me connecter" in confirm.text
    assert (await client.get("/mon-espace")).status_code == 303

    done = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert done.status_code == 303 and done.headers["location"] == "/mon-espace"
    dashboard = await client.get("/mon-espace")
    assert dashboard.status_code == 200
    assert "Mon espace" in dashboard.text

    # The account exists, and the address is no longer kept on the used link.
    assert await Resident.filter(email="camille@exemple.fr").count() == 1
    assert await LoginChallenge.filter(email__isnull=False).count() == 0


async def test_a_link_works_once(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    link = await mailed_link(client, worker, mail_sink, "dominique@exemple.fr")
    path = link.removeprefix("http://testserver")
    first = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert first.status_code == 303

    again_get = await client.get(path)
    assert again_get.status_code == 410
    assert "déjà été utilisé" in again_get.text
    assert 'href="/connexion"' in again_get.text
    again_post = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert again_post.status_code == 410


async def test_an_expired_link_is_gone_with_a_way_to_ask_again(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, settings: Settings
) -> None:
    link = await mailed_link(client, worker, mail_sink, "lou@exemple.fr")
    path = link.removeprefix("http://testserver")
    eleven_minutes_ago = clock.now() - timedelta(seconds=settings.login_link_max_age + 60)
    await LoginChallenge.filter(audience="resident").update(created_at=eleven_minutes_ago)

    page = await client.get(path)
    assert page.status_code == 410
    assert "expiré" in page.text
    assert "Recevoir un nouveau lien de connexion" in page.text
    post = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert post.status_code == 410
    assert (await client.get("/mon-espace")).status_code == 303


async def test_a_forged_link_is_refused_in_french(client: httpx.AsyncClient) -> None:
    forged = await client.get("/connexion/pas-un-vrai-lien")
    assert forged.status_code == 404
    assert "Ce lien de connexion n'est pas valide" in page_text(forged)
    # Well formed, but naming no challenge.
    unknown = await client.get(login_path(secrets.token_urlsafe(32)))
    assert unknown.status_code == 404
    assert "Ce lien de connexion n'est pas valide" in page_text(unknown)


async def test_same_answer_for_known_and_unknown_addresses(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_resident("connue@exemple.fr")
    known = await ask_link(client, "connue@exemple.fr")
    unknown = await ask_link(client, "inconnue@exemple.fr")
    assert known.status_code == unknown.status_code == 200
    token = client.cookies["csrftoken"]
    assert known.text.replace(token, "") == unknown.text.replace(token, "")
    await worker.run_until_idle()
    # Both get a link: for the unknown one, following it creates the account.
    assert len(mail_sink.to("connue@exemple.fr")) == 1
    assert len(mail_sink.to("inconnue@exemple.fr")) == 1


async def test_a_malformed_address_is_explained(client: httpx.AsyncClient) -> None:
    for bad in ("", "camille", "camille@", "cam ille@exemple.fr", "a@b"):
        response = await ask_link(client, bad)
        assert response.status_code == 422, bad
        assert "adresse électronique n'est pas valide" in page_text(response)
        assert 'aria-invalid="true"' in response.text
    assert await LoginChallenge.all().count() == 0


async def test_too_many_links_for_one_address_sends_no_more_mail(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    for _ in range(7):
        response = await ask_link(client, "presse@exemple.fr")
        assert response.status_code == 200
        assert "Si cette adresse est valide" in response.text
    await worker.run_until_idle()
    assert len(mail_sink.to("presse@exemple.fr")) == 5


async def test_logout_ends_the_session(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, "sacha@exemple.fr")
    assert (await client.get("/mon-espace")).status_code == 200
    out = await post_form(client, "/deconnexion", {})
    assert out.status_code == 303 and out.headers["location"] == "/"
    after = await client.get("/mon-espace")
    assert after.status_code == 303
    assert after.headers["location"] == "/connexion"


async def test_purge_forgets_old_links_and_expired_copies(client: httpx.AsyncClient) -> None:
    await ask_link(client, "ancien@exemple.fr")
    now = clock.now()
    assert await purge_expired(now=now, login_max_age=600) == (0, 0)
    assert await purge_expired(now=now + timedelta(seconds=601), login_max_age=600) == (1, 0)
    assert await LoginChallenge.all().count() == 0
