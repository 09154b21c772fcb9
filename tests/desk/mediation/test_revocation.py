"""The printed mandate promises "je peux retirer ce mandat à tout moment": the resident (from
their space) or the mediator (at their word) revokes it, a request filed under it is withdrawn,
both printed as dated acknowledgements; after that the mediator sees and files nothing.

Real HTTP through the app for the mediator and the resident, real mail through the SMTP sink.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.mail.sink import MailSink
from desk.mediation.models import AssistedSession, Mandate, MediationEvent
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, DeliveryState, RightsRequest
from desk.residents.models import Resident
from tests.desk.mediation.support import log_in_staff, open_session, post, resident_id_of
from tests.desk.residents.helpers import log_in, page_text
from tests.desk.residents.helpers import post_form as resident_post
from tests.desk.staff.support import text
from tests.factories import make_signatory

EMAIL = "camille@exemple.invalid"


async def test_the_mediator_withdraws_a_filed_request_then_revokes_the_mandate_and_sees_nothing(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    eau = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    bibus = await make_signatory("bibus", name="Bibus")
    await log_in_staff(client, worker, mail_sink)
    rid = resident_id_of(await open_session(client))
    filed = await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "erasure", "signatory": [str(eau.id), str(bibus.id)]},
    )
    assert filed.status_code == 303
    request = await RightsRequest.get(resident_id=rid)
    # One signatory answers first: its answer stands, the other part is withdrawn.
    answered = await Delivery.get(request_id=request.id, signatory_id=eau.id)
    await Delivery.filter(id=answered.id).update(state=DeliveryState.FULFILLED)

    file_page = text(await client.get(f"/mediation/habitants/{rid}"))
    assert "Retirer cette demande, à la demande de la personne" in file_page
    withdrawn = await post(
        client, f"/mediation/habitants/{rid}/demandes/{request.reference}/retirer"
    )
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == (
        f"/mediation/habitants/{rid}/demandes/{request.reference}/retrait"
    )
    sheet = text(await client.get(withdrawn.headers["location"]))
    assert "Accusé de retrait de votre demande" in sheet
    assert "Imprimé le " in sheet and "Retirée le " in sheet
    assert "La demande est retirée auprès de chaque organisme" in sheet
    states = {d.signatory_id: d.state for d in await Delivery.filter(request_id=request.id)}  # type: ignore[attr-defined]
    assert states == {eau.id: DeliveryState.FULFILLED, bibus.id: DeliveryState.WITHDRAWN}
    again = await post(client, f"/mediation/habitants/{rid}/demandes/{request.reference}/retirer")
    assert again.status_code == 409
    assert "ne peut plus être retirée" in text(again)
    assert (
        await client.get(f"/mediation/habitants/{rid}/demandes/INCONNU/retrait")
    ).status_code == 404

    mandate = await Mandate.get(resident_id=rid)
    revoked = await post(client, f"/mediation/habitants/{rid}/mandats/{mandate.id}/retirer")
    assert revoked.status_code == 303
    ack = text(await client.get(revoked.headers["location"]))
    assert "Accusé de retrait du mandat" in ack
    assert "Retiré le " in ack and "à votre demande, au point d'aide" in ack
    assert "Yvonne Le Gall" in ack

    # From now on: nothing to see, nothing to file, not even on the home page.
    refused = await client.get(f"/mediation/habitants/{rid}")
    assert refused.status_code == 403
    assert "Le mandat de cette personne a été retiré" in text(refused)
    assert "Yvonne Le Gall" not in text(refused)
    filed_again = await post(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "erasure", "signatory": [str(eau.id)]},
    )
    assert filed_again.status_code == 403
    assert await RightsRequest.filter(resident_id=rid).count() == 1
    assert "Yvonne Le Gall" not in text(await client.get("/mediation"))
    bad = await post(client, f"/mediation/habitants/{rid}/mandats/abc/retirer")
    assert bad.status_code == 404

    audited = await AuditRecord.get(action="mediation.mandate_revoked")
    assert audited.subject == f"resident:{rid}"
    assert "Yvonne" not in str(audited.detail)
    actions = [e.action for e in await MediationEvent.filter(resident_ref=rid)]
    assert "withdraw_request" in actions and "revoke_mandate" in actions


async def test_the_resident_revokes_from_their_space_is_mailed_and_the_mediator_is_shut_out(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await log_in(client, worker, mail_sink, EMAIL)
    resident = await Resident.get(email=EMAIL)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as staff:
        await log_in_staff(staff, worker, mail_sink)
        await open_session(staff, mode="email", email=EMAIL)
        session = await AssistedSession.get(resident_id=resident.id)
        accepted = await resident_post(
            client, f"/mon-espace/accompagnement/{session.id}", {"reponse": "accepter"}
        )
        assert accepted.status_code == 303
        assert (await staff.get(f"/mediation/habitants/{resident.id}")).status_code == 200

        dashboard = page_text(await client.get("/mon-espace?actualiser=non"))
        assert "Les personnes qui vous accompagnent" in dashboard
        assert "Maëlle Médiatrice" in dashboard
        mandate = await Mandate.get(resident_id=resident.id)
        revoked = await resident_post(client, f"/mon-espace/mandats/{mandate.id}/retirer", {})
        assert revoked.status_code == 303
        assert revoked.headers["location"] == f"/mon-espace/mandats/{mandate.id}/retrait"
        ack = page_text(await client.get(revoked.headers["location"]))
        assert "Le mandat est retiré" in ack
        assert "Accusé de retrait du mandat" in ack and "par vous-même" in ack
        english = page_text(await client.get(f"/mon-espace/mandats/{mandate.id}/retrait?lang=en"))
        assert "Acknowledgement of the mandate's withdrawal" in english
        await client.get("/mon-espace?lang=fr")  # the choice of language sticks

        shut = await staff.get(f"/mediation/habitants/{resident.id}")
        assert shut.status_code == 403
        assert "a été retiré" in text(shut)
        # The mediator did not record it: they have no acknowledgement of it to print.
        assert (
            await staff.get(f"/mediation/habitants/{resident.id}/mandats/{mandate.id}/retrait")
        ).status_code == 404

    after = page_text(await client.get("/mon-espace?actualiser=non"))
    assert "Les personnes qui vous accompagnent" not in after
    twice = await resident_post(client, f"/mon-espace/mandats/{mandate.id}/retirer", {})
    assert twice.status_code == 409
    assert "déjà retiré" in page_text(twice)
    for path in ("/mon-espace/mandats/999999/retirer", "/mon-espace/mandats/x1/retirer"):
        unknown = await resident_post(client, path, {})
        assert unknown.status_code == 404
        assert "introuvable" in page_text(unknown)

    await worker.run_until_idle()
    (mail,) = [m for m in mail_sink.to(EMAIL) if "est retiré" in m.subject]
    assert "Le mandat donné à Maëlle Médiatrice est retiré" in mail.subject
    assert "vous avez retiré depuis votre espace" in mail.text
    audited = await AuditRecord.get(action="mediation.mandate_revoked")
    assert audited.actor == f"resident:{resident.id}"
    assert EMAIL not in str(audited.detail) + audited.subject
