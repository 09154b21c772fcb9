"""Partner deep links (/signataires/<slug>/mes-donnees) and the resident's signatory card."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.residents.auth import resident_next
from desk.residents.models import Resident
from desk.settings import Settings
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.desk.staff.support import running_app
from tests.factories import make_signatory


@pytest.fixture
async def app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    # desk/residents/deeplinks.py routes, mounted here until desk/app.py mounts them.
    async for application in running_app(settings, mail_sink):
        yield application


async def test_unknown_signatory_is_a_french_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/signataires/personne/mes-donnees")
    assert response.status_code == 404
    assert "Ce signataire est introuvable." in page_text(response)


async def test_not_logged_in_goes_to_login_and_remembers_the_card(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    response = await client.get("/signataires/eau-du-ponant/mes-donnees")
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion"
    # The card itself also sends a stranger to the login page.
    card = await client.get("/mon-espace/signataires/eau-du-ponant")
    assert card.status_code == 303 and card.headers["location"] == "/connexion"


async def test_logged_in_resident_sees_the_card_with_one_click_buttons(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, app: Starlette
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in(client, worker, mail_sink, "camille@exemple.invalid")
    response = await client.get("/signataires/eau-du-ponant/mes-donnees")
    assert response.status_code == 303
    assert response.headers["location"] == "/mon-espace/signataires/eau-du-ponant"

    card = await client.get(response.headers["location"])
    assert card.status_code == 200
    page = page_text(card)
    assert "Mes données chez Eau du Ponant" in page
    assert 'href="/signataires/eau-du-ponant"' in page
    assert "Gestion des abonnés 1" in page  # what it declares
    assert 'href="/mon-espace/supprimer?signataire=eau-du-ponant"' in page
    assert "Supprimer mes données chez Eau du Ponant" in page
    assert "M'opposer à l'utilisation de mes données par Eau du Ponant" in page
    assert "Vous ne lui avez pas encore demandé" in page

    # The objection button files an objection to this signatory only.
    form = re.search(
        r'<form method="post" action="/mon-espace/demandes">(?:(?!</form>).)*'
        r'value="objection"(?:(?!</form>).)*</form>',
        card.text,
        re.S,
    )
    assert form
    key = re.search(r'name="submission_key" value="([^"]+)"', form.group(0))
    assert key
    filed = await post_form(
        client,
        "/mon-espace/demandes",
        {"kind": "objection", "signatory": "eau-du-ponant", "submission_key": key.group(1)},
    )
    assert filed.status_code == 303
    request = await RightsRequest.get(submission_key=key.group(1))
    assert request.kind == RequestKind.OBJECTION
    assert await Delivery.filter(request_id=request.id).count() == 1


async def test_the_card_shows_my_discovery_answer_and_never_anyone_elses(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, app: Starlette
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in(client, worker, mail_sink, "camille@exemple.invalid")
    camille = await Resident.get(email="camille@exemple.invalid")
    request = await file_request(
        resident_id=camille.id, kind=RequestKind.DISCOVERY, signatory_ids=[signatory.id]
    )
    delivery = await Delivery.get(request_id=request.id)
    runtime = app.state.runtime
    await transitions.fulfil(
        delivery_id=delivery.id,
        actor="partner:test",
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        outcome={"holds_data": True, "declarations": ["traitement-1"], "categories": ["index"]},
    )
    mine = page_text(await client.get("/mon-espace/signataires/eau-du-ponant"))
    assert "Eau du Ponant détient des données sur vous." in mine
    assert "Dans ces traitements : Gestion des abonnés 1." in mine
    assert request.reference in mine

    # Another resident, same browser after logout: none of Camille's answers.
    await post_form(client, "/deconnexion", {})
    await log_in(client, worker, mail_sink, "dominique@exemple.invalid")
    theirs = page_text(await client.get("/mon-espace/signataires/eau-du-ponant"))
    assert "Eau du Ponant détient des données sur vous." not in theirs
    assert request.reference not in theirs
    assert "Vous ne lui avez pas encore demandé" in theirs


def test_only_pages_of_the_resident_space_are_followed_after_login() -> None:
    assert resident_next("/mon-espace/signataires/eau") == "/mon-espace/signataires/eau"
    for bad in ("https://ailleurs.example/", "//ailleurs.example", "/back-office", None, 3):
        assert resident_next(bad) is None
    assert resident_next("/mon-espace/../back-office") is None
