"""What a resident with email sees of what a mediator filed for them, and can undo."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests.models import Delivery, DeliveryState, RightsRequest
from desk.residents.models import Resident
from tests.desk.mediation.support import (
    HELP_POINT,
    log_in_staff,
    open_session,
    resident_id_of,
)
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory

EMAIL = "camille@exemple.invalid"


async def test_resident_sees_filed_on_your_behalf_and_can_withdraw(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    # Signatories answering by email: nothing is answered while the resident looks.
    eau = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    bibus = await make_signatory("bibus", name="Bibus")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as staff:
        await log_in_staff(staff, worker, mail_sink)
        rid = resident_id_of(await open_session(staff, mode="email", email=EMAIL))
        filed = await post_form(
            staff,
            f"/mediation/habitants/{rid}/demandes",
            {"kind": "objection", "signatory": [str(eau.id), str(bibus.id)]},
        )
        assert filed.status_code == 303
    assert (await Resident.get(id=rid)).email == EMAIL
    request = await RightsRequest.get(resident_id=rid)

    await log_in(client, worker, mail_sink, EMAIL)
    dashboard = page_text(await client.get("/mon-espace?actualiser=non"))
    assert f"Déposée pour vous par Maëlle Médiatrice, {HELP_POINT}, le " in dashboard
    page = page_text(await client.get(f"/mon-espace/demandes/{request.reference}"))
    assert f"Déposée pour vous par Maëlle Médiatrice, {HELP_POINT}, le " in page
    assert "par votre médiateur ou médiatrice numérique" in page

    delivery = await Delivery.filter(request_id=request.id).order_by("id").first()
    assert delivery is not None
    assert delivery.state == DeliveryState.SENT
    withdrawn = await post_form(
        client, f"/mon-espace/demandes/{request.reference}/retirer", {"delivery": str(delivery.id)}
    )
    assert withdrawn.status_code == 303
    assert (await Delivery.get(id=delivery.id)).state == DeliveryState.WITHDRAWN
