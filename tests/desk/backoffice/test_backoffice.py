from __future__ import annotations

from datetime import timedelta

import httpx

from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.registry.models import Signatory
from desk.requests.models import AccessCopy, Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.factories import make_resident, make_signatory

ADDRESS = "Association Vélo Brestois\nÀ l'attention du DPO\n12 rue de Siam\n29200 Brest"


async def _broken_and_working(worker: Worker) -> tuple[Signatory, Signatory, Delivery]:
    """Two signatories asked the same thing; the first has an empty mailbox, so its job dies."""
    broken = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    broken.adapter_settings = {"mailbox": ""}
    await broken.save()
    working = await make_signatory("bibus", name="Bibus")
    resident = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await worker.run_until_idle()
    failed = await Delivery.get(request_id=request.id, signatory_id=broken.id)
    assert failed.state == DeliveryState.FAILED
    return broken, working, failed


async def test_overview_counts_deliveries_and_names_the_failed_connector_and_why(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    broken, working, failed = await _broken_and_working(worker)
    late = await Delivery.get(signatory_id=working.id)
    late.due_at = clock.now() - timedelta(days=2)
    await late.save()
    await staff_log_in(client, worker, mail_sink)

    page = text(await client.get("/back-office"))
    assert "Eau du Ponant" in page and "Bibus" in page
    assert '<a href="/back-office/signataires/eau-du-ponant?etat=failed">1</a>' in page
    assert '<a href="/back-office/signataires/bibus?etat=sent">1</a>' in page
    assert '<a href="/back-office/signataires/bibus?en_retard=1"><strong>1</strong></a>' in page
    # The dead job: which connector failed, and why.
    (job,) = await OutboxJob.filter(state=JobState.DEAD)
    assert "delivery.dispatch" in page
    assert f'href="/back-office/envois/{failed.id}"' in page
    assert "the signatory has no DPO mailbox configured" in page
    assert f"{job.attempts} / {job.max_attempts}" in page
    assert f'action="/back-office/taches/{job.id}/relancer"' in page


async def test_retrying_a_dead_job_sends_the_delivery_again(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    broken, _, failed = await _broken_and_working(worker)
    staff = await staff_log_in(client, worker, mail_sink)
    (job,) = await OutboxJob.filter(state=JobState.DEAD)
    broken.adapter_settings = {}  # the register was fixed: the DPO mailbox is used again
    await broken.save()

    response = await post_form(client, f"/back-office/taches/{job.id}/relancer", {})
    assert response.status_code == 303
    assert (await Delivery.get(id=failed.id)).state == DeliveryState.PENDING
    await worker.run_until_idle()
    assert (await Delivery.get(id=failed.id)).state == DeliveryState.SENT
    assert mail_sink.to(broken.dpo_email)
    retry = await DeliveryEvent.get(delivery_id=failed.id, action="retry")
    assert retry.actor == f"staff:{staff.id}"
    page = text(await client.get("/back-office"))
    assert "Aucune tâche en échec." in page

    again = await post_form(client, f"/back-office/taches/{job.id}/relancer", {})
    assert again.status_code == 409
    assert (await post_form(client, "/back-office/taches/99999/relancer", {})).status_code == 404


async def test_a_failed_delivery_is_retried_or_switched_to_another_channel(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    broken, working, failed = await _broken_and_working(worker)
    await staff_log_in(client, worker, mail_sink)
    page = text(await client.get(f"/back-office/envois/{failed.id}"))
    assert "Relancer l'envoi" in page and "Changer de canal" in page
    assert "the signatory has no DPO mailbox configured" in page
    assert '<option value="postal">postal</option>' in page

    # No postal address yet: refused, in French, nothing changed.
    refused = await post_form(
        client, f"/back-office/envois/{failed.id}/canal", {"channel": "postal"}
    )
    assert refused.status_code == 422
    assert "pas d'adresse postale enregistrée" in text(refused)
    assert (await Delivery.get(id=failed.id)).channel is None
    unknown = await post_form(client, f"/back-office/envois/{failed.id}/canal", {"channel": "fax"})
    assert unknown.status_code == 422

    broken.adapter_settings = {"mailbox": "", "address": ADDRESS}
    await broken.save()
    switched = await post_form(
        client, f"/back-office/envois/{failed.id}/canal", {"channel": "postal"}
    )
    assert switched.status_code == 303
    delivery = await Delivery.get(id=failed.id)
    assert delivery.channel == "postal" and delivery.state == DeliveryState.PENDING
    change = await DeliveryEvent.get(delivery_id=failed.id, action="channel_changed")
    assert change.detail == {"from": "email", "to": "postal"}
    assert await OutboxJob.filter(state=JobState.DEAD).count() == 0
    page = text(await client.get(f"/back-office/envois/{failed.id}"))
    assert "Canal changé : email → postal" in page

    # Only a failed delivery is retried.
    sent = await Delivery.get(signatory_id=working.id)
    conflict = await post_form(client, f"/back-office/envois/{sent.id}/relancer", {})
    assert conflict.status_code == 409


async def test_postal_letter_is_printed_and_its_paper_answer_issues_a_receipt(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("velo-brestois", name="Vélo Brestois", adapter="postal")
    signatory.adapter_settings = {"address": ADDRESS}
    await signatory.save()
    resident = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    await worker.run_until_idle()
    delivery = await Delivery.get(request_id=request.id)
    assert delivery.state == DeliveryState.SENT and delivery.dispatch_ref == "postal-queue"
    staff = await staff_log_in(client, worker, mail_sink)

    queue = text(await client.get("/back-office/courriers"))
    assert request.reference in queue
    assert f'href="/back-office/courriers/{delivery.id}"' in queue

    letter = await client.get(f"/back-office/courriers/{delivery.id}")
    assert letter.status_code == 200
    body = text(letter)
    for line in ADDRESS.splitlines():
        assert f"<p>{line}</p>" in body
    assert request.reference in body
    assert "camille@exemple.invalid" in body  # the identifier this signatory accepts
    assert "Madame, Monsieur," in body and "/static/letter.css" in body
    assert "@page { size: A4" in (await client.get("/static/letter.css")).text
    assert "/partenaires/reponse/" in body

    printed = await post_form(client, f"/back-office/courriers/{delivery.id}/imprime", {})
    assert printed.status_code == 303
    event = await DeliveryEvent.get(delivery_id=delivery.id, action="letter_printed")
    assert event.actor == f"staff:{staff.id}"
    assert event.from_state == event.to_state == "sent"
    queue = text(await client.get("/back-office/courriers"))
    assert "Aucune lettre à imprimer." in queue
    assert f'href="/back-office/envois/{delivery.id}"' in queue

    # A paper answer without its result is refused in French; nothing is recorded.
    wrong = await post_form(
        client, f"/back-office/envois/{delivery.id}/reponse", {"action": "fulfil"}
    )
    assert wrong.status_code == 422
    assert "Rien n'a été enregistré." in text(wrong)
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.SENT

    answered = await post_form(
        client,
        f"/back-office/envois/{delivery.id}/reponse",
        {"action": "fulfil", "result": "erased", "erased_categories": "identité, coordonnées"},
    )
    assert answered.status_code == 303
    delivery = await Delivery.get(id=delivery.id)
    assert delivery.state == DeliveryState.FULFILLED
    assert delivery.outcome and delivery.outcome["result"] == "erased"
    receipt = await Receipt.get(delivery_id=delivery.id)
    fulfil = await DeliveryEvent.get(delivery_id=delivery.id, action="fulfil")
    assert fulfil.actor == f"staff:{staff.id}"
    page = text(await client.get(f"/back-office/envois/{delivery.id}"))
    assert f'href="/recus/{receipt.id}"' in page
    assert "Vélo Brestois a effacé vos données." in page
    await worker.run_until_idle()
    assert any(receipt.id in mail.text for mail in mail_sink.to("camille@exemple.invalid"))


async def test_signatory_page_filters_and_bad_input_is_answered_in_french(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    _, _, failed = await _broken_and_working(worker)
    await staff_log_in(client, worker, mail_sink)
    request_reference = (await Delivery.get(id=failed.id).prefetch_related("request")).request
    page = text(await client.get("/back-office/signataires/eau-du-ponant?etat=failed"))
    assert request_reference.reference in page
    none = text(await client.get("/back-office/signataires/eau-du-ponant?etat=fulfilled"))
    assert "Aucune demande ne correspond à ces critères." in none

    bad_state = await client.get("/back-office/signataires/eau-du-ponant?etat=perdu")
    assert bad_state.status_code == 422 and "État inconnu" in text(bad_state)
    missing = await client.get("/back-office/signataires/personne")
    assert missing.status_code == 404 and "Ce signataire est introuvable." in text(missing)
    assert (await client.get("/back-office/envois/abc")).status_code == 404
    assert (await client.get("/back-office/envois/99999")).status_code == 404
    # A letter only exists for a delivery that goes by post.
    not_postal = await client.get(f"/back-office/courriers/{failed.id}")
    assert not_postal.status_code == 404
    assert "ne passe pas par courrier" in text(not_postal)


async def test_back_office_pages_need_a_back_office_login(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    for path in ("/back-office", "/back-office/courriers", "/back-office/envois/1"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/equipe/connexion"
    await staff_log_in(client, worker, mail_sink, role="committee")
    assert (await client.get("/back-office/courriers")).status_code == 403
    forbidden = await post_form(client, "/back-office/taches/1/relancer", {})
    assert forbidden.status_code == 403


async def test_a_copy_received_by_post_is_uploaded_and_reaches_the_resident(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("velo-brestois", name="Vélo Brestois", adapter="postal")
    signatory.adapter_settings = {"address": ADDRESS}
    await signatory.save()
    resident = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    await worker.run_until_idle()
    delivery = await Delivery.get(request_id=request.id)
    await staff_log_in(client, worker, mail_sink)
    page = text(await client.get(f"/back-office/envois/{delivery.id}"))
    assert 'enctype="multipart/form-data"' in page

    response = await client.post(
        f"/back-office/envois/{delivery.id}/reponse",
        data={"csrftoken": client.cookies["csrftoken"], "action": "fulfil", "holds_data": "yes"},
        files={"copy": ("lettre.pdf", b"%PDF-1.4 scan", "application/pdf")},
    )
    assert response.status_code == 303
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.FULFILLED
    await worker.run_until_idle()
    copy = await AccessCopy.get(delivery_id=delivery.id)
    assert copy.filename == "lettre.pdf" and copy.content_type == "application/pdf"
    mails = mail_sink.to("camille@exemple.invalid")
    assert any(request.reference in mail.text and "copie" in mail.text for mail in mails)
