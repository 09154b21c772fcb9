"""The worker's read of a delivery (built once, run for each id) gives what the ORM gives."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from tortoise.models import Model

from desk.requests import dispatch
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory


def _columns(model: Model) -> dict[str, Any]:
    return {name: getattr(model, name) for name in model._meta.db_fields}


async def test_each_delivery_comes_with_its_own_request_resident_and_signatory(
    app: Starlette,
) -> None:
    first = await make_resident()
    second = await make_resident("dominique@exemple.invalid")
    await make_signatory("eau")
    await make_signatory("bus")
    await file_request(resident_id=first.id, kind=RequestKind.DISCOVERY)
    await file_request(resident_id=second.id, kind=RequestKind.ERASURE)
    ids = sorted(d.id for d in await Delivery.all())
    assert len(ids) == 4
    for delivery_id in ids:
        loaded = await dispatch._load(delivery_id)
        expected = (
            await Delivery.filter(id=delivery_id)
            .select_related("request__resident", "signatory")
            .first()
        )
        assert loaded is not None and expected is not None
        assert _columns(loaded) == _columns(expected)
        assert _columns(loaded.request) == _columns(expected.request)
        assert _columns(loaded.request.resident) == _columns(expected.request.resident)
        assert _columns(loaded.signatory) == _columns(expected.signatory)
    assert {(await dispatch._load(i)).request.resident.id for i in ids} == {first.id, second.id}  # type: ignore[union-attr]


async def test_a_delivery_that_is_gone_is_none(app: Starlette) -> None:
    assert await dispatch._load(987_654) is None
