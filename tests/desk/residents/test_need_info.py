from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, DeliveryEvent, RequestKind
from desk.requests.services import file_request
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_resident, make_signatory

EMAIL = "camille@exemple.invalid"
QUESTION = "Quelle est l'adresse de votre logement ?"


async def _asked(app: Starlette, worker: Worker, *, extend: bool = False) -> Delivery:
    """A request to one signatory, which asks the resident a question."""
    await make_signatory("habitat-brest", name="Habitat Brest")
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    await worker.run_until_idle()
    delivery = await Delivery.get(request_id=request.id).select_related("request")
    if extend:
        await transitions.extend(delivery_id=delivery.id, actor="partner:test", reason="Archives.")
    await transitions.need_info(delivery_id=delivery.id, actor="partner:test", question=QUESTION)
    return delivery


async def test_the_question_is_mailed_and_answered_from_the_request_page(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    delivery = await _asked(app, worker)
    reference = delivery.request.reference
    await worker.run_until_idle()
    (mail,) = [m for m in mail_sink.to(EMAIL) if "question" in m.subject]
    assert "Habitat Brest" in mail.subject
    assert QUESTION not in mail.text  # the question is read on the site, after logging in
    assert f"/mon-espace/demandes/{reference}" in mail.text

    await log_in(client, worker, mail_sink, EMAIL)
    dashboard = page_text(await client.get("/mon-espace"))
    assert "en attente de votre réponse" in dashboard
    page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "L'organisme vous pose une question" in page
    assert QUESTION in page
    assert f'<label for="answer-{delivery.id}">' in page

    done = await post_form(
        client,
        f"/mon-espace/demandes/{reference}/repondre",
        {"delivery": str(delivery.id), "answer": "  12 rue de Siam, Brest.  "},
    )
    assert done.status_code == 303
    after = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "Votre réponse a été transmise à l'organisme." in after
    assert "Votre réponse : « 12 rue de Siam, Brest. »" in after
    assert 'name="answer"' not in after
    assert "Vous avez répondu à la question de l'organisme" in after  # history
    fresh = await Delivery.get(id=delivery.id)
    assert fresh.state == "acknowledged" and fresh.info_answer == "12 rue de Siam, Brest."
    assert await OutboxJob.filter(kind="partner.info_answered").count() == 1

    again = await post_form(
        client,
        f"/mon-espace/demandes/{reference}/repondre",
        {"delivery": str(delivery.id), "answer": "Encore."},
    )
    assert again.status_code == 409
    assert "n'attend plus de réponse" in page_text(again)


async def test_an_answer_goes_back_to_extended_when_the_deadline_was_extended(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    delivery = await _asked(app, worker, extend=True)
    await log_in(client, worker, mail_sink, EMAIL)
    done = await post_form(
        client,
        f"/mon-espace/demandes/{delivery.request.reference}/repondre",
        {"delivery": str(delivery.id), "answer": "Appartement 3."},
    )
    assert done.status_code == 303
    assert (await Delivery.get(id=delivery.id)).state == "extended"


async def test_empty_answers_and_other_peoples_requests_are_refused(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    delivery = await _asked(app, worker)
    reference = delivery.request.reference
    await make_resident("dominique@exemple.invalid")
    await log_in(client, worker, mail_sink, "dominique@exemple.invalid")

    stranger = await post_form(
        client,
        f"/mon-espace/demandes/{reference}/repondre",
        {"delivery": str(delivery.id), "answer": "Je ne suis pas Camille."},
    )
    assert stranger.status_code == 404
    assert (await Delivery.get(id=delivery.id)).state == "awaiting_info"

    client.cookies.clear()
    await log_in(client, worker, mail_sink, EMAIL)
    path = f"/mon-espace/demandes/{reference}/repondre"
    empty = await post_form(client, path, {"delivery": str(delivery.id), "answer": "   "})
    assert empty.status_code == 422
    assert "Écrivez votre réponse" in page_text(empty)
    no_delivery = await post_form(client, path, {"delivery": "abc", "answer": "Oui."})
    assert no_delivery.status_code == 422
    assert (await Delivery.get(id=delivery.id)).state == "awaiting_info"
    assert await DeliveryEvent.filter(delivery_id=delivery.id, action="provide_info").count() == 0

    transport = httpx.ASGITransport(app=app)
    logged_out = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    async with logged_out:
        anonymous = await post_form(logged_out, path, {"delivery": str(delivery.id), "answer": "x"})
    assert anonymous.status_code == 303
    assert (await Delivery.get(id=delivery.id)).state == "awaiting_info"
