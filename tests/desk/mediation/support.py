"""Shared by the mediation tests: a logged-in mediator, the session form, simulated partners."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.models import Signatory
from desk.requests.models import Delivery
from desk.requests.states import FINAL_STATES
from desk.staff.models import StaffMember
from desk.staff.services import add_staff
from tests.desk.helppoints.support import directory_entry
from tests.desk.staff.support import post_form, staff_link
from tests.factories import make_signatory
from tests.helpers import form_token

HELP_POINT = "Espace numérique de Bellevue"


async def log_in_staff(
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    *,
    email: str = "mediatrice@guichet.exemple.invalid",
    name: str = "Maëlle Médiatrice",
    role: str = "mediator",
    help_point: str = HELP_POINT,
) -> StaffMember:
    if help_point:  # a mediator's help point is a published entry of the directory
        await directory_entry(help_point)
    staff = await add_staff(email=email, display_name=name, role=role, help_point=help_point)
    path = await staff_link(client, worker, mail_sink, email)
    assert (await client.get(path)).status_code == 200
    done = await client.post(path, data={"csrftoken": form_token(client)})
    assert done.status_code == 303
    return staff


def session_form(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    """A complete "open a session" form for a resident without email."""
    data: dict[str, str | list[str]] = {
        "mode": "sans_email",
        "full_name": "Yvonne Le Gall",
        "street": "3 rue de Kerbonne",
        "postcode": "29200",
        "city": "Brest",
        "identity_check": "document_shown",
        "kinds": ["discovery", "access", "erasure", "objection"],
        "scope": "all",
        "months": "3",
        "paper_signed": "1",
    }
    data.update(overrides)
    return data


async def open_session(
    client: httpx.AsyncClient, path: str = "/mediation/seance", **overrides: str | list[str]
) -> httpx.Response:
    return await post_form(client, path, session_form(**overrides))


def resident_id_of(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/mediation/habitants/")
    return int(location.rsplit("/", 1)[1])


async def two_simulated() -> tuple[Signatory, Signatory]:
    return (
        await make_signatory("eau-du-ponant", name="Eau du Ponant", adapter="simulated"),
        await make_signatory("bibus", name="Bibus", adapter="simulated"),
    )


async def run_until_final(worker: Worker, request_id: int) -> list[Delivery]:
    for _ in range(60):
        await worker.run_until_idle()
        deliveries = await Delivery.filter(request_id=request_id).prefetch_related("signatory")
        if all(d.state in FINAL_STATES for d in deliveries):
            return deliveries
        await asyncio.sleep(0.02)
    raise AssertionError("the simulated signatories never answered")


async def post(
    client: httpx.AsyncClient, path: str, data: Mapping[str, str | list[str]] | None = None
) -> httpx.Response:
    return await post_form(client, path, data or {})


def holding_slug() -> str:
    """A simulated signatory's slug that holds data about a resident without email."""
    from datetime import UTC, datetime

    from adapters.base import Envelope
    from adapters.simulated import holds_data

    moment = datetime(2025, 3, 1, tzinfo=UTC)
    for n in range(50):
        envelope = Envelope(
            delivery_id=1, request_reference="DSK-TEST", kind="access",
            signatory_slug=f"simule-{n}", signatory_name="x", identifiers={},
            received_at=moment, due_at=moment, answer_url="http://testserver/x",
            idempotency_key="k", state="acknowledged", declarations=[{"code": "t"}],
        )  # fmt: skip
        if holds_data(envelope):
            return f"simule-{n}"
    raise AssertionError("no simulated signatory holds data")
