"""A mediator joins a resident's existing account only with the resident's consent, given then.

Real HTTP through the app for the mediator and the resident, real mail through the SMTP sink.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.core import clock
from desk.mail.sink import CapturedMail, MailSink
from desk.mediation.models import (
    AssistedSession,
    Consent,
    ConsentCode,
    CopyTaken,
    MediationEvent,
)
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.registry.models import Signatory
from desk.requests.models import AccessCopy, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.residents.models import Resident
from tests.desk.mediation.support import (
    holding_slug,
    log_in_staff,
    open_session,
    post,
    run_until_final,
)
from tests.desk.residents.helpers import log_in, page_text
from tests.desk.residents.helpers import post_form as resident_post
from tests.desk.staff.support import text
from tests.factories import make_signatory

EMAIL = "camille@exemple.invalid"
CODE = re.compile(r"\b(\d{3}) (\d{3})\b")


async def _answered(worker: Worker) -> tuple[Resident, Signatory, RightsRequest, AccessCopy]:
    """A resident with an online account, an access request answered and its copy waiting."""
    resident = await Resident.create(email=EMAIL, pseudonym="c" * 32)
    holder = await make_signatory(holding_slug(), adapter="simulated")
    request = await file_request(
        resident_id=resident.id, kind=RequestKind.ACCESS, signatory_ids=[holder.id]
    )
    await run_until_final(worker, request.id)
    copy = await AccessCopy.get(delivery__request_id=request.id)
    return resident, holder, request, copy


def _code_mails(mail_sink: MailSink) -> list[CapturedMail]:
    return [m for m in mail_sink.to(EMAIL) if "Votre code pour être accompagné" in m.subject]


def _code_of(mail: CapturedMail) -> str:
    found = CODE.search(mail.text)
    assert found, mail.text
    return found.group(1) + found.group(2)


async def _type(client: httpx.AsyncClient, rid: int, code: str) -> httpx.Response:
    return await post(client, f"/mediation/habitants/{rid}/consentement", {"code": code})


async def test_before_consent_the_mediator_sees_nothing_of_the_account_and_files_nothing(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, holder, request, copy = await _answered(worker)
    await log_in_staff(client, worker, mail_sink)

    opened = await open_session(client, mode="email", email=EMAIL)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/mediation/habitants/{resident.id}/consentement"
    rid = resident.id

    page = await client.get(f"/mediation/habitants/{rid}", follow_redirects=True)
    assert request.reference not in page.text
    assert copy.id not in page.text
    waiting = text(page)
    assert "Un code a été envoyé à la personne" in waiting
    assert "c…@exemple.invalid" in waiting and EMAIL not in waiting

    taken = await client.get(f"/mediation/habitants/{rid}/copies/{copy.id}")
    assert taken.status_code == 403
    assert "n'a pas encore donné son accord" in text(taken)
    fresh = await AccessCopy.get(id=copy.id)
    assert fresh.downloaded_at is None and fresh.content is not None

    filed = await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "erasure", "signatory": [str(holder.id)]},
    )
    assert filed.status_code == 403
    assert await RightsRequest.filter(resident_id=rid).count() == 1
    for path in (f"/mediation/habitants/{rid}/lettre", f"/mediation/habitants/{rid}/seance"):
        assert (await client.get(path)).status_code == 403
    assert "En attente de l'accord de la personne" in text(await client.get("/mediation"))
    assert request.reference not in (await client.get("/mediation")).text
    english = text(await client.get(f"/mediation/habitants/{rid}/consentement?lang=en"))
    assert "A code was sent to the person" in english


async def test_the_code_from_the_mail_lets_the_mediator_in_and_the_resident_is_told_everything(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, holder, request, copy = await _answered(worker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as staff:
        mediator = await log_in_staff(staff, worker, mail_sink)
        await open_session(staff, mode="email", email=EMAIL)
        rid = resident.id
        await worker.run_until_idle()
        (mail,) = _code_mails(mail_sink)
        assert "Maëlle Médiatrice" in mail.text and "Espace numérique de Bellevue" in mail.text
        assert "Ne donnez ce code à personne" in mail.text
        code = _code_of(mail)
        # Only a keyed hash is kept; the mail job forgot the code once the mail was out.
        row = await ConsentCode.get(resident_id=rid)
        assert code not in row.digest
        job = await OutboxJob.get(kind="mail.mediation_consent_code")
        assert "code" not in job.payload

        malformed = await _type(staff, rid, "12ab")
        assert malformed.status_code == 422
        assert "6 chiffres" in text(malformed)
        let_in = await _type(staff, rid, f"{code[:3]} {code[3:]}")
        assert let_in.status_code == 303
        assert let_in.headers["location"] == f"/mediation/habitants/{rid}"
        page = text(await staff.get(let_in.headers["location"]))
        assert "La personne a donné son accord" in page
        assert request.reference in page
        session = await AssistedSession.get(resident_id=rid)
        assert session.consent == Consent.GIVEN and session.consent_method == "code"
        # The code works once: the session no longer waits for it.
        assert (await _type(staff, rid, code)).status_code == 404

        await worker.run_until_idle()
        (mandate_mail,) = [m for m in mail_sink.to(EMAIL) if "mandat" in m.subject]
        assert "Vous avez donné un mandat à Maëlle Médiatrice" in mandate_mail.subject
        assert "Ce n'était pas vous ?" in mandate_mail.text

        got = await staff.get(f"/mediation/habitants/{rid}/copies/{copy.id}")
        assert got.status_code == 200
        filed = await post(
            staff,
            f"/mediation/habitants/{rid}/demandes",
            {"kind": "erasure", "signatory": [str(holder.id)]},
        )
        assert filed.status_code == 303
        await worker.run_until_idle()
    erasure = await RightsRequest.get(resident_id=rid, kind=RequestKind.ERASURE)
    filed_mails = [m for m in mail_sink.to(EMAIL) if "Une demande a été déposée" in m.subject]
    assert len(filed_mails) == 1
    assert erasure.reference in filed_mails[0].text
    assert "Supprimer mes données" in filed_mails[0].subject
    assert await CopyTaken.filter(copy_id=copy.id, mediator_id=mediator.id).exists()

    await log_in(client, worker, mail_sink, EMAIL)
    dashboard = page_text(await client.get("/mon-espace?actualiser=non"))
    assert "Copie de vos données téléchargée par un médiateur (Maëlle Médiatrice) le " in dashboard
    assert "Déposée pour vous par Maëlle Médiatrice" in dashboard
    mine = page_text(await client.get(f"/mon-espace/demandes/{request.reference}"))
    assert "Copie téléchargée par un médiateur (Maëlle Médiatrice, Espace numérique" in mine

    # Each step is audited, with ids and never an address.
    audited = await AuditRecord.filter(action__startswith="mediation.").order_by("id")
    assert [a.action for a in audited] == ["mediation.consent_asked", "mediation.consent_given"]
    assert all(EMAIL not in str(a.detail) + a.subject for a in audited)
    actions = [e.action for e in await MediationEvent.filter(resident_ref=rid).order_by("id")]
    assert "consent_given" in actions and "download_copy" in actions


async def test_wrong_expired_and_exhausted_codes_get_clear_french_answers(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident = await Resident.create(email=EMAIL, pseudonym="c" * 32)
    rid = resident.id
    await log_in_staff(client, worker, mail_sink)
    await open_session(client, mode="email", email=EMAIL)
    await worker.run_until_idle()
    code = _code_of(_code_mails(mail_sink)[-1])
    wrong = "000000" if code != "000000" else "111111"

    first = await _type(client, rid, wrong)
    assert first.status_code == 422
    assert "Ce code n'est pas le bon" in text(first)
    assert "Il vous reste 4 essai(s)" in text(first)
    for _ in range(3):
        assert (await _type(client, rid, wrong)).status_code == 422
    last = await _type(client, rid, wrong)
    assert last.status_code == 429
    assert "Trop d'essais" in text(last)
    # Exhausted: even the right code no longer opens anything.
    assert (await _type(client, rid, code)).status_code == 429
    assert (await AssistedSession.get(resident_id=rid)).consent == Consent.AWAITING

    resent = await post(client, f"/mediation/habitants/{rid}/consentement/code")
    assert resent.status_code == 303
    assert "Un nouveau code a été envoyé" in text(await client.get(resent.headers["location"]))
    await worker.run_until_idle()
    second = _code_of(_code_mails(mail_sink)[-1])
    await ConsentCode.filter(resident_id=rid, used_at__isnull=True).update(
        expires_at=clock.now() - timedelta(seconds=1)
    )
    expired = await _type(client, rid, second)
    assert expired.status_code == 410
    assert "Ce code a expiré" in text(expired)

    # Three codes an hour for one resident, then a pause.
    assert (await post(client, f"/mediation/habitants/{rid}/consentement/code")).status_code == 303
    rationed = await post(client, f"/mediation/habitants/{rid}/consentement/code")
    assert rationed.status_code == 429
    assert "Trop de codes ont été envoyés" in text(rationed)
    assert await ConsentCode.filter(resident_id=rid).count() == 3
    assert (await client.get(f"/mediation/habitants/{rid}")).status_code == 303
    refused = await AuditRecord.filter(action="mediation.consent_code_refused")
    assert {r.detail["reason"] for r in refused} == {"wrong", "too_many_tries", "expired"}


async def test_the_resident_can_accept_or_refuse_from_their_own_space(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident = await Resident.create(email=EMAIL, pseudonym="c" * 32)
    rid = resident.id
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as staff:
        await log_in_staff(staff, worker, mail_sink)
        await open_session(staff, mode="email", email=EMAIL)
        await log_in(client, worker, mail_sink, EMAIL)
        asked = page_text(await client.get("/mon-espace?actualiser=non"))
        assert "Un médiateur demande à vous accompagner" in asked
        assert "Maëlle Médiatrice, Espace numérique de Bellevue, demande à accéder" in asked
        session = await AssistedSession.get(resident_id=rid)
        no = await resident_post(
            client, f"/mon-espace/accompagnement/{session.id}", {"reponse": "refuser"}
        )
        assert no.status_code == 303
        assert (await AssistedSession.get(id=session.id)).consent == Consent.REFUSED
        assert (await staff.get(f"/mediation/habitants/{rid}")).status_code == 404
        # Refused is final: answering again finds nothing.
        again = await resident_post(
            client, f"/mon-espace/accompagnement/{session.id}", {"reponse": "accepter"}
        )
        assert again.status_code == 404

        await open_session(staff, mode="email", email=EMAIL)
        second = await AssistedSession.filter(resident_id=rid).order_by("-id").first()
        assert second is not None
        yes = await resident_post(
            client, f"/mon-espace/accompagnement/{second.id}", {"reponse": "accepter"}
        )
        assert yes.status_code == 303
        assert "Vous avez accepté" in page_text(await client.get("/mon-espace?actualiser=non"))
        assert (await staff.get(f"/mediation/habitants/{rid}")).status_code == 200
        await worker.run_until_idle()
    assert [m for m in mail_sink.to(EMAIL) if "Vous avez donné un mandat" in m.subject]
    assert await AuditRecord.filter(action="mediation.consent_refused").exists()


async def test_a_first_contact_by_email_keeps_todays_flow_and_the_mandate_is_mailed(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in_staff(client, worker, mail_sink)
    opened = await open_session(client, mode="email", email=EMAIL)
    rid = (await Resident.get(email=EMAIL)).id
    assert opened.headers["location"] == f"/mediation/habitants/{rid}"
    assert (await AssistedSession.get(resident_id=rid)).consent == Consent.NOT_NEEDED
    await worker.run_until_idle()
    assert not _code_mails(mail_sink)
    assert [m for m in mail_sink.to(EMAIL) if "Vous avez donné un mandat" in m.subject]
    # A later session with this resident, who now has an account, asks them again.
    renewed = await open_session(client, f"/mediation/habitants/{rid}/seance")
    assert renewed.headers["location"] == f"/mediation/habitants/{rid}/consentement"
