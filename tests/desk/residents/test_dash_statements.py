"""The dashboard's change log (migrations 0020_dash, 0021_postgres_writes, 0023_dash_per_request):
one statement writing many rows of a resident notes that resident's page as changed, once on
PostgreSQL (statement triggers, each request looked up once), and a row moved to another
resident notes both pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.transactions import in_transaction

from desk.requests.models import Delivery, RequestKind, RightsRequest
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


async def _changes() -> list[tuple[int, int]]:
    """(resident, how many rows) of the change log, by resident."""
    _, rows = await connections.get("default").execute_query(
        "SELECT resident_id, count(*) FROM dash_change GROUP BY resident_id ORDER BY resident_id"
    )
    return [(int(r[0]), int(r[1])) for r in rows]


async def _clear() -> None:
    await connections.get("default").execute_query("DELETE FROM dash_change")


async def test_one_update_of_many_deliveries_notes_their_resident_once(app: Starlette) -> None:
    resident = await make_resident("un@exemple.invalid")
    other = await make_resident("deux@exemple.invalid")
    signatories = [await make_signatory(f"sig-{n}", name=f"Sig {n}") for n in range(3)]
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await file_request(resident_id=other.id, kind=RequestKind.DISCOVERY)
    assert await Delivery.filter(request__resident_id=resident.id).count() == len(signatories)
    await _clear()

    ids = await Delivery.filter(request__resident_id=resident.id).values_list("id", flat=True)
    assert await Delivery.filter(id__in=list(ids)).update(dispatch_ref="x") == len(signatories)

    changes = dict(await _changes())
    assert set(changes) == {resident.id}
    if connections.get("default").capabilities.dialect == "postgres":
        # The row trigger wrote one per delivery (three): one statement, one row now.
        assert changes[resident.id] == 1


async def test_a_statement_touching_nothing_notes_nothing(app: Starlette) -> None:
    resident = await make_resident("un@exemple.invalid")
    await make_signatory("sig", name="Sig")
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    await _clear()
    assert await Delivery.filter(id=-1).update(dispatch_ref="x") == 0
    assert await Delivery.filter(id=-1).delete() == 0
    assert await _changes() == []


async def test_a_request_moved_to_another_resident_notes_both(app: Starlette) -> None:
    first = await make_resident("un@exemple.invalid")
    second = await make_resident("deux@exemple.invalid")
    await make_signatory("sig", name="Sig")
    await file_request(resident_id=first.id, kind=RequestKind.DISCOVERY)
    await _clear()
    await RightsRequest.filter(resident_id=first.id).update(resident_id=second.id)
    assert {resident for resident, _ in await _changes()} == {first.id, second.id}


async def test_deleted_and_inserted_rows_note_their_resident(app: Starlette) -> None:
    resident = await make_resident("un@exemple.invalid")
    await make_signatory("sig", name="Sig")
    await _clear()
    await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
    assert {r for r, _ in await _changes()} == {resident.id}
    await _clear()
    await Delivery.filter(request__resident_id=resident.id).delete()
    assert {r for r, _ in await _changes()} == {resident.id}


async def test_a_filing_to_many_signatories_notes_its_resident_once_per_statement(
    app: Starlette,
) -> None:
    resident = await make_resident("un@exemple.invalid")
    for n in range(6):
        await make_signatory(f"sig-{n}", name=f"Sig {n}")
    await _clear()
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    assert await Delivery.filter(request__resident_id=resident.id).count() == 6
    changes = dict(await _changes())
    assert set(changes) == {resident.id}
    # SQLite: the request's row says it all (migration 0022), not one more per delivery;
    # PostgreSQL: one per statement, the request's and the deliveries'.
    sqlite = connections.get("default").capabilities.dialect == "sqlite"
    assert changes[resident.id] == (1 if sqlite else 2)


async def test_a_delivery_written_apart_from_its_request_notes_its_resident(
    app: Starlette,
) -> None:
    resident = await make_resident("un@exemple.invalid")
    first = await make_signatory("sig-1", name="Sig 1")
    request = await file_request(
        resident_id=resident.id, kind=RequestKind.ERASURE, signatory_ids=[first.id]
    )
    later = await make_signatory("sig-2", name="Sig 2")
    await _clear()
    stamp = request.created_at + timedelta(minutes=5)
    await Delivery.create(
        request_id=request.id, signatory_id=later.id, received_at=stamp, due_at=stamp,
        updated_at=stamp,
    )  # fmt: skip
    assert dict(await _changes()) == {resident.id: 1}


async def test_a_statement_over_many_deliveries_looks_each_request_up_once(
    app: Starlette,
) -> None:
    """The trigger looked a delivery's request up twice per row: 80 reads of one request for a
    filing to 40 signatories, each a sequential scan under a plan made on a small table."""
    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("PostgreSQL's statement triggers and per-transaction table statistics")
    resident = await make_resident("un@exemple.invalid")
    for n in range(8):
        await make_signatory(f"sig-{n}", name=f"Sig {n}")
    requests = [
        await file_request(resident_id=resident.id, kind=RequestKind.ERASURE) for _ in range(2)
    ]
    await _clear()
    scans = (
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables "
        "WHERE relname = 'rights_request'"
    )
    async with in_transaction() as connection:
        _, before = await connection.execute_query(scans)
        await connection.execute_query(
            "UPDATE delivery SET dispatch_ref = 'x' WHERE request_id IN ($1, $2)",
            [r.id for r in requests],
        )
        _, after = await connection.execute_query(scans)
    assert int(after[0][0]) - int(before[0][0]) <= len(requests)
    assert dict(await _changes()) == {resident.id: 1}
