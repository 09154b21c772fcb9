"""An outsider gets 404 whatever the body: ownership is checked before any form field."""

from __future__ import annotations

import httpx
import pytest

from desk.mail.sink import MailSink
from desk.mediation import services
from desk.mediation.models import IdentityCheck, MediationEvent
from desk.outbox.worker import Worker
from desk.requests.models import RequestKind
from desk.requests.services import file_request
from desk.staff.services import add_staff
from tests.desk.mediation.support import log_in_staff
from tests.desk.residents.helpers import log_in
from tests.desk.residents.helpers import post_form as resident_post
from tests.desk.staff.support import post_form
from tests.factories import make_resident, make_signatory

BODIES: list[dict[str, str | list[str]]] = [
    {},
    {"kind": "pas-un-type"},
    {"kind": "erasure"},
    {"kind": "erasure", "signatory": ["abc"]},
]


async def test_filing_for_another_mediators_resident_is_404_whatever_the_form(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    other = await add_staff(
        email="autre@guichet.exemple.invalid", display_name="Autre", role="mediator"
    )
    session, _ = await services.open_session(
        mediator=other,
        identity_check=IdentityCheck.DOCUMENT_SHOWN,
        mandate=services.MandateInput(
            kinds=[RequestKind.ERASURE], signatory_ids=None, months=3, paper_signed=True
        ),
        contact=services.ContactInput(
            full_name="Yvonne Le Gall", street="3 rue de Kerbonne", postcode="29200", city="Brest"
        ),
    )
    rid = session.resident_id  # type: ignore[attr-defined]
    outsider = await log_in_staff(client, worker, mail_sink)

    for body in BODIES:
        response = await post_form(client, f"/mediation/habitants/{rid}/demandes", body)
        assert response.status_code == 404, body
        assert "Yvonne" not in response.text
    refusals = await MediationEvent.filter(mediator_id=outsider.id, outcome="refused")
    assert [(r.action, r.resident_ref) for r in refusals] == [("file_request", rid)] * len(BODIES)


@pytest.mark.parametrize("action", ["retirer", "repondre"])
async def test_a_resident_acting_on_someone_elses_request_gets_404_whatever_the_form(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, action: str
) -> None:
    await make_signatory("bibus", name="Bibus")
    owner = await make_resident("camille@exemple.invalid")
    request = await file_request(resident_id=owner.id, kind=RequestKind.DISCOVERY)
    await make_resident("intrus@exemple.invalid")
    await log_in(client, worker, mail_sink, "intrus@exemple.invalid")

    path = f"/mon-espace/demandes/{request.reference}/{action}"
    for body in ({}, {"delivery": "x"}, {"delivery": "1"}):
        response = await resident_post(client, path, body)
        assert response.status_code == 404, body
