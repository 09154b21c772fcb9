"""A resident closes their own account (issue 17, item 10): the page says before what goes and
what stays, closing does exactly that, a mail confirms it, and the old session opens nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.core import clock
from desk.identity.models import LoginChallenge, WebSession
from desk.mail.sink import MailSink
from desk.mediation.models import AssistedSession, IdentityCheck, Mandate
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import Delivery, DeliveryState, RightsRequest
from desk.residents.models import Resident
from desk.staff.services import add_staff
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory

EMAIL = "gwenola@exemple.invalid"


async def _file_discovery(app: Starlette, client: httpx.AsyncClient) -> str:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await make_signatory("bibus", name="Bibus")
    filed = await post_form(
        client, "/mon-espace/demandes", {"kind": "discovery", "submission_key": "decouverte-1"}
    )
    assert filed.status_code == 303, filed.text
    reference = filed.headers["location"].rsplit("/", 1)[-1]
    rt = app.state.runtime
    answered = await Delivery.get(request__reference=reference, signatory__slug="bibus")
    await transitions.fulfil(
        delivery_id=answered.id,
        actor="partner",
        keyring=rt.keyring,
        issuer=rt.issuer,
        outcome={"holds_data": False},
    )
    return reference


async def test_closing_deletes_what_it_says_and_keeps_what_it_says(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, EMAIL)
    reference = await _file_discovery(app, client)
    resident = await Resident.get(email=EMAIL)
    pseudonym = resident.pseudonym

    assert "/mon-espace/fermer" in (await client.get("/mon-espace")).text
    before = page_text(await client.get("/mon-espace/fermer"))
    assert "Demandes en cours auprès d'un organisme : 1" in before
    assert "Votre adresse électronique, votre langue et vos dates de connexion." in before
    assert "Vos demandes closes (1), réduites aux faits" in before
    assert "Les reçus signés des réponses, sans limite de durée" in before

    # Without its CSRF token, the form closes nothing.
    refused = await client.post("/mon-espace/fermer", data={"confirmer": "oui"})
    assert refused.status_code == 403
    assert await Resident.filter(email=EMAIL).exists()

    closed = await post_form(client, "/mon-espace/fermer", {"confirmer": "oui"})
    assert closed.status_code == 303
    assert closed.headers["location"] == "/compte-ferme"
    after = page_text(await client.get("/compte-ferme"))
    assert "Votre compte est fermé depuis le" in after
    assert "Demandes en cours retirées avant la fermeture : 1." in after
    assert "Il reste vos demandes (1), réduites aux faits" in after

    # Deleted: the address, sessions, login links; open requests withdrawn, then reduced.
    row = await Resident.get(id=resident.id)
    assert row.email is None and row.last_login_at is None
    assert row.pseudonym == pseudonym  # the receipts still name it
    assert not await WebSession.filter(resident_id=resident.id).exists()
    assert not await LoginChallenge.filter(email=EMAIL).exists()
    states = {d.state for d in await Delivery.filter(request__reference=reference)}
    assert states == {DeliveryState.FULFILLED, DeliveryState.WITHDRAWN}
    request = await RightsRequest.get(reference=reference)
    assert request.reduced_at is not None
    audit = await AuditRecord.filter(action="resident.closed")
    assert len(audit) == 1
    assert audit[0].subject == f"resident:{resident.id}"
    assert EMAIL not in json.dumps(audit[0].detail) + audit[0].actor

    # The mail arrives, names no organisation nor request, then its job forgets the address.
    await worker.run_until_idle()
    mails = [m for m in mail_sink.to(EMAIL) if "fermé" in m.subject]
    assert len(mails) == 1
    assert "Il reste vos demandes (1)" in mails[0].text
    for gone in ("Eau du Ponant", "Bibus", reference, pseudonym):
        assert gone not in mails[0].text
    jobs = await OutboxJob.filter(kind="mail.account_closed")
    assert len(jobs) == 1 and "to" not in jobs[0].payload
    assert not await Resident.filter(email=EMAIL).exists()

    # The old session opens nothing; a second POST changes nothing and mails nothing.
    space = await client.get("/mon-espace")
    assert space.status_code != 200 or "Fermer mon compte" not in space.text
    again = await post_form(client, "/mon-espace/fermer", {"confirmer": "oui"})
    assert again.status_code != 303 or again.headers["location"] != "/compte-ferme"
    await worker.run_until_idle()
    assert await AuditRecord.filter(action="resident.closed").count() == 1
    assert len([m for m in mail_sink.to(EMAIL) if "fermé" in m.subject]) == 1

    # Coming back with the same address opens a fresh, empty account.
    await log_in(client, worker, mail_sink, EMAIL)
    fresh = await Resident.get(email=EMAIL)
    assert fresh.id != resident.id and fresh.pseudonym != pseudonym
    assert not await RightsRequest.filter(resident_id=fresh.id).exists()
    assert reference not in (await client.get("/mon-espace")).text


async def test_an_account_without_requests_is_deleted_whole(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, EMAIL)
    resident = await Resident.get(email=EMAIL)
    before = page_text(await client.get("/mon-espace/fermer"))
    assert "Vous n'avez déposé aucune demande : votre compte est entièrement supprimé." in before
    closed = await post_form(client, "/mon-espace/fermer", {"confirmer": "oui"})
    assert closed.status_code == 303
    assert "Il ne reste rien de votre compte." in page_text(await client.get("/compte-ferme"))
    assert not await Resident.filter(id=resident.id).exists()
    await worker.run_until_idle()
    mails = [m for m in mail_sink.to(EMAIL) if "fermé" in m.subject]
    assert len(mails) == 1 and "Il ne reste rien de votre compte." in mails[0].text


async def test_closing_revokes_every_live_mandate_on_a_kept_account(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, EMAIL)
    await _file_discovery(app, client)
    resident = await Resident.get(email=EMAIL)
    mediator = await add_staff(
        email="mediatrice.fermeture@exemple.invalid", display_name="M", role="mediator"
    )
    now = clock.now()
    session = await AssistedSession.create(
        mediator=mediator, resident=resident, opened_at=now, closes_at=now + timedelta(hours=1),
        identity_check=IdentityCheck.DOCUMENT_SHOWN,
    )  # fmt: skip
    mandate = await Mandate.create(
        session=session, resident=resident, mediator=mediator, kinds=["erasure"],
        valid_until=now + timedelta(days=30),
    )  # fmt: skip

    await post_form(client, "/mon-espace/fermer", {"confirmer": "oui"})

    # The row stays (a request exists), the mandate on it does not.
    assert await Resident.filter(id=resident.id).exists()
    revoked = await Mandate.get(id=mandate.id)
    assert revoked.revoked_at is not None and revoked.revoked_by == "resident"
