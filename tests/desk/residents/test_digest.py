"""Receipts arriving together make one mail per request (issue 17, item 5)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette

from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.residents import digest
from tests.factories import make_resident, make_signatory

EMAIL = "yann@exemple.invalid"
ERASED = {"result": "erased", "erased_categories": ["index"]}


async def _answer(app: Starlette, delivery: Delivery, **kwargs: Any) -> None:
    rt = app.state.runtime
    await transitions.fulfil(
        delivery_id=delivery.id,
        actor="partner",
        keyring=rt.keyring,
        issuer=rt.issuer,
        outcome=ERASED,
        **kwargs,
    )


async def _erasure_at_three(app: Starlette) -> list[Delivery]:
    for slug in ("eau-du-ponant", "bibus", "logis-brest"):
        await make_signatory(slug)
    resident = await make_resident(EMAIL)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    return list(await Delivery.filter(request_id=request.id).order_by("id"))


def _receipt_mails(mail_sink: MailSink) -> list[Any]:
    return [m for m in mail_sink.to(EMAIL) if "reçu" in m.subject]


async def test_answers_arriving_together_make_one_mail_when_the_request_completes(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    deliveries = await _erasure_at_three(app)
    for delivery in deliveries[:2]:
        await _answer(app, delivery)
    await worker.run_until_idle()
    assert _receipt_mails(mail_sink) == []  # waiting, quietly, for the others
    await _answer(app, deliveries[2])
    await worker.run_until_idle()
    (mail,) = _receipt_mails(mail_sink)
    assert "3 organismes ont répondu à votre demande" in mail.subject
    receipts = await Receipt.filter(delivery_id__in=[d.id for d in deliveries])
    for receipt in receipts:
        assert f"http://testserver/recus/{receipt.id}" in mail.links
    assert any("/mon-espace/demandes/" in link for link in mail.links)
    assert mail.html and "voir le reçu d'Eau Du Ponant" in mail.html.replace("&#39;", "'")
    # A retried notification adds nothing and mails nothing more.
    await digest.feed(
        request_id=deliveries[0].request_id,  # type: ignore[attr-defined]
        receipt_id=receipts[0].id,
        quiet_seconds=120,
    )
    await worker.run_until_idle()
    assert len(_receipt_mails(mail_sink)) == 1


async def test_after_a_quiet_period_the_digest_goes_and_a_later_receipt_opens_another(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    deliveries = await _erasure_at_three(app)
    for delivery in deliveries[:2]:
        await _answer(app, delivery)
    await worker.run_until_idle()
    # The quiet period is over (as if two minutes had passed).
    await OutboxJob.filter(kind=digest.KIND, state=JobState.PENDING).update(
        run_after=clock.now() - timedelta(seconds=1)
    )
    await worker.run_until_idle()
    (first,) = _receipt_mails(mail_sink)
    assert "2 organismes ont répondu" in first.subject
    await _answer(app, deliveries[2])
    await worker.run_until_idle()
    mails = _receipt_mails(mail_sink)
    assert len(mails) == 2
    assert "a traité votre demande : votre reçu" in mails[1].subject
    assert sum("/recus/" in link for link in mails[1].links) == 1


async def test_receipts_fed_at_the_same_instant_share_one_digest(app: Starlette) -> None:
    """Two workers feeding one request's receipts at once must not open two digests."""
    deliveries = await _erasure_at_three(app)
    request_id = deliveries[0].request_id  # type: ignore[attr-defined]
    await asyncio.gather(
        *(
            digest.feed(request_id=request_id, receipt_id=f"r{n}", quiet_seconds=120)
            for n in range(8)
        )
    )
    jobs = await OutboxJob.filter(kind=digest.KIND)
    assert len(jobs) == 1
    assert sorted(jobs[0].payload["receipts"]) == sorted(f"r{n}" for n in range(8))


async def test_digests_claimed_together_each_mail_their_own_resident_once(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("eau-du-ponant")
    emails = ["yann@exemple.invalid", "nolwenn@exemple.invalid", None]
    for email in emails:
        resident = await make_resident(email)
        await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    for delivery in await Delivery.filter(signatory_id=signatory.id):
        await _answer(app, delivery)
    # The notifications feed the digests (a batch of them, as the worker's lanes claim them);
    # the assisted resident's, fed too, as a digest fed before the email was dropped would be.
    while await OutboxJob.filter(kind="mail.resident", state=JobState.PENDING).exists():
        await worker.run_once()
    assisted = await Receipt.filter(delivery__request__resident__email__isnull=True).first()
    assert assisted is not None
    delivery = await Delivery.get(id=assisted.delivery_id)  # type: ignore[attr-defined]
    await digest.feed(
        request_id=delivery.request_id,  # type: ignore[attr-defined]
        receipt_id=assisted.id,
        quiet_seconds=0,
    )
    jobs = await OutboxJob.filter(kind=digest.KIND, state=JobState.PENDING)
    assert len(jobs) == 3

    assert await digest.send_digests(jobs, app.state.runtime) == [None, None, None]

    for email in emails[:2]:
        (mail,) = [m for m in mail_sink.to(str(email)) if "reçu" in m.subject]
        assert "Eau Du Ponant a traité votre demande" in mail.subject
    # The resident assisted without email hears from their mediator: no mail, nothing failed.
    assert len([m for m in mail_sink.messages() if "reçu" in m.subject]) == 2
