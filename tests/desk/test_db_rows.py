"""`by_id` gives the models the query set gives, and the inserts write what they are given,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from desk.core import clock
from desk.db_rows import _BY_ID, by_id, insert_returning, insert_rows
from desk.identity.models import WebSession
from desk.residents.models import Resident
from tests.factories import make_resident


def _fields(model: object) -> dict[str, object]:
    return {k: v for k, v in vars(model).items() if not k.startswith("_") or k == "_saved_in_db"}


async def test_a_row_by_its_key_is_the_query_sets_model(app: Starlette) -> None:
    resident = await make_resident("camille@exemple.invalid")
    now = clock.now()
    await WebSession.create(
        id="a" * 64,
        data={"resident_id": resident.id, "nested": {"x": [1, 2]}},
        resident_id=resident.id,
        last_seen_at=now,
        expires_at=now + timedelta(hours=1),
    )
    for model, key in ((Resident, resident.id), (WebSession, "a" * 64)):
        expected = await model.filter(pk=key).first()
        found = await by_id(model, key)
        assert found is not None and expected is not None
        assert type(found) is type(expected)
        assert _fields(found) == _fields(expected)
        # Read through the statement built once, not the query set's fallback.
        assert _BY_ID[model].built[model._choose_db().capabilities.dialect] is not None
        assert await by_id(model, key) is not None
    assert await by_id(Resident, resident.id + 1000) is None
    assert await by_id(WebSession, "b" * 64) is None


async def test_rows_sharing_values_are_each_converted_whole(app: Starlette) -> None:
    """Rows written together share value objects (a filing's times, its events' detail): each
    row still gets its own values, converted as the field converts them."""
    resident = await make_resident("camille@exemple.invalid")
    now = clock.now()
    shared_data = {"resident_id": resident.id, "é": ["x", 1]}
    later = now + timedelta(hours=2)
    rows: list[dict[str, Any]] = [
        {"id": f"{n:064d}", "data": shared_data if n != 2 else {"n": n},
         "resident_id": resident.id, "last_seen_at": now, "created_at": now,
         "expires_at": later if n % 2 else now}
        for n in range(5)
    ]  # fmt: skip
    db = WebSession._choose_db()
    await insert_rows(WebSession, shared={}, rows=rows, connection=db)
    found = {s.id: s for s in await WebSession.all()}
    for row in rows:
        stored = found[row["id"]]
        assert stored.data == row["data"]
        assert stored.last_seen_at == now
        assert stored.expires_at == row["expires_at"]


async def test_inserts_of_any_size_are_one_statement_text_on_postgresql(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: rows go as one array per column (`unnest`), so a group of any size is the
    same statement, prepared once; every value still arrives (nulls, JSON, times), a taken key
    is skipped, and only the rows written are returned."""
    resident = await make_resident("camille@exemple.invalid")
    now = clock.now()
    db = WebSession._choose_db()
    sent: list[str] = []
    for method in ("execute_query", "execute_query_dict", "execute_many"):
        original = getattr(db, method)

        async def spy(query: str, values: Any = None, _original: Any = original) -> Any:
            sent.append(query)
            return await _original(query, values)

        monkeypatch.setattr(db, method, spy)

    def rows(first: int, count: int) -> list[dict[str, Any]]:
        return [
            {"id": f"{n:064d}", "data": {"n": n, "é": [None, "x"]},
             "resident_id": resident.id if n % 2 else None, "last_seen_at": now,
             "created_at": now, "expires_at": now + timedelta(minutes=n)}
            for n in range(first, first + count)
        ]  # fmt: skip

    written = await insert_returning(
        WebSession, shared={}, rows=rows(0, 1), returning=("id",), connection=db
    )
    assert [row["id"] for row in written] == [f"{0:064d}"]
    # Rows 0–2 again with 3–4: the taken keys are skipped and not returned.
    written = await insert_returning(
        WebSession, shared={}, rows=rows(0, 5), returning=("id",), connection=db,
        skip_conflicts=True,
    )  # fmt: skip
    assert sorted(row["id"] for row in written) == [f"{n:064d}" for n in range(1, 5)]
    await insert_rows(WebSession, shared={}, rows=rows(5, 1), connection=db)
    await insert_rows(WebSession, shared={}, rows=rows(6, 7), connection=db)
    found = {s.id: s for s in await WebSession.all()}
    for row in rows(0, 13):
        stored = found[row["id"]]
        assert stored.data == row["data"]
        assert stored.resident_id == row["resident_id"]
        assert stored.expires_at == row["expires_at"]
    if db.capabilities.dialect == "postgres":
        inserts = [q for q in sent if q.startswith("INSERT")]
        assert len(inserts) == 4
        assert inserts[0] == inserts[1].replace(" ON CONFLICT DO NOTHING", "")
        assert inserts[2] == inserts[3]
