"""A resident without email learns who holds their data: the mediator's dated printout, and
letters carrying QR codes of the receipts."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.mediation.models import Mandate, MediationEvent
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.registry.models import Declaration
from desk.requests import transitions
from desk.requests.models import Delivery, RightsRequest
from tests.desk.mediation.support import log_in_staff, open_session, post, resident_id_of
from tests.desk.staff.support import text
from tests.factories import make_signatory


async def _answered_discovery(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, rid: int
) -> tuple[RightsRequest, dict[str, Delivery]]:
    """Four signatories asked: one holds data, one holds nothing, one refuses, one is awaited."""
    eau = await make_signatory("eau-du-ponant", name="Eau du Ponant", declarations=2)
    await Declaration.filter(signatory_id=eau.id, code="traitement-2").update(
        title="Lettre d'information", recipients=["Prestataire d'envoi", "Brest métropole"],
        data_categories=["adresse électronique"],
    )  # fmt: skip
    bibus = await make_signatory("bibus", name="Bibus")
    archives = await make_signatory("archives", name="Archives de Brest")
    ocean = await make_signatory("ocean", name="Océan Habitat")
    ids = [str(s.id) for s in (eau, bibus, archives, ocean)]
    filed = await post(
        client, f"/mediation/habitants/{rid}/demandes",
        {"kind": "discovery", "signatory": ids, "submission_key": "cle-qui-detient-0123456789"},
    )  # fmt: skip
    assert filed.status_code == 303
    await worker.run_until_idle()
    request = await RightsRequest.get(resident_id=rid)
    deliveries = {
        d.signatory.slug: d
        for d in await Delivery.filter(request_id=request.id).prefetch_related("signatory")
    }
    rt = app.state.runtime
    signed = {"keyring": rt.keyring, "issuer": rt.issuer, "actor": "partner:test"}
    await transitions.fulfil(
        delivery_id=deliveries["eau-du-ponant"].id,
        outcome={"holds_data": True, "declarations": ["traitement-2"], "categories": ["adresse"]},
        **signed,
    )
    await transitions.fulfil(
        delivery_id=deliveries["bibus"].id, outcome={"holds_data": False}, **signed
    )
    await transitions.deny(
        delivery_id=deliveries["archives"].id, reason="insuf_verification", **signed
    )
    return request, deliveries


async def test_the_printout_says_who_holds_what_and_shares_with_whom(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    before = text(await client.get(f"/mediation/habitants/{rid}/qui-detient"))
    assert "Aucune demande « savoir qui détient mes données »" in before
    request, deliveries = await _answered_discovery(app, client, worker, rid)

    file_page = text(await client.get(f"/mediation/habitants/{rid}"))
    assert f"/mediation/habitants/{rid}/qui-detient" in file_page
    sheet = text(await client.get(f"/mediation/habitants/{rid}/qui-detient"))
    assert "Qui détient vos données" in sheet and "Imprimé le" in sheet
    assert "<strong>Yvonne Le Gall</strong>" in sheet
    assert "Ils détiennent des données sur vous : 1" in sheet
    # In the signatory's own words: the declaration it named, and with whom that one shares.
    assert "Dans ces traitements : Lettre d'information." in sheet
    assert "Prestataire d'envoi — pour « Lettre d'information »" in sheet
    assert "Brest métropole — pour « Lettre d'information »" in sheet
    assert "Gestion des abonnés 1" not in sheet
    assert "Ils ne détiennent aucune donnée sur vous : 1" in sheet and "Bibus" in sheet
    assert "Ils ont refusé de répondre : 1" in sheet and "Archives de Brest" in sheet
    assert "Réponses attendues : 1" in sheet and "Océan Habitat" in sheet
    assert request.reference in sheet
    # The receipt of the answer, as a QR code of its short address.
    receipt = await Receipt.get(delivery_id=deliveries["eau-du-ponant"].id)
    assert f"http://testserver/recus/{receipt.id}" in sheet
    assert 'class="qr-code"' in sheet and "/static/sheet.css" in sheet
    assert await MediationEvent.filter(action="print_holders", resident_ref=rid).exists()
    english = text(await client.get(f"/mediation/habitants/{rid}/qui-detient?lang=en"))
    assert "Who holds your data" in english and "Qui détient vos données" not in english

    # An erasure done since is said on the sheet.
    erase = await post(
        client, f"/mediation/habitants/{rid}/demandes",
        {"kind": "erasure", "signatory": [str(deliveries["eau-du-ponant"].signatory.id)],
         "submission_key": "cle-effacement-0123456789"},
    )  # fmt: skip
    assert erase.status_code == 303
    await worker.run_until_idle()
    erasure = await Delivery.get(request__kind="erasure", request__resident_id=rid)
    rt = app.state.runtime
    await transitions.fulfil(
        delivery_id=erasure.id, actor="partner:test", outcome={"result": "erased"},
        keyring=rt.keyring, issuer=rt.issuer,
    )  # fmt: skip
    after = text(await client.get(f"/mediation/habitants/{rid}/qui-detient?lang=fr"))
    assert "Données effacées le" in after


async def test_the_printout_follows_the_mandate_rules(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    mandate = await Mandate.get(resident_id=rid)
    assert (await client.get("/mediation/habitants/99999/qui-detient")).status_code == 404
    assert (await client.get("/mediation/habitants/1x/qui-detient")).status_code == 404
    await post(client, f"/mediation/habitants/{rid}/mandats/{mandate.id}/retirer")
    refused = await client.get(f"/mediation/habitants/{rid}/qui-detient")
    assert refused.status_code == 403
    assert "Le mandat de cette personne a été retiré" in text(refused)


async def test_the_letter_carries_a_qr_code_of_each_receipt(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    _, deliveries = await _answered_discovery(app, client, worker, rid)
    letter = text(await client.get(f"/mediation/habitants/{rid}/lettre"))
    receipts = await Receipt.filter(delivery_id__in=[d.id for d in deliveries.values()])
    assert len(receipts) == 3
    for receipt in receipts:
        assert f"http://testserver/recus/{receipt.id}" in letter
    assert letter.count('class="qr-code"') == 3
    # The code holds the short address, not the signed text.
    assert all(r.jws[:40] not in letter for r in receipts)
