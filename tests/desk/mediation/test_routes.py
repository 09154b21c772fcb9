"""A mediator's day through the pages: session, mandate, filing, paper, follow-up."""

from __future__ import annotations

import httpx

from desk.mail.sink import MailSink
from desk.mediation.models import (
    AssistedSession,
    Mandate,
    MediationEvent,
    ResidentContact,
    ToldMark,
)
from desk.outbox.worker import Worker
from desk.requests.models import AccessCopy, DeliveryEvent, RightsRequest
from desk.residents.models import Resident
from desk.staff.services import deactivate_staff
from tests.desk.mediation.support import (
    HELP_POINT,
    holding_slug,
    log_in_staff,
    open_session,
    post,
    resident_id_of,
    run_until_final,
    two_simulated,
)
from tests.desk.staff.support import text
from tests.factories import make_signatory


async def test_mediator_files_an_erasure_for_a_resident_without_email_and_prints_the_paper(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    eau, bibus = await two_simulated()
    staff = await log_in_staff(client, worker, mail_sink)

    form = text(await client.get("/mediation/seance"))
    assert "Ne notez jamais le numéro d'une pièce d'identité" in form
    rid = resident_id_of(await open_session(client))
    resident = await Resident.get(id=rid)
    assert resident.email is None
    contact = await ResidentContact.get(resident_id=rid)
    assert contact.address_lines == ["3 rue de Kerbonne", "29200 BREST"]
    session = await AssistedSession.get(resident_id=rid)
    assert session.identity_check == "document_shown"

    page = text(await client.get(f"/mediation/habitants/{rid}"))
    assert "Yvonne Le Gall" in page
    assert "pièce d'identité montrée" in page
    assert "Mandat papier signé" in page
    mandate = await Mandate.get(resident_id=rid)
    sheet = text(await client.get(f"/mediation/habitants/{rid}/mandats/{mandate.id}"))
    assert "Mandat pour des démarches sur mes données personnelles" in sheet
    assert "Maëlle Médiatrice" in sheet and HELP_POINT in sheet
    assert "Signature de la personne" in sheet

    filed = await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {
            "kind": "erasure",
            "signatory": [str(eau.id), str(bibus.id)],
            "submission_key": "cle-de-test-0123456789",
        },
    )
    assert filed.status_code == 303
    request = await RightsRequest.get(resident_id=rid)
    assert request.filed_via == "assisted"
    assert filed.headers["location"] == (
        f"/mediation/habitants/{rid}/demandes/{request.reference}/accuse"
    )
    ack = text(await client.get(filed.headers["location"]))
    assert "Accusé de réception de votre demande" in ack
    assert request.reference in ack
    assert "Eau du Ponant" in ack and "Bibus" in ack
    assert "Réponse au plus tard le" in ack
    assert f"avec Maëlle Médiatrice, {HELP_POINT}" in ack
    # The audit trail names the mediator, not "the resident".
    actors = {e.actor for e in await DeliveryEvent.filter(action="file")}
    assert actors == {f"mediator:{staff.id}"}

    await run_until_final(worker, request.id)
    home = text(await client.get("/mediation"))
    assert "À dire à la personne" in home
    assert "a effacé" in home or "ne détenait aucune donnée" in home
    assert "Imprimer le reçu signé" in home
    first = await DeliveryEvent.filter(action="fulfil").order_by("id").first()
    assert first is not None
    told = await post(
        client, f"/mediation/habitants/{rid}/nouvelles/{first.id}/dite", {"back": "home"}
    )
    assert told.status_code == 303 and told.headers["location"] == "/mediation"
    assert await ToldMark.filter(event_id=first.id, channel="help_point").exists()

    letter = text(await client.get(f"/mediation/habitants/{rid}/lettre"))
    assert "29200 BREST" in letter
    assert "des nouvelles de vos demandes" in letter
    assert (await post(client, f"/mediation/habitants/{rid}/lettre")).status_code == 303
    assert await ToldMark.filter(resident_id=rid).count() == 2
    assert "À dire à la personne" not in text(await client.get("/mediation"))
    english = text(await client.get(f"/mediation/habitants/{rid}?lang=en"))
    assert "Their requests" in english and "Session and mandate" in english

    actions = [e.action for e in await MediationEvent.filter(mediator_id=staff.id)]
    for expected in (
        "open_session", "print_mandate", "file_request", "print_acknowledgement",
        "view_home", "mark_told", "print_letter", "letter_posted",
    ):  # fmt: skip
        assert expected in actions


