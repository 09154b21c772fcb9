from __future__ import annotations

import time

import httpx
import pytest

from desk.core.errors import DeskError
from desk.identity.models import LoginChallenge
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.staff import auth
from desk.staff.auth import STAFF_SESSION_SECONDS
from desk.staff.models import StaffMember, StaffRole
from desk.staff.services import add_staff, deactivate_staff
from tests.desk.residents.helpers import log_in as resident_log_in
from tests.desk.staff.support import ask_staff_link, staff_link, staff_log_in, text


async def test_staff_login_journey_through_the_mailed_link(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await add_staff(email="Agent@Guichet.Exemple.Invalid", display_name="Agent", role="back_office")
    form = await client.get("/equipe/connexion")
    assert form.status_code == 200
    assert '<label for="email">' in form.text

    sent = await ask_staff_link(client, " agent@guichet.exemple.invalid ")
    assert "Si cette adresse appartient à un membre actif" in text(sent)
    await worker.run_until_idle()
    (mail,) = mail_sink.to("agent@guichet.exemple.invalid")
    assert "espace équipe" in mail.subject
    path = next(link for link in mail.links if "/equipe/connexion/" in link).removeprefix(
        "http://testserver"
    )

    # Opening the link (a mail scanner would) does not log in.
    confirm = await client.get(path)
    assert confirm.status_code == 200 and "Me connecter à l'espace équipe" in text(confirm)
    assert (await client.get("/back-office")).status_code == 303

    done = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert done.status_code == 303 and done.headers["location"] == "/back-office"
    page = await client.get("/back-office")
    assert page.status_code == 200
    assert "Back office : suivi des envois" in text(page)
    staff = await StaffMember.get(email="agent@guichet.exemple.invalid")
    assert staff.last_login_at is not None
    # The link works once, and the address is not kept on it.
    assert (await client.get(path)).status_code == 410
    assert await LoginChallenge.filter(email__isnull=False).count() == 0


async def test_inactive_or_unknown_addresses_get_no_email_and_the_same_page(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await add_staff(email="actif@guichet.exemple.invalid", display_name="Actif", role="admin")
    await add_staff(email="parti@guichet.exemple.invalid", display_name="Parti", role="admin")
    assert await deactivate_staff(email="parti@guichet.exemple.invalid") is True

    pages = [
        await ask_staff_link(client, address)
        for address in (
            "actif@guichet.exemple.invalid",
            "parti@guichet.exemple.invalid",
            "inconnu@guichet.exemple.invalid",
        )
    ]
    assert {p.status_code for p in pages} == {200}
    assert pages[0].text == pages[1].text == pages[2].text
    await worker.run_until_idle()
    assert len(mail_sink.to("actif@guichet.exemple.invalid")) == 1
    assert mail_sink.to("parti@guichet.exemple.invalid") == []
    assert mail_sink.to("inconnu@guichet.exemple.invalid") == []


async def test_a_wrong_address_is_answered_in_french(client: httpx.AsyncClient) -> None:
    response = await ask_staff_link(client, "pas-une-adresse")
    assert response.status_code == 422
    assert "adresse électronique n'est pas valide" in text(response)


async def test_a_member_deactivated_after_the_mail_cannot_use_the_link(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await add_staff(email="bientot@guichet.exemple.invalid", display_name="B", role="back_office")
    path = await staff_link(client, worker, mail_sink, "bientot@guichet.exemple.invalid")
    await deactivate_staff(email="bientot@guichet.exemple.invalid")
    response = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert response.status_code == 404
    assert (await client.get("/back-office")).status_code == 303


async def test_resident_and_staff_sessions_do_not_open_each_other(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await resident_log_in(client, worker, mail_sink, "camille@exemple.invalid")
    response = await client.get("/back-office")
    assert response.status_code == 303
    assert response.headers["location"] == "/equipe/connexion"

    # A staff link pasted on the residents' login page is not a resident link.
    await add_staff(email="agent@guichet.exemple.invalid", display_name="A", role="back_office")
    path = await staff_link(client, worker, mail_sink, "agent@guichet.exemple.invalid")
    token = path.rsplit("/", 1)[1]
    resident_page = await client.get(f"/connexion/{token}")
    assert resident_page.status_code == 404


async def test_staff_login_does_not_open_the_resident_space(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await staff_log_in(client, worker, mail_sink)
    assert (await client.get("/back-office")).status_code == 200
    assert (await client.get("/mon-espace")).status_code == 303


async def test_a_mediator_is_refused_the_back_office_in_french(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await staff_log_in(client, worker, mail_sink, role="mediator")
    response = await client.get("/back-office")
    assert response.status_code == 403
    assert "Votre rôle ne donne pas accès à cette page" in text(response)
    home = await client.get("/equipe")
    assert home.status_code == 200 and "médiation numérique" in text(home)


async def test_the_staff_session_ends_after_two_hours(
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await staff_log_in(client, worker, mail_sink)
    assert (await client.get("/back-office")).status_code == 200

    class TwoHoursLater:
        @staticmethod
        def time() -> float:
            return time.time() + STAFF_SESSION_SECONDS + 1

    monkeypatch.setattr(auth, "time", TwoHoursLater)
    expired = await client.get("/back-office")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/equipe/connexion"
    login = await client.get("/equipe/connexion")
    assert "Votre session d'équipe a expiré" in text(login)
    monkeypatch.undo()
    # The expired session was closed, not merely hidden.
    assert (await client.get("/back-office")).status_code == 303


async def test_logout_closes_the_staff_session(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await staff_log_in(client, worker, mail_sink)
    response = await client.post(
        "/equipe/deconnexion", data={"csrftoken": client.cookies["csrftoken"]}
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "Vous êtes déconnecté de l'espace équipe." in text(page)
    assert (await client.get("/back-office")).status_code == 303


async def test_after_login_the_page_asked_for_opens(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    assert (await client.get("/back-office/courriers")).status_code == 303
    await add_staff(email="agent@guichet.exemple.invalid", display_name="A", role="admin")
    path = await staff_link(client, worker, mail_sink, "agent@guichet.exemple.invalid")
    await client.get(path)
    done = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert done.headers["location"] == "/back-office/courriers"


async def test_add_staff_updates_and_deactivate_staff_reports(app: object) -> None:
    first = await add_staff(
        email="Med@Exemple.Invalid",
        display_name="Médiatrice",
        role="mediator",
        help_point="Bellevue",
    )
    assert first.role == StaffRole.MEDIATOR and first.help_point == "Bellevue"
    again = await add_staff(email="med@exemple.invalid", display_name="Méd", role=StaffRole.ADMIN)
    assert again.id == first.id and again.role == StaffRole.ADMIN and again.active
    assert await StaffMember.all().count() == 1
    with pytest.raises(DeskError):
        await add_staff(email="x@exemple.invalid", display_name="X", role="chef")
    assert await deactivate_staff(email="med@exemple.invalid") is True
    assert await deactivate_staff(email="med@exemple.invalid") is False
    assert await deactivate_staff(email="personne@exemple.invalid") is False
