"""Retention rules at their boundaries: just before, nothing changes; just after, the data is
gone, the trails and receipts still verify, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import subprocess
import sys
from datetime import datetime, timedelta

import httpx
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.core import clock
from desk.identity.models import LoginChallenge
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.receipts.audit import audit
from desk.receipts.models import Receipt
from desk.requests import transitions
from desk.requests.audit import verify_events
from desk.requests.effects import UploadedFile
from desk.requests.models import AccessCopy, Delivery, DeliveryEvent, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.residents.models import Resident
from desk.retention.jobs import run_retention
from tests.desk.residents.helpers import log_in, page_text
from tests.factories import make_resident, make_signatory
from tests.helpers import column

SECOND = timedelta(seconds=1)
TEXTS = (
    "Nous attendons le relevé de notre prestataire",
    "Quel est votre numéro de client ?",
    "Mon numéro est le 4242, au nom de Camille Martin",
    "Effacé sauf les factures, voir courrier du 3 mars",
    "Homonyme de Camille Martin à Guipavas",
)


async def _closed_request(app: Starlette, resident: Resident) -> RightsRequest:
    """An erasure with every kind of free text: extension, question, answer, note, denial."""
    rt = app.state.runtime
    signed = {"keyring": rt.keyring, "issuer": rt.issuer}
    actor = "partner:test"
    one = await make_signatory(f"eau-{secrets.token_hex(3)}")
    two = await make_signatory(f"bus-{secrets.token_hex(3)}")
    request = await file_request(
        resident_id=resident.id, kind=RequestKind.ERASURE, signatory_ids=[one.id, two.id]
    )
    first, second = await Delivery.filter(request_id=request.id).order_by("id")
    await transitions.extend(delivery_id=first.id, actor=actor, reason=TEXTS[0])
    await transitions.need_info(delivery_id=first.id, actor=actor, question=TEXTS[1])
    await transitions.provide_info(delivery_id=first.id, actor=actor, answer=TEXTS[2])
    outcome = {"result": "erased", "erased_categories": ["coordonnées"], "note": TEXTS[3]}
    await transitions.fulfil(delivery_id=first.id, actor=actor, outcome=outcome, **signed)
    await transitions.deny(
        delivery_id=second.id, actor=actor, reason="no_match", detail=TEXTS[4], **signed
    )
    return request


async def _stored_text() -> str:
    """Everything the deliveries and their trails keep, as one string to search."""
    rows = await Delivery.all().values()
    events = await DeliveryEvent.all().values("detail")
    return json.dumps([rows, events], default=str, ensure_ascii=False)


def _holds_all(stored: str) -> bool:
    return all(text in stored for text in TEXTS)


def _holds_none(stored: str) -> bool:
    return not any(text in stored for text in TEXTS)


async def _closed_at(request: RightsRequest) -> datetime:
    deliveries = await Delivery.filter(request_id=request.id)
    return max(d.completed_at for d in deliveries if d.completed_at is not None)


async def test_closed_request_is_reduced_after_12_months_and_still_verifies(
    app: Starlette,
) -> None:
    keyring = app.state.runtime.keyring
    request = await _closed_request(app, await make_resident())
    closed = await _closed_at(request)
    assert _holds_all(await _stored_text())

    before = await run_retention(now=clock.add_months(closed, 12) - SECOND)
    assert before.requests_reduced == 0
    assert _holds_all(await _stored_text())

    after = await run_retention(now=clock.add_months(closed, 12) + SECOND)
    assert (after.requests_reduced, after.texts_removed, after.legacy_texts_kept) == (1, 4, 0)
    stored = await _stored_text()
    assert _holds_none(stored)
    assert (await RightsRequest.get(id=request.id)).reduced_at is not None
    # What accountability needs stays: states, the denial code, the erased categories.
    first, second = await Delivery.filter(request_id=request.id).order_by("id")
    assert (first.state.value, second.state.value) == ("fulfilled", "denied")
    assert second.denial_reason == "no_match" and first.outcome is not None
    assert first.outcome["erased_categories"] == ["coordonnées"] and "note" not in first.outcome
    # The trails and the receipts verify as before.
    assert (await verify_events())[1] == []
    report = await audit(keyring=keyring)
    assert report.ok and report.leaves + report.waiting == 2, report.findings
    assert any("_removed" in e for e in await DeliveryEvent.all().values_list("detail", flat=True))

    again = await run_retention(now=clock.add_months(closed, 12) + SECOND)
    assert not again.changed
    run = await column(AuditRecord.filter(action="retention.run"), "detail")
    assert [d["requests_reduced"] for d in run] == [1]


async def test_an_edited_text_is_still_caught_before_and_after_reduction(
    app: Starlette,
) -> None:
    request = await _closed_request(app, await make_resident())
    question = await DeliveryEvent.get(action="need_info")
    await DeliveryEvent.filter(id=question.id).update(
        detail={**question.detail, "question": "Autre question"}
    )
    assert [p.event_id for p in (await verify_events())[1]] == [question.id]
    await DeliveryEvent.filter(id=question.id).update(detail=question.detail)

    await run_retention(now=clock.add_months(await _closed_at(request), 13))
    reduced = await DeliveryEvent.get(id=question.id)
    forged = {"_removed": {"question": hashlib.sha256(b"\nAutre question").hexdigest()}}
    await DeliveryEvent.filter(id=question.id).update(detail=forged)
    assert [p.event_id for p in (await verify_events())[1]] == [question.id]
    assert reduced.detail != forged


async def test_an_open_request_is_never_reduced(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau-ouverte")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    report = await run_retention(now=clock.add_months(clock.now(), 60))
    assert report.requests_reduced == 0
    assert (await RightsRequest.get(id=request.id)).reduced_at is None


async def test_access_copy_is_emptied_after_7_days_whatever_its_link_said(
    app: Starlette,
) -> None:
    rt = app.state.runtime
    resident = await make_resident()
    await make_signatory("copie")
    request = await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
    delivery = await Delivery.get(request_id=request.id)
    await transitions.fulfil(
        delivery_id=delivery.id,
        actor="partner:test",
        keyring=rt.keyring,
        issuer=rt.issuer,
        outcome={"holds_data": True},
        file=UploadedFile("donnees.json", "application/json", b'{"nom": "Martin"}'),
        download_max_age=30 * 24 * 3600,
    )
    copy = await AccessCopy.get(delivery_id=delivery.id)
    kept = await run_retention(now=copy.created_at + timedelta(days=7) - SECOND)
    assert kept.copies_emptied == 0 and (await AccessCopy.get(id=copy.id)).content
    gone = await run_retention(now=copy.created_at + timedelta(days=7) + SECOND)
    assert gone.copies_emptied == 1
    emptied = await AccessCopy.get(id=copy.id)
    assert emptied.content is None and emptied.deleted_at is not None
    assert emptied.sha256 == copy.sha256  # the proof that a copy was delivered stays


async def test_login_links_go_when_they_expire_and_after_24_hours_at_most(
    app: Starlette,
) -> None:
    await LoginChallenge.create(id="a" * 64, email="lien@exemple.invalid")
    created = (await LoginChallenge.get(id="a" * 64)).created_at
    max_age = app.state.settings.login_link_max_age
    at = created + timedelta(seconds=max_age)
    assert (await run_retention(now=at - SECOND, login_max_age=max_age)).login_links_deleted == 0
    assert (await run_retention(now=at + SECOND, login_max_age=max_age)).login_links_deleted == 1

    # Even a deployment with two-day links keeps none past 24 hours.
    await LoginChallenge.create(id="b" * 64, email="lien@exemple.invalid")
    created = (await LoginChallenge.get(id="b" * 64)).created_at
    day = created + timedelta(hours=24)
    two_days = 2 * 24 * 3600
    assert (await run_retention(now=day - SECOND, login_max_age=two_days)).login_links_deleted == 0
    assert (await run_retention(now=day + SECOND, login_max_age=two_days)).login_links_deleted == 1


async def _inactive(email: str, last_login: datetime) -> Resident:
    resident = await make_resident(email)
    await Resident.filter(id=resident.id).update(last_login_at=last_login)
    return await Resident.get(id=resident.id)


async def test_inactive_account_is_warned_by_mail_then_deleted_30_days_later(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    last = clock.now() - timedelta(days=1)
    resident = await _inactive("dormant@exemple.invalid", last)
    busy = await _inactive("occupe@exemple.invalid", last)
    await make_signatory("eau-en-cours")
    await file_request(resident_id=busy.id, kind=RequestKind.DISCOVERY)  # still open

    limit = clock.add_months(last, 24)
    assert (await run_retention(now=limit - SECOND)).accounts_warned == 0
    warned_at = limit + SECOND
    assert (await run_retention(now=warned_at)).accounts_warned == 1
    await worker.run_until_idle()
    mails = mail_sink.to("dormant@exemple.invalid")
    assert len(mails) == 1 and "sera supprimé le" in mails[0].subject
    assert "http://testserver/connexion" in mails[0].links
    assert not mail_sink.to("occupe@exemple.invalid")
    assert (await run_retention(now=warned_at + timedelta(days=1))).accounts_warned == 0

    end = warned_at + timedelta(days=30)
    assert (await run_retention(now=end - SECOND)).accounts_deleted == 0
    deleted = await run_retention(now=end + SECOND)
    assert deleted.accounts_deleted == 1
    assert not await Resident.filter(id=resident.id).exists()
    assert await Resident.filter(id=busy.id, email="occupe@exemple.invalid").exists()
    record = await AuditRecord.get(action="resident.deleted")
    assert (record.subject, record.detail["mode"]) == (f"resident:{resident.id}", "deleted")


async def test_a_deleted_account_keeps_only_its_pseudonym_on_reduced_requests(
    app: Starlette,
) -> None:
    keyring = app.state.runtime.keyring
    resident = await _inactive("ancien@exemple.invalid", clock.now())
    await _closed_request(app, resident)
    warned_at = clock.add_months(clock.now(), 24) + SECOND
    warned = await run_retention(now=warned_at)
    assert (warned.accounts_warned, warned.requests_reduced) == (1, 1)  # closed 24 months ago
    report = await run_retention(now=warned_at + timedelta(days=30, seconds=1))
    assert (report.accounts_anonymised, report.accounts_deleted) == (1, 0)
    row = await Resident.get(id=resident.id)
    assert (row.email, row.last_login_at, row.pseudonym) == (None, None, resident.pseudonym)
    assert _holds_none(await _stored_text())
    assert await Receipt.all().count() == 2
    assert (await audit(keyring=keyring)).ok


async def test_a_resident_who_comes_back_is_no_longer_warned(app: Starlette) -> None:
    resident = await _inactive("revenu@exemple.invalid", clock.now() - timedelta(days=1))
    warned_at = clock.add_months(clock.now(), 24)
    assert (await run_retention(now=warned_at)).accounts_warned == 1
    await Resident.filter(id=resident.id).update(last_login_at=warned_at + timedelta(days=2))
    back = await run_retention(now=warned_at + timedelta(days=31))
    assert (back.warnings_withdrawn, back.accounts_deleted) == (1, 0)
    assert (await Resident.get(id=resident.id)).inactivity_warned_at is None


async def test_desk_retention_run_dry_then_for_real(app: Starlette) -> None:
    settings = app.state.settings
    request = await _closed_request(app, await make_resident())
    old = clock.now() - timedelta(days=400)
    await RightsRequest.filter(id=request.id).update(created_at=old)
    await Delivery.filter(request_id=request.id).update(completed_at=old)
    env = {"DESK_DATABASE_URL": settings.database_url, "DESK_DATA_DIR": str(settings.data_dir),
           "PATH": "/usr/bin:/bin"}  # fmt: skip

    def desk(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "desk.cli", "retention", "run", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    dry = await asyncio.to_thread(desk, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "rien n'a été modifié" in dry.stdout
    assert "     1  demandes closes réduites" in dry.stdout
    assert (await RightsRequest.get(id=request.id)).reduced_at is None

    real = await asyncio.to_thread(desk)
    assert real.returncode == 0, real.stdout + real.stderr
    assert "     1  demandes closes réduites" in real.stdout
    assert (await RightsRequest.get(id=request.id)).reduced_at is not None
    assert await AuditRecord.filter(action="retention.run").count() == 1


async def test_an_event_written_before_sealing_keeps_its_text_and_its_chain(
    app: Starlette,
) -> None:
    from desk.requests.audit import SALTS_KEY, event_digest

    request = await _closed_request(app, await make_resident())
    fulfil = await DeliveryEvent.get(action="fulfil")
    raw = {k: v for k, v in fulfil.detail.items() if k != SALTS_KEY}
    legacy = event_digest(
        prev=fulfil.prev_digest or "",
        delivery_id=fulfil.delivery_id,  # type: ignore[attr-defined]
        at=fulfil.at,
        actor=fulfil.actor,
        action=fulfil.action,
        from_state=fulfil.from_state,
        to_state=fulfil.to_state,
        detail=raw,
        sealed_text=False,
    )
    # The last event of its delivery: no later event names its digest.
    await DeliveryEvent.filter(id=fulfil.id).update(detail=raw, digest=legacy)
    assert (await verify_events())[1] == []

    report = await run_retention(now=clock.add_months(await _closed_at(request), 13))
    assert (report.requests_reduced, report.legacy_texts_kept) == (1, 1)
    assert (await DeliveryEvent.get(id=fulfil.id)).detail["outcome"]["note"] == TEXTS[3]
    assert (await verify_events())[1] == []


async def test_the_resident_still_reads_a_reduced_request(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, "lecteur@exemple.invalid")
    resident = await Resident.get(email="lecteur@exemple.invalid")
    request = await _closed_request(app, resident)
    before = page_text(await client.get(f"/mon-espace/demandes/{request.reference}"))
    assert TEXTS[0] in before  # the extension reason, shown while the request is recent
    await run_retention(now=clock.add_months(await _closed_at(request), 12) + SECOND)
    page = await client.get(f"/mon-espace/demandes/{request.reference}")
    assert page.status_code == 200
    text = page_text(page)
    assert request.reference in text and _holds_none(text)
