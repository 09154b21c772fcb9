"""A partner's delivery read by a SELECT built once per dialect (desk.db_rows.BuiltSelect) gives
the models the query set gives, and nothing for values that match no row."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from tortoise.models import Model

from desk.partners.answer_page import delivery_for
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.requests.transitions import DeliveryNotFound
from tests.factories import make_resident, make_signatory


def _columns(model: Model) -> dict[str, Any]:
    return {name: getattr(model, name) for name in model._meta.db_fields}


async def test_a_partners_delivery_is_read_as_the_query_set_reads_it(app: Starlette) -> None:
    first, second = await make_resident(), await make_resident("dominique@exemple.invalid")
    eau, bus = await make_signatory("eau"), await make_signatory("bus")
    await file_request(resident_id=first.id, kind=RequestKind.DISCOVERY)
    await file_request(resident_id=second.id, kind=RequestKind.ERASURE)
    deliveries = await Delivery.all().order_by("id")
    assert len(deliveries) == 4
    for d in deliveries:
        signatory_id: int = d.signatory_id  # type: ignore[attr-defined]
        loaded = await delivery_for(delivery_id=d.id, signatory_id=signatory_id)
        expected = await Delivery.get(id=d.id).select_related("request__resident", "signatory")
        assert _columns(loaded) == _columns(expected)
        assert _columns(loaded.request) == _columns(expected.request)
        assert _columns(loaded.request.resident) == _columns(expected.request.resident)
        assert _columns(loaded.signatory) == _columns(expected.signatory)
        other = bus.id if signatory_id == eau.id else eau.id
        with pytest.raises(DeliveryNotFound):
            await delivery_for(delivery_id=d.id, signatory_id=other)
    with pytest.raises(DeliveryNotFound):
        await delivery_for(delivery_id=987_654, signatory_id=eau.id)
