"""Every mediation route × {the mediator, another mediator, back office, a resident, anonymous}."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from desk.core import clock
from desk.mail.sink import MailSink
from desk.mediation.models import Mandate, MediationEvent
from desk.outbox.worker import Worker
from desk.requests.audit import record_event
from desk.requests.models import AccessCopy, Delivery, RightsRequest
from tests.desk.mediation.support import log_in_staff, open_session, resident_id_of, session_form
from tests.desk.residents.helpers import log_in
from tests.desk.staff.support import post_form
from tests.factories import make_signatory
from tests.helpers import csrf_token

ACTORS = ("other_mediator", "back_office", "resident", "anonymous", "mediator")


@dataclass
class World:
    rid: int
    mid: int
    reference: str
    event_id: int
    copy_id: str
    signatory_id: int


@dataclass(frozen=True)
class Case:
    method: str
    path: Callable[[World], str]
    # What the owning mediator gets; another mediator gets `other` (404 for a resident's route).
    owner: int
    other: int = 404
    data: Callable[[World], dict[str, str | list[str]]] | None = None


CASES: list[Case] = [
    Case("GET", lambda w: "/mediation", 200, other=200),
    Case("GET", lambda w: "/mediation/seance", 200, other=200),
    Case("POST", lambda w: "/mediation/seance", 422, other=422, data=lambda w: {"mode": "x"}),
    Case("GET", lambda w: f"/mediation/habitants/{w.rid}", 200),
    Case("GET", lambda w: f"/mediation/habitants/{w.rid}/seance", 200),
    Case("GET", lambda w: f"/mediation/habitants/{w.rid}/mandats/{w.mid}", 200),
    Case("POST", lambda w: f"/mediation/habitants/{w.rid}/mandats/{w.mid}/signe", 303),
    Case(
        "POST",
        lambda w: f"/mediation/habitants/{w.rid}/demandes",
        303,
        data=lambda w: {"kind": "objection", "signatory": [str(w.signatory_id)]},
    ),  # fmt: skip
    Case("GET", lambda w: f"/mediation/habitants/{w.rid}/demandes/{w.reference}/accuse", 200),
    Case("GET", lambda w: f"/mediation/habitants/{w.rid}/copies/{w.copy_id}", 200),
    Case("POST", lambda w: f"/mediation/habitants/{w.rid}/nouvelles/{w.event_id}/dite", 303),
    Case("GET", lambda w: "/mediation/point-d-aide", 200, other=200),
    Case("GET", lambda w: f"/mediation/habitants/{w.rid}/qui-detient", 200),
    Case("GET", lambda w: f"/mediation/habitants/{w.rid}/lettre", 200),
    Case("POST", lambda w: f"/mediation/habitants/{w.rid}/lettre", 303),
    # Last: a new session makes a new mandate, the current one from then on.
    Case(
        "POST",
        lambda w: f"/mediation/habitants/{w.rid}/seance",
        303,
        data=lambda w: session_form(mode="", full_name=""),
    ),  # fmt: skip
]


async def _world(client: httpx.AsyncClient, signatory_id: int) -> World:
    rid = resident_id_of(await open_session(client))
    filed = await post_form(
        client,
        f"/mediation/habitants/{rid}/demandes",
        {"kind": "access", "signatory": [str(signatory_id)]},
    )
    assert filed.status_code == 303
    request = await RightsRequest.get(resident_id=rid)
    delivery = await Delivery.get(request_id=request.id)
    event = await record_event(
        delivery_id=delivery.id, actor="partner:test", action="extend",
        from_state="acknowledged", to_state="extended", detail={"reason": "Archives"},
    )  # fmt: skip
    copy = await AccessCopy.create(
        id=secrets.token_urlsafe(24), delivery=delivery, filename="copie.json",
        content_type="application/json", size=2, sha256="0" * 64, content=b"{}",
        expires_at=clock.now() + timedelta(days=7),
    )  # fmt: skip
    mandate = await Mandate.get(resident_id=rid)
    return World(rid, mandate.id, request.reference, event.id, copy.id, signatory_id)


@pytest.fixture
async def clients(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    made = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        for name in ACTORS
    }
    try:
        await log_in_staff(made["mediator"], worker, mail_sink)
        await log_in_staff(
            made["other_mediator"], worker, mail_sink,
            email="autre@guichet.exemple.invalid", name="Autre Médiateur",
        )  # fmt: skip
        await log_in_staff(
            made["back_office"], worker, mail_sink,
            email="bo@guichet.exemple.invalid", name="Back Office", role="back_office",
        )  # fmt: skip
        await log_in(made["resident"], worker, mail_sink, "camille@exemple.invalid")
        await csrf_token(made["anonymous"])
        yield made
    finally:
        for c in made.values():
            await c.aclose()


def _expected(case: Case, actor: str) -> int:
    if actor == "mediator":
        return case.owner
    if actor == "other_mediator":
        return case.other
    if actor == "back_office":
        return 403
    return 303  # resident and anonymous: to the staff login page


async def test_every_route_refuses_who_must_be_refused(
    clients: dict[str, httpx.AsyncClient],
) -> None:
    signatory = await make_signatory("bibus", name="Bibus", adapter="simulated")
    world = await _world(clients["mediator"], signatory.id)
    # The other mediator has a resident of their own: it opens nothing of the first's.
    resident_id_of(await open_session(clients["other_mediator"], full_name="Jean Kervella"))
    failures: list[str] = []
    for case in CASES:
        for actor in ACTORS:
            client = clients[actor]
            path = case.path(world)
            data = case.data(world) if case.data else {}
            if case.method == "GET":
                response = await client.get(path)
            else:
                response = await post_form(client, path, data)
            expected = _expected(case, actor)
            if response.status_code != expected:
                failures.append(
                    f"{case.method} {path} as {actor}: {response.status_code} != {expected}"
                )
            elif expected == 303 and actor in ("resident", "anonymous"):
                assert response.headers["location"] == "/equipe/connexion"
            elif expected in (403, 404):
                assert "<html" in response.text and "lang=" in response.text
    assert not failures, "\n".join(failures)
    refused = await MediationEvent.filter(outcome="refused").count()
    assert refused >= len([c for c in CASES if c.other == 404])


async def test_an_expired_mandate_hides_the_resident_with_a_french_403(
    clients: dict[str, httpx.AsyncClient],
) -> None:
    signatory = await make_signatory("bibus", name="Bibus", adapter="simulated")
    world = await _world(clients["mediator"], signatory.id)
    await Mandate.filter(resident_id=world.rid).update(valid_until=clock.now() - timedelta(days=1))
    client = clients["mediator"]
    page = await client.get(f"/mediation/habitants/{world.rid}")
    assert page.status_code == 403
    assert "Le mandat de cette personne a expiré" in page.text
    filed = await post_form(
        client, f"/mediation/habitants/{world.rid}/demandes",
        {"kind": "erasure", "signatory": [str(signatory.id)]},
    )  # fmt: skip
    assert filed.status_code == 403
    assert "Yvonne" not in (await client.get("/mediation")).text
    # Renewing needs the person present: a new session, which opens the file again.
    assert (await client.get(f"/mediation/habitants/{world.rid}/seance")).status_code == 200
    renewed = await post_form(
        client, f"/mediation/habitants/{world.rid}/seance", session_form(mode="")
    )
    assert renewed.status_code == 303
    assert (await client.get(f"/mediation/habitants/{world.rid}")).status_code == 200
