from __future__ import annotations

import asyncio

from aiosmtpd.controller import Controller
from starlette.applications import Starlette

from desk.mail.sink import MailSink, SmtpSinkServer
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


def _restart(server: SmtpSinkServer, sink: MailSink) -> None:
    """An aiosmtpd controller cannot start twice: give the fixture's server a new one, same port."""
    server.controller = Controller(sink, hostname="127.0.0.1", port=server.port)
    server.start()


async def test_dpo_gets_one_clear_french_email_with_the_answer_link(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)

    await worker.run_until_idle()

    mails = mail_sink.to(signatory.dpo_email)
    assert len(mails) == 1
    mail = mails[0]
    assert request.reference in mail.subject
    assert request.reference in mail.text
    assert "camille@exemple.invalid" in mail.text
    assert "Effacer ses données" in mail.text
    assert "articles 17 et 19 du RGPD" in mail.text
    assert "une seule fois" in mail.text  # the extension rule
    answer_links = [link for link in mail.links if "/partenaires/reponse/" in link]
    assert len(answer_links) == 1
    assert answer_links[0].startswith("http://testserver/partenaires/reponse/")
    assert mail.html is not None and answer_links[0] in mail.html

    delivery = await Delivery.get(request_id=request.id)
    assert delivery.state == DeliveryState.SENT
    assert delivery.dispatch_ref == mail.message_id
    # Nobody polls a mailbox: the partner answers through the link.
    assert await OutboxJob.filter(kind="delivery.poll").count() == 0


async def test_only_the_identifiers_the_signatory_accepts_are_sent(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("bibus")
    signatory.accepted_identifiers = ["customer_number"]
    await signatory.save()
    resident = await make_resident("dominique@exemple.invalid")
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)

    await worker.run_until_idle()

    (mail,) = mail_sink.to(signatory.dpo_email)
    assert "dominique@exemple.invalid" not in mail.text
    assert "personne introuvable" in mail.text


async def test_smtp_down_the_job_is_retried_and_not_lost(
    app: Starlette, worker: Worker, mail_sink: MailSink, smtp_server: SmtpSinkServer
) -> None:
    signatory = await make_signatory("eau-du-ponant")
    resident = await make_resident()
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    smtp_server.stop()

    await worker.run_until_idle()

    job = await OutboxJob.get(kind="delivery.dispatch")
    assert job.state == JobState.PENDING
    assert job.attempts >= 1
    assert job.last_error and "AdapterError" in job.last_error
    delivery = await Delivery.get(request_id=request.id)
    assert delivery.state == DeliveryState.PENDING
    assert mail_sink.to(signatory.dpo_email) == []

    # The mail server comes back on the same port: the next attempt delivers, once.
    _restart(smtp_server, mail_sink)
    for _ in range(50):
        await worker.run_until_idle()
        if (await OutboxJob.get(id=job.id)).state == JobState.DONE:
            break
        await asyncio.sleep(0.02)
    assert (await OutboxJob.get(id=job.id)).state == JobState.DONE
    assert len(mail_sink.to(signatory.dpo_email)) == 1
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.SENT


async def test_no_mailbox_fails_the_delivery_at_once(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("association-sans-dpo")
    signatory.dpo_email = ""
    await signatory.save()
    resident = await make_resident()
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)

    await worker.run_until_idle()

    job = await OutboxJob.get(kind="delivery.dispatch")
    assert job.state == JobState.DEAD
    assert job.attempts == 1  # no pointless retries: the back office must act
    delivery = await Delivery.get(request_id=request.id)
    assert delivery.state == DeliveryState.FAILED
    assert mail_sink.messages() == []
