"""A statement says how many rows it changed itself, not counting the rows database triggers
wrote (the dashboard's change log), on SQLite as on PostgreSQL."""

from __future__ import annotations

from starlette.applications import Starlette
from tortoise import connections
from tortoise.transactions import in_transaction

from desk.residents.models import Resident
from tests.factories import make_resident


async def test_an_update_of_a_watched_table_counts_its_own_rows(app: Starlette) -> None:
    first = await make_resident("un@exemple.invalid")
    await make_resident("deux@exemple.invalid")
    assert await Resident.filter(id=first.id).update(locale="en") == 1
    assert await Resident.all().update(locale="fr") == 2
    assert await Resident.filter(id=-1).update(locale="en") == 0
    async with in_transaction():
        assert await Resident.filter(id=first.id).update(locale="en") == 1
    _, rows = await connections.get("default").execute_query("SELECT count(*) FROM dash_change")
    assert tuple(rows[0])[0] >= 5
    assert await Resident.filter(id=first.id).delete() == 1
