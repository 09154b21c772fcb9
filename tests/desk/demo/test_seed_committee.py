"""`desk seed` seats a demo ethics committee through the composition's service, once, and the
public committee page shows it by college."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.charter.models import CommitteeSeat
from desk.demo.committee import DEMO_SEATS
from desk.demo.seed import seed_demo


async def test_the_demo_committee_is_seated_once_and_shown(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await seed_demo()
    await seed_demo()
    assert await CommitteeSeat.all().count() == len(DEMO_SEATS)
    seated = AuditRecord.filter(actor="system:seed", action="committee.seat_added")
    assert await seated.count() == len(DEMO_SEATS)
    page = (await client.get("/charte/comite")).text
    assert "La composition du comité n&#39;est pas encore publiée." not in page
    for name, *_ in DEMO_SEATS:
        assert name in page
    assert "Habitants, dont des membres du jury citoyen" in page
