"""The dashboard's cost does not grow with a resident's history (issue 18): the same queries
for 2 requests as for 20; the most recent requests on the page, the rest a click away."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.residents import dashboard
from desk.residents.models import Resident
from tests.desk.residents.helpers import log_in, page_text
from tests.factories import make_signatory

QUERY_LOGGER = "tortoise.db_client"


async def _file(resident: Resident, count: int, *, first: RequestKind = RequestKind.ACCESS) -> None:
    """`count` requests: the first of kind `first`, then copy requests."""
    for n in range(count):
        await file_request(resident_id=resident.id, kind=first if n == 0 else RequestKind.ACCESS)


async def _answer_first_discovery(app: Starlette, resident: Resident) -> None:
    rt = app.state.runtime
    first = await RightsRequest.filter(resident_id=resident.id).order_by("id").first()
    assert first is not None
    for delivery in await Delivery.filter(request_id=first.id):
        await transitions.fulfil(
            delivery_id=delivery.id,
            actor="partner",
            outcome={"holds_data": True, "declarations": [], "categories": ["contrat"]},
            keyring=rt.keyring,
            issuer=rt.issuer,
        )


async def _queries_of_dashboard(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> tuple[int, str]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=QUERY_LOGGER):
        page = await client.get("/mon-espace")
    assert page.status_code == 200
    return len([r for r in caplog.records if r.name == QUERY_LOGGER]), page_text(page)


async def test_the_dashboard_reads_as_much_for_20_requests_as_for_2(
    app: Starlette,
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for slug in ("eau-du-ponant", "bibus", "brest-habitat"):
        await make_signatory(slug)
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    camille = await Resident.get(email="camille@exemple.fr")
    await _file(camille, 2, first=RequestKind.DISCOVERY)
    await _answer_first_discovery(app, camille)
    await worker.run_until_idle()
    with_two, page = await _queries_of_dashboard(client, caplog)
    assert "Voir toutes mes demandes" not in page
    assert "Détiennent des données sur vous (3)" in page

    await _file(camille, 18)
    with_twenty, page = await _queries_of_dashboard(client, caplog)
    assert with_twenty == with_two
    # The most recent requests are on the page, the others a click away.
    shown = re.findall(r'href="/mon-espace/demandes/([A-Z0-9-]+)"', page)
    newest = await RightsRequest.filter(resident_id=camille.id).order_by("-created_at", "-id")
    assert shown == [r.reference for r in newest[: dashboard.RECENT]]
    assert "vous en avez fait 20 en tout" in page
    assert 'href="/mon-espace/demandes">Voir toutes mes demandes (20)' in page
    # What each signatory said, long ago, is still said.
    assert "Détiennent des données sur vous (3)" in page
    # The progress of the last "who holds my data" request, though it is not among the recent.
    discovery = newest[-1]
    assert discovery.kind == RequestKind.DISCOVERY
    assert f"(référence {discovery.reference})" in page
    assert "3 signataires sur 3 ont répondu." in page


async def test_every_request_is_listed_a_page_at_a_time(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    camille = await Resident.get(email="camille@exemple.fr")
    await _file(camille, dashboard.PAGE_SIZE + 3)
    newest = await RightsRequest.filter(resident_id=camille.id).order_by("-created_at", "-id")

    first = await client.get("/mon-espace/demandes")
    assert first.status_code == 200
    text = page_text(first)
    assert f"Vous avez fait {dashboard.PAGE_SIZE + 3} demandes" in text
    assert "Page 1 sur 2." in text
    listed = re.findall(r'href="/mon-espace/demandes/([A-Z0-9-]+)"', text)
    assert listed == [r.reference for r in newest[: dashboard.PAGE_SIZE]]
    assert 'href="/mon-espace/demandes?page=2" rel="next"' in text

    second = page_text(await client.get("/mon-espace/demandes?page=2"))
    listed = re.findall(r'href="/mon-espace/demandes/([A-Z0-9-]+)"', second)
    assert listed == [r.reference for r in newest[dashboard.PAGE_SIZE :]]
    assert 'href="/mon-espace/demandes?page=1" rel="prev"' in second


@pytest.mark.parametrize("page", ["0", "3", "abc", "-1", "１", "9" * 40])
async def test_a_page_that_does_not_exist_is_said_so(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, page: str
) -> None:
    await make_signatory("eau-du-ponant")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    camille = await Resident.get(email="camille@exemple.fr")
    await _file(camille, 2)
    response = await client.get("/mon-espace/demandes", params={"page": page})
    assert response.status_code in (400, 404)
    assert response.status_code != 500
    if response.status_code == 404 and "text/html" in response.headers["content-type"]:
        assert "la liste commence à la page 1" in page_text(response)


async def test_the_list_of_requests_needs_a_login(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.get("/mon-espace/demandes")
    assert response.status_code in (302, 303)


async def test_a_page_shown_again_unchanged_reads_only_its_revision(
    app: Starlette,
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_signatory("eau-du-ponant")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    camille = await Resident.get(email="camille@exemple.fr")
    await _file(camille, 2, first=RequestKind.DISCOVERY)
    built, page = await _queries_of_dashboard(client, caplog)
    again, same = await _queries_of_dashboard(client, caplog)
    # The session, then the revision with the account's existence: nothing else is read.
    assert again <= 2 < built
    assert re.sub(r'value="[^"]+"', "", same) == re.sub(r'value="[^"]+"', "", page)
