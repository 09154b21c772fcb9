"""`by_id` gives the models the query set gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from starlette.applications import Starlette

from desk.core import clock
from desk.db_rows import _BY_ID, by_id
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
