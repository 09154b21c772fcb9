"""A mediator records the answer of a resident without email to a signatory's question."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.mediation.models import MediationEvent
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.desk.mediation.support import log_in_staff, open_session, resident_id_of
from tests.desk.staff.support import post_form, text
from tests.factories import make_signatory

QUESTION = "Quelle est l'adresse de votre logement ?"
ANSWER = "Appartement 12, 3 rue de Kerbonne."


async def test_the_mediator_passes_the_residents_answer_to_the_partner(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("habitat-brest", name="Habitat Brest")
    mediator = await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    request = await file_request(resident_id=rid, kind=RequestKind.ACCESS)
    await worker.run_until_idle()
    delivery = await Delivery.get(request_id=request.id)
    await transitions.need_info(delivery_id=delivery.id, actor="partner:test", question=QUESTION)
    page = text(await client.get(f"/mediation/habitants/{rid}"))
    assert "Questions des organismes" in page and QUESTION in page
    assert f'<label for="answer-{delivery.id}">' in page

    # Another mediator, who never met this resident, finds nobody.
    client.cookies.clear()
    await log_in_staff(client, worker, mail_sink, email="autre@guichet.exemple.invalid")
    outsider = await post_form(
        client, f"/mediation/habitants/{rid}/reponse", {"delivery": str(delivery.id)}
    )
    assert outsider.status_code == 404
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.AWAITING_INFO

    client.cookies.clear()
    await log_in_staff(client, worker, mail_sink)
    path = f"/mediation/habitants/{rid}/reponse"
    empty = await post_form(client, path, {"delivery": str(delivery.id), "answer": "  "})
    assert empty.status_code == 422
    assert "Écrivez la réponse de la personne" in text(empty)
    done = await post_form(client, path, {"delivery": str(delivery.id), "answer": ANSWER})
    assert done.status_code == 303
    after = text(await client.get(f"/mediation/habitants/{rid}"))
    assert "La réponse de la personne est transmise à l'organisme." in after
    assert 'name="answer"' not in after

    fresh = await Delivery.get(id=delivery.id)
    assert fresh.state == DeliveryState.ACKNOWLEDGED and fresh.info_answer == ANSWER
    event = await DeliveryEvent.get(delivery_id=delivery.id, action="provide_info")
    assert event.actor == f"staff:{mediator.id}"
    assert await MediationEvent.filter(
        mediator_id=mediator.id, action="answer_question", outcome="done"
    ).exists()
    await worker.run_until_idle()
    (mail,) = [m for m in mail_sink.to(signatory.dpo_email) if ANSWER in m.text]
    assert QUESTION in mail.text

    again = await post_form(client, path, {"delivery": str(delivery.id), "answer": "Encore."})
    assert again.status_code == 409
    assert "n'attend plus de réponse" in text(again)
    assert await DeliveryEvent.filter(delivery_id=delivery.id, action="provide_info").count() == 1