async def test_paper_mandate_must_be_signed_before_filing(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    eau, _ = await two_simulated()
    await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client, paper_signed=""))
    page = text(await client.get(f"/mediation/habitants/{rid}"))
    assert "Le mandat papier n'est pas encore signé" in page
    refused = await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "erasure", "signatory": [str(eau.id)]},
    )
    assert refused.status_code == 403
    assert "Le mandat papier n'est pas encore signé" in text(refused)
    mandate = await Mandate.get(resident_id=rid)
    signed = await post(client, f"/mediation/habitants/{rid}/mandats/{mandate.id}/signe")
    assert signed.status_code == 303
    filed = await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "erasure", "signatory": [str(eau.id)]},
    )
    assert filed.status_code == 303
    assert await MediationEvent.filter(action="file_request", outcome="refused").count() == 1


async def test_duplicate_resident_is_proposed_and_can_be_reused(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await two_simulated()
    await log_in_staff(client, worker, mail_sink)
    first = resident_id_of(await open_session(client))
    again = await open_session(
        client, full_name="  yvonne LE GALL ", street="3, rue de Kerbonne", city="BREST"
    )
    assert again.status_code == 409
    page = text(again)
    assert "Cette personne est peut-être déjà enregistrée" in page
    assert f'name="use_existing" value="{first}"' in page
    reused = await open_session(client, use_existing=str(first))
    assert resident_id_of(reused) == first
    assert await Resident.all().count() == 1
    assert await AssistedSession.filter(resident_id=first).count() == 2
    other = await open_session(client, homonym="1")
    assert resident_id_of(other) != first
    assert await Resident.all().count() == 2


async def test_email_finds_the_existing_resident(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in_staff(client, worker, mail_sink)
    known = await Resident.create(email="camille@exemple.invalid", pseudonym="p" * 20)
    found = await open_session(client, mode="email", email=" Camille@Exemple.invalid ")
    # An existing account is found, and waits for its owner's consent (test_consent.py).
    assert found.headers["location"] == f"/mediation/habitants/{known.id}/consentement"
    assert await Resident.all().count() == 1
    bad = await open_session(client, mode="email", email="pas-une-adresse")
    assert bad.status_code == 422


async def test_incomplete_form_is_refused_with_french_messages_and_kept(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in_staff(client, worker, mail_sink)
    no_address = await open_session(client, postcode="29", city="")
    assert no_address.status_code == 422
    page = text(no_address)
    assert "L'adresse postale est incomplète" in page
    assert 'value="Yvonne Le Gall"' in page
    no_check = await open_session(client, identity_check="")
    assert no_check.status_code == 422
    assert "comment l'identité de la personne a été vérifiée" in text(no_check)
    no_kind = await open_session(client, kinds=[])
    assert no_kind.status_code == 422
    bad_months = await open_session(client, months="12")
    assert bad_months.status_code == 422
    assert await Resident.all().count() == 0
    # Reached at the help point: no postal address needed, but then no letter.
    rid = resident_id_of(await open_session(client, street="", postcode="", city="",
                                            help_point_only="1"))  # fmt: skip
    letter = await client.get(f"/mediation/habitants/{rid}/lettre")
    assert letter.status_code == 422
    assert "L'adresse postale de cette personne est incomplète" in text(letter)
    assert await MediationEvent.filter(action="print_letter", outcome="refused").exists()


async def test_access_copy_is_handed_to_the_mediator_once(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    holder = await make_signatory(holding_slug(), adapter="simulated")
    await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "access", "signatory": [str(holder.id)]},
    )
    request = await RightsRequest.get(resident_id=rid)
    await run_until_final(worker, request.id)
    copy = await AccessCopy.get(delivery__request_id=request.id)
    page = text(await client.get(f"/mediation/habitants/{rid}"))
    assert f"/mediation/habitants/{rid}/copies/{copy.id}" in page
    assert (await client.head(f"/mediation/habitants/{rid}/copies/{copy.id}")).status_code == 405
    got = await client.get(f"/mediation/habitants/{rid}/copies/{copy.id}")
    assert got.status_code == 200
    assert got.headers["cache-control"] == "no-store"
    again = await client.get(f"/mediation/habitants/{rid}/copies/{copy.id}")
    assert again.status_code == 410
    assert "déjà été téléchargée" in text(again)


async def test_deactivated_mediator_is_stopped_at_the_next_click(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    staff = await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    assert (await client.get(f"/mediation/habitants/{rid}")).status_code == 200
    assert await deactivate_staff(email=staff.email)
    response = await client.get(f"/mediation/habitants/{rid}")
    assert response.status_code == 303
    assert response.headers["location"] == "/equipe/connexion"
