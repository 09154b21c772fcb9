"""Filing writes its rows as tuples (desk.db_rows) and finds a repeated submission key by
its unique index: the rows must be the ones the ORM wrote, a double submission still gives one
request, and a filing that fails half-way leaves nothing behind."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.exceptions import IntegrityError

from desk.core import clock
from desk.core.errors import DeskError
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.wakeup import listen_dsn
from desk.requests.audit import verify_events
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind, RightsRequest
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


async def test_a_filing_to_many_signatories_writes_whole_rows_that_verify(app: Starlette) -> None:
    resident = await make_resident()
    signatories = [await make_signatory(f"organisme-{n:02d}") for n in range(12)]
    before = clock.now()
    request = await file_request(
        resident_id=resident.id,
        kind=RequestKind.ERASURE,
        signatory_ids=[s.id for s in signatories],
        signatories_checked=True,
    )
    deliveries = await Delivery.filter(request=request).order_by("id")
    assert sorted(d.signatory_id for d in deliveries) == sorted(s.id for s in signatories)  # type: ignore[attr-defined]
    for d in deliveries:
        assert d.state == DeliveryState.PENDING
        assert before <= d.received_at <= clock.now()
        assert d.due_at == clock.add_months(d.received_at, 1)
        assert d.updated_at == d.received_at
        assert d.info_identity is False
        assert (d.outcome, d.completed_at, d.dispatch_ref, d.paused_since) == (None,) * 4
    events = await DeliveryEvent.filter(delivery__request=request).order_by("delivery_id")
    assert [e.delivery_id for e in events] == [d.id for d in deliveries]  # type: ignore[attr-defined]
    assert {(e.action, e.actor, e.from_state, e.to_state) for e in events} == {
        ("file", "resident", "pending", "pending")
    }
    assert all(e.detail == {} and e.at == events[0].at for e in events)
    checked, problems = await verify_events()
    assert checked == len(deliveries) and problems == []
    jobs = await OutboxJob.filter(kind="delivery.dispatch").order_by("id")
    assert [(j.idempotency_key, j.payload, j.state) for j in jobs] == [
        (f"dispatch-{d.id}", {"delivery_id": d.id}, JobState.PENDING) for d in deliveries
    ]


async def test_a_double_submission_at_the_same_moment_files_one_request(app: Starlette) -> None:
    resident = await make_resident()
    await make_signatory("eau")
    await make_signatory("bus")
    filed = await asyncio.gather(
        *(
            file_request(resident_id=resident.id, kind=RequestKind.ERASURE, submission_key="k2")
            for _ in range(3)
        )
    )
    assert len({r.id for r in filed}) == 1
    assert await RightsRequest.all().count() == 1
    assert await Delivery.all().count() == 2
    assert await DeliveryEvent.all().count() == 2
    assert await OutboxJob.filter(kind="delivery.dispatch").count() == 2


async def test_another_residents_submission_key_is_refused_in_french(app: Starlette) -> None:
    first, other = await make_resident(), await make_resident("dominique@exemple.invalid")
    await make_signatory("eau")
    await file_request(resident_id=first.id, kind=RequestKind.ERASURE, submission_key="k3")
    with pytest.raises(DeskError) as refused:
        await file_request(resident_id=other.id, kind=RequestKind.ERASURE, submission_key="k3")
    assert refused.value.message == "Cette demande a déjà été envoyée."
    assert await RightsRequest.filter(resident_id=other.id).count() == 0
    assert await Delivery.all().count() == 1


async def test_a_filing_that_fails_half_way_leaves_nothing(app: Starlette) -> None:
    """Its dispatch job's key is taken: the last rows a filing writes fail, on every path
    (one trip on SQLite, one statement on PostgreSQL), and nothing is left behind."""
    resident = await make_resident()
    await make_signatory("eau")
    # Both databases give an empty table's first row the id 1 (the tests' tables are new).
    taken = await OutboxJob.create(
        kind="other", idempotency_key="dispatch-1", run_after=clock.now()
    )
    with pytest.raises(IntegrityError):
        await file_request(resident_id=resident.id, kind=RequestKind.ERASURE, submission_key="k4")
    assert await RightsRequest.all().count() == 0
    assert await Delivery.all().count() == 0
    assert await DeliveryEvent.all().count() == 0
    assert await OutboxJob.all().count() == 1
    await taken.delete()
    again = await file_request(
        resident_id=resident.id, kind=RequestKind.ERASURE, submission_key="k4"
    )
    assert await Delivery.filter(request=again).count() == 1


async def test_filings_at_the_same_moment_are_each_whole_and_one_bad_one_fails_alone(
    app: Starlette,
) -> None:
    """Concurrent filings are written together (desk.requests.filing): each still gets its own
    request, deliveries, events and jobs; one whose resident is gone fails for its caller only;
    a double submission among them still gives one request."""
    residents = [await make_resident(f"r{n}@exemple.invalid") for n in range(6)]
    signatories = [await make_signatory(f"organisme-{n}") for n in range(3)]

    async def one(n: int) -> RightsRequest:
        resident_id = residents[1 if n in (7, 8) else n % 6].id if n != 4 else 999_999
        return await file_request(
            resident_id=resident_id,
            kind=RequestKind.ERASURE,
            signatory_ids=[s.id for s in signatories[: 1 + n % 3]],
            submission_key="same" if n in (7, 8) else None,
            signatories_checked=True,
        )

    filed = await asyncio.gather(*(one(n) for n in range(12)), return_exceptions=True)
    failed = [n for n, r in enumerate(filed) if isinstance(r, BaseException)]
    assert failed == [4]
    requests = [r for r in filed if isinstance(r, RightsRequest)]
    assert requests[6].id == requests[7].id  # filings 7 and 8: the same submission key
    assert await RightsRequest.all().count() == 10
    for n, request in enumerate(filed):
        if isinstance(request, RightsRequest):
            stored = await RightsRequest.get(id=request.id)
            assert stored.reference == request.reference
            count = await Delivery.filter(request_id=request.id).count()
            assert count == 1 + (7 if n == 8 else n) % 3
    deliveries = await Delivery.all().order_by("id")
    jobs = await OutboxJob.filter(kind="delivery.dispatch").order_by("id")
    assert [j.payload for j in jobs] == [{"delivery_id": d.id} for d in deliveries]
    checked, problems = await verify_events()
    assert checked == len(deliveries) and problems == []


async def test_a_filing_held_up_on_postgresql_does_not_hold_up_the_next_ones(
    app: Starlette, database_url: str
) -> None:
    """Two groups at once on PostgreSQL: a resident whose row another session has locked (an
    erasure of their account, a back-office edit) waits for it; the others' filings go on."""
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("SQLite writes one group at a time: one write lock for every process")
    held, other = await make_resident(), await make_resident("yann@exemple.invalid")
    signatory = await make_signatory("organisme-bloque")
    dsn = listen_dsn(database_url)
    assert dsn is not None
    session = await asyncpg.connect(dsn)
    try:
        lock = session.transaction()
        await lock.start()
        await session.execute("SELECT 1 FROM resident WHERE id = $1 FOR UPDATE", held.id)

        def filing(resident_id: int) -> asyncio.Task[RightsRequest]:
            return asyncio.create_task(
                file_request(
                    resident_id=resident_id,
                    kind=RequestKind.ERASURE,
                    signatory_ids=[signatory.id],
                    signatories_checked=True,
                )
            )

        waiting = filing(held.id)
        # Its group's statement is running, waiting for the lock (its request's foreign key).
        # Found by what it waits for: pg_stat_activity's text can still be that of asyncpg's
        # type introspection, sent on the same connection just before.
        for _ in range(600):
            if await session.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            ):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the first filing never reached the lock")
        # Bounded so a filing queued behind the held one fails the test rather than hanging.
        written = await asyncio.wait_for(filing(other.id), timeout=60)
        assert not waiting.done()
        assert await Delivery.filter(request_id=written.id).count() == 1
        await lock.rollback()
        first = await asyncio.wait_for(waiting, timeout=60)
        assert first.resident_id == held.id  # type: ignore[attr-defined]
        assert await Delivery.filter(request_id=first.id).count() == 1
    finally:
        await session.close()
    checked, problems = await verify_events()
    assert checked == 2 and problems == []
