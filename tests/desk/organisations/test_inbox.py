"""The organisation's inbox over real HTTP: a resident's erasure reaches the DPO's inbox, the DPO
answers there (the same answers as the emailed page), the resident gets the signed receipt."""

from __future__ import annotations

import httpx

from desk.audit.models import AuditRecord
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.registry.joining import change_status
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.desk.organisations.support import member_log_in
from tests.desk.organisations.test_space import DPO, _candidate
from tests.desk.staff.support import post_form, text
from tests.factories import make_resident, make_signatory
from tests.helpers import column


async def test_a_dpo_finds_every_request_and_answers_it_in_the_inbox(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _candidate()
    await change_status(slug=signatory.slug, status="capacity_shown", reason="Vu.", actor="t")
    await change_status(slug=signatory.slug, status="signed", reason="Signée.", actor="t")
    other = await make_signatory("eau-du-ponant")
    resident = await make_resident()
    erasure = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    access = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    await worker.run_until_idle()
    mine = await Delivery.get(request_id=erasure.id, signatory_id=signatory.id)
    foreign = await Delivery.get(request_id=erasure.id, signatory_id=other.id)

    await member_log_in(client, worker, mail_sink, DPO)
    listing = await client.get("/organisation/demandes")
    assert listing.status_code == 200
    assert erasure.reference in listing.text and access.reference in listing.text
    only_erasures = await client.get("/organisation/demandes?type=erasure&etat=nimporte")
    assert erasure.reference in only_erasures.text
    assert access.reference not in only_erasures.text
    overdue = await client.get("/organisation/demandes?echeance=overdue")
    assert erasure.reference not in overdue.text
    soon = await client.get("/organisation/demandes?echeance=soon")
    assert erasure.reference not in soon.text  # a month to answer

    # Another organisation's delivery, or no delivery at all: not found, never shown.
    assert (await client.get(f"/organisation/demandes/{foreign.id}")).status_code == 404
    assert (await client.get("/organisation/demandes/x1")).status_code == 404
    refused = await post_form(client, f"/organisation/demandes/{foreign.id}", {"action": "deny"})
    assert refused.status_code == 404

    path = f"/organisation/demandes/{mine.id}"
    page = await client.get(path)
    assert page.status_code == 200
    assert "Toutes les demandes de votre organisation" in text(page)
    acknowledged = await post_form(client, path, {"action": "acknowledge"})
    assert acknowledged.status_code == 303
    assert "la réception de la demande est confirmée" in text(
        await client.get(acknowledged.headers["location"])
    )
    incomplete = await post_form(client, path, {"action": "fulfil"})
    assert incomplete.status_code in (400, 422)
    assert "Votre réponse n'a pas été enregistrée." in text(incomplete)
    done = await post_form(
        client,
        path,
        {"action": "fulfil", "result": "erased", "erased_categories": "identité\nphotographie"},
    )
    assert done.status_code == 303
    await mine.refresh_from_db()
    assert mine.state == DeliveryState.FULFILLED
    again = await post_form(client, path, {"action": "acknowledge"})
    assert again.status_code == 409

    await worker.run_until_idle()
    assert await Receipt.filter(delivery_id=mine.id).exists()
    answered = await column(AuditRecord.filter(action="organisation.answer"), "actor")
    assert len(answered) == 2 and all(a.startswith("member:") for a in answered)
