"""Issue 17 item 11 in the organisation's inbox: a question about identity, asked from the
answer form, pauses the deadline; the delivery is then neither listed nor marked late."""

from __future__ import annotations

from datetime import timedelta

import httpx

from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.joining import change_status
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.desk.organisations.support import member_log_in
from tests.desk.organisations.test_space import DPO, _candidate
from tests.desk.staff.support import post_form, text
from tests.factories import make_resident


async def test_an_identity_question_from_the_inbox_pauses_the_deadline(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _candidate()
    await change_status(slug=signatory.slug, status="capacity_shown", reason="Vu.", actor="t")
    await change_status(slug=signatory.slug, status="signed", reason="Signée.", actor="t")
    resident = await make_resident()
    access = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    await worker.run_until_idle()
    mine = await Delivery.get(request_id=access.id, signatory_id=signatory.id)
    await member_log_in(client, worker, mail_sink, DPO)

    path = f"/organisation/demandes/{mine.id}"
    form = text(await client.get(path))
    assert "Cette question porte sur l'identité de la personne" in form
    asked = await post_form(
        client,
        path,
        {"action": "need_info", "question": "Votre numéro d'usager ?", "identity": "oui"},
    )
    assert asked.status_code == 303
    assert "le délai est suspendu jusqu'à sa réponse" in text(
        await client.get(asked.headers["location"])
    )
    # Its first deadline has passed while the organisation waits for the resident.
    await Delivery.filter(id=mine.id).update(due_at=clock.now() - timedelta(days=2))
    overdue = text(await client.get("/organisation/demandes?echeance=overdue"))
    assert access.reference not in overdue
    listing = text(await client.get("/organisation/demandes"))
    assert "délai suspendu" in listing and "en retard" not in listing
