"""The dashboard kept in memory shows every change at once, whoever makes it (issue 18).

Each test loads the page (so a copy is kept), makes one kind of change the page shows, loads
it again, and checks that the resident sees the change, exactly as a page built afresh shows
it. Real SQLite and PostgreSQL; one change is made by another process.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from desk.core import clock
from desk.mail.sink import MailSink
from desk.mediation.models import AssistedSession, Consent, IdentityCheck
from desk.outbox.worker import Worker
from desk.receipts.models import Receipt
from desk.registry.models import Signatory
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.residents.models import Resident
from desk.residents.pagecache import PageCache, delete_old_changes
from desk.staff.models import StaffMember, StaffRole
from tests.conftest import PG_URL
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.factories import make_signatory
from tests.helpers import partner_bearer

EMAIL = "camille@exemple.fr"
_KEY = re.compile(r'name="submission_key" value="([^"]+)"')
ERASED = {"result": "erased", "erased_categories": ["index"]}
HOLDS = {"holds_data": True, "declarations": [], "categories": ["contrat"]}


async def _seen(client: httpx.AsyncClient) -> str:
    page = await client.get("/mon-espace")
    assert page.status_code == 200
    return _KEY.sub('name="submission_key" value=""', page_text(page))


async def _afresh(app: Starlette, client: httpx.AsyncClient) -> str:
    """The page built from the database, no copy kept before."""
    app.state.dashboard_pages = PageCache()
    return await _seen(client)


async def _kept(app: Starlette, client: httpx.AsyncClient) -> str:
    """Load twice: the second load is served from the copy."""
    first = await _seen(client)
    assert len(app.state.dashboard_pages) == 1
    assert await _seen(client) == first
    return first


async def _assert_shown(
    app: Starlette, client: httpx.AsyncClient, before: str, *expected: str
) -> str:
    after = await _seen(client)
    assert after != before
    for text in expected:
        assert text in after, text
    assert after == await _afresh(app, client)
    return after


async def _resident(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, *, adapter: str = "email"
) -> tuple[Resident, list[Signatory]]:
    signatories = [
        await make_signatory("eau-du-ponant", name="Eau du Ponant", adapter=adapter),
        await make_signatory("bibus", name="Bibus", adapter=adapter),
    ]
    await log_in(client, worker, mail_sink, EMAIL)
    return await Resident.get(email=EMAIL), signatories


async def _delivery(resident: Resident, slug: str, kind: RequestKind) -> Delivery:
    return await Delivery.get(
        request__resident_id=resident.id, request__kind=kind, signatory__slug=slug
    )


async def test_a_filing_is_on_the_page_at_once(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _resident(client, worker, mail_sink)
    before = await _kept(app, client)
    assert "Savoir qui détient mes données" in before
    keys = {_KEY.findall((await client.get("/mon-espace")).text)[0] for _ in range(2)}
    # Each load gives its forms a new submission key: two loads file two requests.
    assert len(keys) == 2

    filed = await post_form(
        client, "/mon-espace/demandes", {"kind": "discovery", "submission_key": "k" * 22}
    )
    assert filed.status_code == 303
    request = await RightsRequest.get(resident__email=EMAIL)
    await _assert_shown(app, client, before, f"(référence {request.reference})")


async def test_a_partners_answer_through_the_api_is_on_the_page_at_once(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, _ = await _resident(client, worker, mail_sink)
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await worker.run_until_idle()
    before = await _kept(app, client)
    delivery = await _delivery(resident, "eau-du-ponant", RequestKind.DISCOVERY)
    auth = await partner_bearer(client, "eau-du-ponant")
    answered = await client.post(
        f"/api/v1/deliveries/{delivery.id}/fulfil", json={"outcome": HOLDS}, headers=auth
    )
    assert answered.status_code == 200, answered.text
    await _assert_shown(
        app, client, before, "Détiennent des données sur vous (1)", "1 signataire sur 2 a répondu."
    )


async def test_the_workers_transitions_are_on_the_page_at_once(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, _ = await _resident(client, worker, mail_sink, adapter="simulated")
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    before = await _kept(app, client)
    await worker.run_until_idle()
    await _assert_shown(app, client, before)


async def test_a_withdrawal_is_on_the_page_at_once(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, _ = await _resident(client, worker, mail_sink)
    request = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    await worker.run_until_idle()
    before = await _kept(app, client)
    delivery = await _delivery(resident, "bibus", RequestKind.ERASURE)
    withdrawn = await post_form(
        client,
        f"/mon-espace/demandes/{request.reference}/retirer",
        {"delivery": str(delivery.id)},
    )
    assert withdrawn.status_code == 303
    # The page it leads to says so (its one-time message read there).
    assert (await client.get(withdrawn.headers["location"])).status_code == 200
    assert (await Delivery.get(id=delivery.id)).state == "withdrawn"
    await _assert_shown(app, client, before)


async def test_a_receipt_and_an_answer_from_another_process_are_on_the_page_at_once(
    app: Starlette,
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    database_url: str,
) -> None:
    resident, _ = await _resident(client, worker, mail_sink)
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    await worker.run_until_idle()
    before = await _kept(app, client)
    delivery = await _delivery(resident, "bibus", RequestKind.ERASURE)
    script = (
        "import asyncio\n"
        "from desk.db import connected\n"
        "from desk.requests import transitions\n"
        "from desk.runtime import Runtime\n"
        "from desk.settings import Settings\n"
        "async def main():\n"
        f"    settings = Settings(database_url={database_url!r}, "
        f"secret_key={app.state.settings.secret_key!r}, "
        f"data_dir=__import__('pathlib').Path({str(app.state.settings.data_dir)!r}))\n"
        "    runtime = Runtime.build(settings)\n"
        "    async with connected(settings.database_url):\n"
        f"        await transitions.fulfil(delivery_id={delivery.id}, actor='partner', "
        f"outcome={ERASED!r}, keyring=runtime.keyring, issuer=runtime.issuer)\n"
        "asyncio.run(main())\n"
    )
    done = await _python(script)
    assert done.returncode == 0, done.stderr
    receipt = await Receipt.get(delivery_id=delivery.id)
    await _assert_shown(app, client, before, f'href="/recus/{receipt.id}"')


async def test_a_signatory_renamed_is_on_the_page_at_once(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, _ = await _resident(client, worker, mail_sink)
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await worker.run_until_idle()
    before = await _kept(app, client)
    await Signatory.filter(slug="bibus").update(name="Bibus, réseau de transport")
    await _assert_shown(app, client, before, "Bibus, réseau de transport")


async def test_a_mediator_asking_is_shown_at_once_and_no_longer_once_it_lapses(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, _ = await _resident(client, worker, mail_sink)
    before = await _kept(app, client)
    mediator = await StaffMember.create(
        email="mediatrice@guichet.exemple.invalid", display_name="Maëlle", role=StaffRole.MEDIATOR
    )
    closes = clock.now() + timedelta(seconds=2)
    await AssistedSession.create(
        mediator=mediator,
        resident=resident,
        consent=Consent.AWAITING,
        opened_at=clock.now(),
        closes_at=closes,
        identity_check=IdentityCheck.DOCUMENT_SHOWN,
    )
    asked = await _assert_shown(app, client, before, "Un médiateur demande à vous accompagner")
    # The copy kept now is not shown once the mediator's request has lapsed.
    assert await _seen(client) == asked
    await asyncio.sleep((closes - clock.now()).total_seconds() + 0.2)
    assert "Un médiateur demande à vous accompagner" not in await _seen(client)


@pytest.mark.skipif(not PG_URL, reason="DESK_TEST_DATABASE_URL not set")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_change_committed_late_on_postgresql_is_on_the_page(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    """A transaction that took its change number before another's, and commits after the page
    was kept: the newest number alone would not tell."""
    resident, _ = await _resident(client, worker, mail_sink)
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await worker.run_until_idle()
    before = await _kept(app, client)
    slow = await _delivery(resident, "eau-du-ponant", RequestKind.DISCOVERY)
    quick = await _delivery(resident, "bibus", RequestKind.DISCOVERY)
    pool = connections.get("default")._pool
    async with pool.acquire() as conn:
        late = conn.transaction()
        await late.start()
        await conn.execute("UPDATE delivery SET state = 'failed' WHERE id = $1", slow.id)
        runtime = app.state.runtime
        await transitions.fulfil(
            delivery_id=quick.id,
            actor="partner",
            outcome=HOLDS,
            keyring=runtime.keyring,
            issuer=runtime.issuer,
        )
        between = await _seen(client)
        assert between != before
        await late.commit()
    assert (await Delivery.get(id=slow.id)).state == "failed"
    await _assert_shown(app, client, between)


async def test_old_changes_are_pruned_and_pages_stay_right(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, _ = await _resident(client, worker, mail_sink)
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await worker.run_until_idle()
    before = await _kept(app, client)
    # Every change row goes (as if older than the copies' lifetime): the revision is then
    # unknown, not an old one.
    assert await delete_old_changes(minutes=-1) > 0
    assert await _seen(client) == before
    runtime = app.state.runtime
    await transitions.fulfil(
        delivery_id=(await _delivery(resident, "bibus", RequestKind.DISCOVERY)).id,
        actor="partner",
        outcome=HOLDS,
        keyring=runtime.keyring,
        issuer=runtime.issuer,
    )
    await _assert_shown(app, client, before, "Détiennent des données sur vous (1)")


async def test_a_closed_account_sees_the_login_page_not_its_copy(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    resident, _ = await _resident(client, worker, mail_sink)
    await _kept(app, client)
    await Resident.filter(id=resident.id).delete()
    gone = await client.get("/mon-espace")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/connexion"


async def _python(script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in another Python process (another connection to the same database)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
