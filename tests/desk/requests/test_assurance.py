"""Partners are told how the desk knows who filed: email link, FranceConnect, or in person."""

from __future__ import annotations

import httpx

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, RightsRequest
from tests.desk.mediation.support import log_in_staff, open_session, post, resident_id_of
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory
from tests.helpers import partner_bearer, resolved

DPO = "dpo@eau-du-ponant.exemple.invalid"


async def _api_delivery(client: httpx.AsyncClient, delivery_id: int) -> dict[str, object]:
    auth = await partner_bearer(client, "eau-du-ponant")
    response = await client.get(f"/api/v1/deliveries/{delivery_id}", headers=auth)
    assert response.status_code == 200, response.text
    document: dict[str, object] = response.json()
    return document


async def test_an_online_request_says_the_email_address_was_verified(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    filed = await post_form(
        client, "/mon-espace/demandes", {"kind": "erasure", "signatory": "eau-du-ponant"}
    )
    assert filed.status_code == 303
    assert (await RightsRequest.get()).assurance == "email"
    await worker.run_until_idle()

    (mail,) = mail_sink.to(DPO)
    assert "Identité de la personne : Adresse électronique vérifiée" in mail.text
    answer_link = next(link for link in mail.links if "/partenaires/reponse/" in link)
    page = page_text(await client.get(answer_link.removeprefix("http://testserver")))
    assert "Identité de la personne" in page and "Adresse électronique vérifiée" in page

    delivery = await Delivery.get()
    document = await _api_delivery(client, delivery.id)
    assert document["assurance"] == "email"
    assert document["assurance_label"] == "Adresse électronique vérifiée"

    spec = (await client.get("/api/openapi.json")).json()
    one = spec["paths"]["/api/v1/deliveries/{delivery_id}"]["get"]["responses"]["200"]
    schema = resolved(spec, one["content"]["application/json"]["schema"])
    assert {"assurance", "assurance_label"} <= set(schema["required"])
    assert schema["properties"]["assurance"]["enum"] == ["email", "franceconnect", "in_person"]


async def test_a_mediated_request_says_identity_was_checked_in_person(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    eau = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    filed = await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "erasure", "signatory": [str(eau.id)], "submission_key": "cle-de-test-987654"},
    )
    assert filed.status_code == 303
    assert (await RightsRequest.get(resident_id=rid)).assurance == "in_person"
    await worker.run_until_idle()
    (mail,) = mail_sink.to(DPO)
    assert "Identité vérifiée en personne par un médiateur" in mail.text
    document = await _api_delivery(client, (await Delivery.get()).id)
    assert document["assurance"] == "in_person"
    assert document["assurance_label"] == "Identité vérifiée en personne par un médiateur"
