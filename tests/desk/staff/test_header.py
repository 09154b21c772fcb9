"""The site header offers a logged-in staff member their own space, not the residents' login."""

from __future__ import annotations

import httpx

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.desk.staff.support import post_form, staff_log_in, text


def _header(response: httpx.Response) -> str:
    page = text(response)
    return page[page.index("<header") : page.index("</header>")]


async def test_a_logged_in_staff_member_sees_the_staff_space_link(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    anonymous = _header(await client.get("/"))
    assert '<a href="/connexion">Se connecter</a>' in anonymous
    assert 'href="/equipe"' not in anonymous

    await staff_log_in(client, worker, mail_sink)
    for path in ("/", "/signataires", "/back-office"):
        header = _header(await client.get(path))
        assert '<a href="/equipe">Espace équipe</a>' in header, path
        assert 'href="/connexion"' not in header and "Se connecter" not in header, path

    assert (await post_form(client, "/equipe/deconnexion", {})).status_code == 303
    after = _header(await client.get("/"))
    assert '<a href="/connexion">Se connecter</a>' in after
