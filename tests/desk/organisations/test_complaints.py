"""The committee closes the loop over real HTTP: a resident complains, the committee acknowledges
and asks the signatory, the DPO answers in its space, the committee decides; the resident is
told at each step."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.charter.complaints import file_complaint
from desk.charter.models import Complaint
from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.joining import change_status
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.desk.organisations.support import member_log_in
from tests.desk.organisations.test_space import DPO, _candidate
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.factories import make_resident

RESIDENT = "camille@exemple.invalid"


async def test_the_committee_asks_the_dpo_answers_and_the_committee_decides(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _candidate()
    await change_status(slug=signatory.slug, status="capacity_shown", reason="Vu.", actor="t")
    await change_status(slug=signatory.slug, status="signed", reason="Signée.", actor="t")
    resident = await make_resident(RESIDENT)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    delivery = await Delivery.get(request_id=request.id, signatory_id=signatory.id)
    complaint = await file_complaint(
        resident_id=resident.id, delivery_id=delivery.id, text="Aucune réponse.", now=clock.now()
    )
    await worker.run_until_idle()
    before = len(mail_sink.to(RESIDENT))

    await staff_log_in(
        client, worker, mail_sink, email="comite@guichet.exemple.invalid", role="committee"
    )
    committee = await client.get("/comite")
    assert f"/comite/reclamations/{complaint.id}" in committee.text
    path = f"/comite/reclamations/{complaint.id}"
    assert (await post_form(client, path, {"action": "acknowledge"})).status_code == 303
    empty = await post_form(client, path, {"action": "ask", "question": "  "})
    assert empty.status_code == 422 and "Écrivez la question" in text(empty)
    asked = await post_form(
        client, path, {"action": "ask", "question": "Pourquoi aucune réponse en un mois ?"}
    )
    assert asked.status_code == 303
    assert (await client.get("/comite/reclamations/424242")).status_code == 404
    await worker.run_until_idle()
    assert any("Le comité" in m.subject for m in mail_sink.to(DPO))

    # The DPO answers in the organisation's space (another browser).
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as dpo:
        await member_log_in(dpo, worker, mail_sink, DPO)
        page = await dpo.get("/organisation/reclamations")
        assert "Pourquoi aucune réponse en un mois ?" in text(page)
        blank = await post_form(dpo, f"/organisation/reclamations/{complaint.id}", {"answer": ""})
        assert blank.status_code == 422
        answered = await post_form(
            dpo,
            f"/organisation/reclamations/{complaint.id}",
            {"answer": "Le courriel s'était perdu ; c'est réparé."},
        )
        assert answered.status_code == 303
        twice = await post_form(dpo, f"/organisation/reclamations/{complaint.id}", {"answer": "x"})
        assert twice.status_code == 409

    no_outcome = await post_form(client, path, {"action": "decide", "reasoning": "Vu."})
    assert no_outcome.status_code == 422
    decided = await post_form(
        client,
        path,
        {"action": "decide", "outcome": "resolved", "reasoning": "Le signataire a réparé."},
    )
    assert decided.status_code == 303
    closed = text(await client.get(path))
    assert "décision rendue" in closed and "Le signataire a réparé." in closed
    again = await post_form(client, path, {"action": "acknowledge"})
    assert again.status_code == 409

    await complaint.refresh_from_db()
    assert complaint.status == "closed" and complaint.outcome == "resolved"
    await worker.run_until_idle()
    subjects = [m.subject for m in mail_sink.to(RESIDENT)[before:]]
    # acknowledged, asked, the signatory answered, decided.
    assert len(subjects) == 4, subjects
    assert "décision rendue" in subjects[-1]
    assert await Complaint.filter(status="closed").count() == 1
    report = text(await client.get(f"/bilan/{clock.local(clock.now()).year}"))
    assert "1 reçues cette année" in report and "1 résolues par le signataire" in report
