"""The delivery a transition locks: the built statement's models are the query set's, on
SQLite and PostgreSQL, and it runs in the transition's own transaction."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from desk.requests import locking
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


async def test_the_locked_delivery_is_the_query_sets_read_in_the_transaction(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_signatory("eau-du-ponant")
    resident = await make_resident()
    await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
    [expected] = await Delivery.all().select_related("request__resident", "signatory")
    built: list[bool] = []
    real = locking._locking

    def spy(delivery_id: int, *, related: bool) -> object:
        built.append(related)
        return real(delivery_id, related=related)

    monkeypatch.setattr(locking, "_locking", spy)
    for related in (True, False):
        locking._BUILT[related].built.clear()
        async with in_transaction() as conn:
            first = await locking.locked(conn, expected.id, related=related)
            again = await locking.locked(conn, expected.id, related=related)
        assert first is not None and again is not None
        assert (first.id, first.state, first.due_at) == (
            expected.id,
            expected.state,
            expected.due_at,
        )
        if related:
            assert first.request.resident.email == expected.request.resident.email
            assert first.signatory.slug == expected.signatory.slug
        async with in_transaction() as conn:
            assert await locking.locked(conn, expected.id + 1000, related=related) is None
    # Built once per shape, then run with each id in the transaction's connection.
    assert built == [True, False]
