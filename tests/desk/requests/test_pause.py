"""Issue 17 item 11: a question about identity pauses the deadline; any other question does not.

EDPB guidelines 01/2022: while a signatory waits for the resident's answer to a question about
who asks, it is not late, not reminded, not alerted, and the deadline moves by the wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from starlette.applications import Starlette

from desk.charter import alerts, deadlines
from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, DeliveryEvent, RequestKind
from desk.statistics.figures import compute_overview
from tests.desk.charter.support import bearer, one_delivery
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_resident, make_signatory
from tests.helpers import csrf_token

EMAIL = "camille@exemple.invalid"
ASK = "Pouvez-vous confirmer la date de naissance donnée à l'abonnement ?"


def _url(delivery_id: int, action: str = "") -> str:
    return f"/api/v1/deliveries/{delivery_id}" + (f"/{action}" if action else "")


async def _late_counts(signatory_id: int, now: datetime) -> tuple[int, int, int, int]:
    """(overdue now, missed-deadline mails due, statistics' overdue now, late this year)."""
    overdue = await alerts.overdue_ids(signatory_id=signatory_id, now=now)
    missed = await deadlines.notify_missed_deadlines(now=now)
    overview = await compute_overview(start=now - timedelta(days=365), end=now, now=now)
    late = await alerts.late_in_rolling_year(signatory_id=signatory_id, now=now)
    return len(overdue), missed, overview.total.overdue_now, late


async def test_an_identity_question_pauses_the_deadline_until_the_answer(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident(EMAIL)
    delivery = await one_delivery(signatory, resident.id, RequestKind.ACCESS)
    await worker.run_until_idle()
    auth = await bearer(client, "eau-du-ponant")
    asked = await client.post(
        _url(delivery.id, "need-info"), json={"message": ASK, "identity": True}, headers=auth
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["info_identity"] is True
    assert asked.json()["deadline_paused"] is True

    # As if received 50 days ago and asked 30 days ago: the first deadline passed 20 days ago,
    # while the signatory was waiting for the resident.
    now = clock.now()
    due = now - timedelta(days=20)
    await Delivery.filter(id=delivery.id).update(
        received_at=now - timedelta(days=50), due_at=due, paused_since=now - timedelta(days=30)
    )
    fresh = await Delivery.get(id=delivery.id)
    assert not deadlines.is_overdue(fresh, now)
    assert await _late_counts(signatory.id, now) == (0, 0, 0, 0)
    assert await deadlines.remind_partners(now=due - timedelta(days=1)) == 0

    await worker.run_until_idle()
    (asking,) = [m for m in mail_sink.to(EMAIL) if "question" in m.subject]
    assert "le délai de réponse de l'organisme est suspendu jusqu'à votre réponse" in asking.text
    mail_sink.clear()
    await log_in(client, worker, mail_sink, EMAIL)
    reference = asked.json()["request_reference"]
    page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "le délai est suspendu jusqu'à votre réponse" in page
    assert "Le délai de réponse est dépassé." not in page
    english = page_text(await client.get(f"/mon-espace/demandes/{reference}?lang=en"))
    assert "suspendu" not in english

    answered = await post_form(
        client,
        f"/mon-espace/demandes/{reference}/repondre",
        {"delivery": str(delivery.id), "answer": "Le 3 mars 1980."},
    )
    assert answered.status_code == 303
    # Paused thirty days: the signatory has thirty more days than the first deadline said.
    moved = await Delivery.get(id=delivery.id)
    assert abs(moved.due_at - (due + timedelta(days=30))) < timedelta(minutes=1)
    assert moved.paused_since is None
    event = await DeliveryEvent.filter(delivery_id=delivery.id, action="provide_info").get()
    assert event.detail["due_at"] == moved.due_at.isoformat()
    document = (await client.get(_url(delivery.id), headers=auth)).json()
    assert document["deadline_paused"] is False
    assert not deadlines.is_overdue(moved, now)
    assert await _late_counts(signatory.id, now) == (0, 0, 0, 0)

    # Past the moved deadline, it is late like any other.
    later = now + timedelta(days=11)
    assert await _late_counts(signatory.id, later) == (1, 1, 1, 1)


async def test_another_question_does_not_pause_the_deadline(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident(EMAIL)
    delivery = await one_delivery(signatory, resident.id, RequestKind.ERASURE)
    await worker.run_until_idle()
    auth = await bearer(client, "eau-du-ponant")
    # An integration written before the field: no "identity", the deadline keeps running.
    asked = await client.post(
        _url(delivery.id, "need-info"), json={"message": "Quel contrat ?"}, headers=auth
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["deadline_paused"] is False
    now = clock.now()
    await Delivery.filter(id=delivery.id).update(
        received_at=now - timedelta(days=40), due_at=now - timedelta(days=9)
    )
    assert await _late_counts(signatory.id, now) == (1, 1, 1, 1)

    await worker.run_until_idle()
    (asking,) = [m for m in mail_sink.to(EMAIL) if "question" in m.subject]
    assert "suspendu" not in asking.text
    mail_sink.clear()
    await log_in(client, worker, mail_sink, EMAIL)
    reference = asked.json()["request_reference"]
    page = page_text(await client.get(f"/mon-espace/demandes/{reference}"))
    assert "le délai de réponse de l'organisme continue de courir" in page
    assert "Le délai de réponse est dépassé." in page
    await post_form(
        client,
        f"/mon-espace/demandes/{reference}/repondre",
        {"delivery": str(delivery.id), "answer": "Le contrat 42."},
    )
    assert (await Delivery.get(id=delivery.id)).due_at == now - timedelta(days=9)


async def test_the_answer_page_asks_whether_the_question_is_about_identity(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident(EMAIL)
    delivery = await one_delivery(signatory, resident.id, RequestKind.ACCESS)
    await worker.run_until_idle()
    (mail,) = mail_sink.to(signatory.dpo_email)
    (link,) = [link for link in mail.links if "/partenaires/reponse/" in link]
    path = link.removeprefix("http://testserver")
    form = page_text(await client.get(path))
    assert "Poser une question à la personne" in form
    assert "Cette question porte sur l'identité de la personne" in form

    token = await csrf_token(client, path)
    empty = await client.post(
        path, data={"csrftoken": token, "action": "need_info", "question": " "}
    )
    assert empty.status_code == 422
    assert "Écrivez la question posée à la personne" in page_text(empty)

    token = await csrf_token(client, path)
    sent = await client.post(
        path,
        data={"csrftoken": token, "action": "need_info", "question": ASK, "identity": "oui"},
    )
    assert sent.status_code == 303
    done = page_text(await client.get(sent.headers["location"]))
    assert "le délai est suspendu jusqu'à sa réponse" in done
    fresh = await Delivery.get(id=delivery.id)
    assert fresh.state == "awaiting_info" and fresh.info_identity and fresh.paused_since
    await worker.run_until_idle()
    assert await OutboxJob.filter(kind="mail.resident").count() >= 1
