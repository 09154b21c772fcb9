"""A resident's page reads the session and the resident it names in one statement
(desk.identity.session_rows): the resident is not read again, and an account deleted behind a
live session still opens nothing."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.residents import auth
from desk.residents.models import Resident
from tests.desk.residents.helpers import log_in


async def test_the_resident_comes_with_the_session(
    app: Starlette,
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await log_in(client, worker, mail_sink, "camille@exemple.fr")

    async def no_second_read(*args: object) -> None:
        raise AssertionError("the resident was read again")

    monkeypatch.setattr(auth, "by_id", no_second_read)
    page = await client.get("/mon-espace/demandes")
    assert page.status_code == 200

    # The account deleted, its session row kept: the joined read finds no resident.
    await Resident.filter(email="camille@exemple.fr").delete()
    gone = await client.get("/mon-espace/demandes")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/connexion"
