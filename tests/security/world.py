"""One small world for the security tests: people of every role, logged in for real, and the
objects they own or must not see (requests, deliveries, copies, receipts, a mandate, an alert)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from desk.charter import selfeval
from desk.charter.alerts import signatory_token
from desk.charter.models import Alert, AlertLevel
from desk.core import clock
from desk.mail.sink import MailSink
from desk.mediation import services as mediation
from desk.mediation.models import IdentityCheck
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.registry.models import Signatory
from desk.requests import transitions
from desk.requests.effects import UploadedFile
from desk.requests.links import answer_token
from desk.requests.models import AccessCopy, Delivery, DeliveryEvent, RequestKind
from desk.requests.services import file_request
from desk.residents.models import Resident
from desk.staff.models import StaffMember
from tests.desk.residents.helpers import log_in
from tests.desk.staff.support import staff_log_in
from tests.factories import make_signatory
from tests.helpers import partner_bearer

ANON = "anonymous"
RES_A = "resident A"
RES_B = "resident B"
MED_C = "mediator of C"
MED_0 = "mediator without mandate"
PART_X = "partner X"
PART_Y = "partner Y"
BACK = "back office"
COMMITTEE = "ethics committee"
ADMIN = "admin"
ROLES = (ANON, RES_A, RES_B, MED_C, MED_0, PART_X, PART_Y, BACK, COMMITTEE, ADMIN)

EMAIL_A = "anne.matrice@exemple.invalid"
EMAIL_B = "bruno.matrice@exemple.invalid"
C_NAME = "Corentin Kermatrice"
STAFF = {
    MED_C: ("med.c@guichet.exemple.invalid", "mediator"),
    MED_0: ("med.0@guichet.exemple.invalid", "mediator"),
    BACK: ("bo@guichet.exemple.invalid", "back_office"),
    COMMITTEE: ("comite@guichet.exemple.invalid", "committee"),
    ADMIN: ("admin@guichet.exemple.invalid", "admin"),
}
POSTAL_ADDRESS = "Service DPO\n1 place de la Liberté\n29200 Brest"
# These tests send many forms from one address on purpose: rate limits have their own tests.
GENEROUS_LIMITS: dict[str, Any] = {
    name: "10000 per minute"
    for name in (
        "rate_limit_login_per_email",
        "rate_limit_login_per_ip",
        "rate_limit_token_per_client",
        "rate_limit_token_per_ip",
        "rate_limit_answer_per_link",
        "rate_limit_answer_per_ip",
    )
}


@dataclass
class World:
    app: Starlette
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    staff: dict[str, StaffMember] = field(default_factory=dict)
    x: Signatory | None = None
    y: Signatory | None = None
    ids: dict[str, int | str] = field(default_factory=dict)

    @property
    def secret(self) -> str:
        return str(self.app.state.settings.secret_key)

    def answer_link(self, delivery_id: int, signatory_id: int) -> str:
        return answer_token(self.secret, delivery_id=delivery_id, signatory_id=signatory_id)

    def charter_link(self, signatory_id: int) -> str:
        return signatory_token(self.secret, signatory_id=signatory_id)


def _client(app: Starlette, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


async def bearer_headers(client: httpx.AsyncClient, slug: str) -> dict[str, str]:
    return await partner_bearer(client, slug)


async def _fulfil_with_copy(world: World, delivery_id: int, signatory_id: int) -> str:
    runtime = world.app.state.runtime
    await transitions.fulfil(
        delivery_id=delivery_id,
        actor="partner",
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        outcome={"holds_data": True},
        file=UploadedFile("export.json", "application/json", b'{"abonne": "oui"}'),
        signatory_id=signatory_id,
    )
    copy = await AccessCopy.get(delivery_id=delivery_id)
    return copy.id


async def _only_delivery(request_id: int) -> Delivery:
    return await Delivery.get(request_id=request_id)


@asynccontextmanager
async def build_world(app: Starlette, worker: Worker, mail_sink: MailSink) -> AsyncIterator[World]:
    """Every role's client, logged in through the real login links, and the objects."""
    async with AsyncExitStack() as stack:
        world = World(app=app)
        for role in ROLES:
            world.clients[role] = await stack.enter_async_context(_client(app))
        x = world.x = await make_signatory("eau-matrice", name="Eau Matrice")
        y = world.y = await make_signatory("bus-matrice", name="Bus Matrice")
        postal = await make_signatory("mairie-matrice", name="Mairie Matrice", adapter="postal")
        await Signatory.filter(id=postal.id).update(adapter_settings={"address": POSTAL_ADDRESS})

        await log_in(world.clients[RES_A], worker, mail_sink, EMAIL_A)
        await log_in(world.clients[RES_B], worker, mail_sink, EMAIL_B)
        for role, (email, staff_role) in STAFF.items():
            world.staff[role] = await staff_log_in(
                world.clients[role], worker, mail_sink, email=email, role=staff_role, name=role
            )
        for role, signatory in ((PART_X, x), (PART_Y, y)):
            world.clients[role].headers.update(
                await bearer_headers(world.clients[ANON], signatory.slug)
            )

        a = await Resident.get(email=EMAIL_A)
        main = await file_request(resident_id=a.id, kind=RequestKind.ACCESS, signatory_ids=[x.id])
        to_y = await file_request(resident_id=a.id, kind=RequestKind.ERASURE, signatory_ids=[y.id])
        kept = await file_request(
            resident_id=a.id, kind=RequestKind.DISCOVERY, signatory_ids=[x.id]
        )
        by_post = await file_request(
            resident_id=a.id, kind=RequestKind.DISCOVERY, signatory_ids=[postal.id]
        )
        await worker.run_until_idle()
        delivery_x = await _only_delivery(main.id)
        copy_a = await _fulfil_with_copy(world, delivery_x.id, x.id)
        event_a = await DeliveryEvent.get(delivery_id=delivery_x.id, action="fulfil")

        session, mandate = await mediation.open_session(
            mediator=world.staff[MED_C],
            identity_check=IdentityCheck.DOCUMENT_SHOWN,
            mandate=mediation.MandateInput(
                kinds=list(RequestKind), signatory_ids=None, months=3, paper_signed=True
            ),
            contact=mediation.ContactInput(
                full_name=C_NAME, street="3 rue de Kerbonne", postcode="29200", city="Brest"
            ),
        )
        c_id = session.resident_id  # type: ignore[attr-defined]
        c_request = await mediation.file_for_resident(
            mediator=world.staff[MED_C],
            resident_id=c_id,
            kind=RequestKind.ACCESS,
            signatory_ids=[x.id],
        )
        await worker.run_until_idle()
        delivery_c = await _only_delivery(c_request.id)
        copy_c = await _fulfil_with_copy(world, delivery_c.id, x.id)
        event_c = await DeliveryEvent.get(delivery_id=delivery_c.id, action="fulfil")

        alert = await Alert.create(
            signatory_id=x.id,
            level=AlertLevel.EXCLUSION_PROPOSED,
            reason="Trois demandes sans réponse.",
            created_at=clock.now(),
        )
        await selfeval.submit(
            signatory_id=x.id,
            year=clock.local(clock.now()).year,
            answers={key: {"answer": "yes", "comment": ""} for key, _ in selfeval.QUESTIONS},
            now=clock.now(),
        )
        receipt = await Receipt.filter().order_by("issued_at").first()
        assert receipt is not None
        job = await OutboxJob.filter().order_by("id").first()
        assert job is not None
        world.ids.update(
            a_id=a.id,
            reference=main.reference,
            delivery_x=delivery_x.id,
            event_a=event_a.id,
            delivery_c=delivery_c.id,
            kept_reference=kept.reference,
            kept_delivery=(await _only_delivery(kept.id)).id,
            withdraw_reference=to_y.reference,
            withdraw_delivery=(await _only_delivery(to_y.id)).id,
            postal_delivery=(await _only_delivery(by_post.id)).id,
            copy_a=copy_a,
            c_id=c_id,
            c_reference=c_request.reference,
            mandate_c=mandate.id,
            copy_c=copy_c,
            event_c=event_c.id,
            alert=alert.id,
            receipt=str(receipt.id),
            job=job.id,
            x=x.id,
            y=y.id,
            year=clock.local(clock.now()).year,
            nonce=secrets.token_hex(4),
        )
        yield world
