"""A resident complains to the ethics committee through the desk; committee members see it."""

from __future__ import annotations

import html

import httpx

from desk.charter.models import Complaint
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.desk.residents.helpers import log_in, post_form
from tests.desk.staff.support import staff_log_in
from tests.factories import make_resident, make_signatory

EMAIL = "camille@exemple.invalid"


async def test_a_resident_files_a_complaint_from_the_request_page(
    app: object, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant", adapter="postal")
    resident = await make_resident(EMAIL)
    stranger = await make_resident("autre@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    theirs = await file_request(resident_id=stranger.id, kind=RequestKind.ERASURE)
    delivery = await Delivery.get(request_id=request.id)
    foreign = await Delivery.get(request_id=theirs.id)
    await log_in(client, worker, mail_sink, EMAIL)

    request_page = html.unescape(
        (await client.get(f"/mon-espace/demandes/{request.reference}")).text
    )
    assert f"/mon-espace/reclamations/{delivery.id}" in request_page

    url = f"/mon-espace/reclamations/{delivery.id}"
    form = await client.get(url)
    assert form.status_code == 200
    text = html.unescape(form.text)
    assert "comité d'éthique" in text
    assert "www.cnil.fr/fr/plaintes" in text

    empty = await post_form(client, url, {"text": "   "})
    assert empty.status_code == 422
    assert "Écrivez votre réclamation" in html.unescape(empty.text)
    too_long = await post_form(client, url, {"text": "x" * 4001})
    assert too_long.status_code == 422

    sent = await post_form(client, url, {"text": "Aucune réponse depuis deux mois."})
    assert sent.status_code == 303
    after = html.unescape((await client.get(sent.headers["location"])).text)
    assert "transmise au comité d'éthique" in after
    assert "Aucune réponse depuis deux mois." in after
    assert await Complaint.filter(delivery_id=delivery.id).count() == 1

    assert (await client.get(f"/mon-espace/reclamations/{foreign.id}")).status_code == 404
    refused = await post_form(client, f"/mon-espace/reclamations/{foreign.id}", {"text": "x"})
    assert refused.status_code == 404
    assert (await client.get("/mon-espace/reclamations/abc")).status_code == 404

    client.cookies.clear()
    await staff_log_in(client, worker, mail_sink, email="comite@exemple.invalid", role="committee")
    committee = html.unescape((await client.get("/comite")).text)
    assert "Aucune réponse depuis deux mois." in committee
    assert request.reference in committee


async def test_the_complaint_page_needs_a_resident_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/mon-espace/reclamations/1")
    assert response.status_code in (303, 401)
