"""The delivery a transition locks (`SELECT … FOR UPDATE OF delivery` on PostgreSQL), with or
without its request, resident and signatory: the statements built once per database dialect
(Tortoise built the four-table join again with pypika at every transition)."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from desk.db_rows import BuiltSelect
from desk.requests.models import Delivery


def _locking(delivery_id: int, *, related: bool) -> QuerySet[Delivery]:
    query = Delivery.filter(id=delivery_id).select_for_update(of=("delivery",))
    return query.select_related("request__resident", "signatory") if related else query


_BUILT = {
    False: BuiltSelect(Delivery, lambda key: _locking(key, related=False), markers=1),
    True: BuiltSelect(Delivery, lambda key: _locking(key, related=True), markers=1),
}


async def locked(conn: BaseDBAsyncClient, delivery_id: int, *, related: bool) -> Delivery | None:
    """The delivery `delivery_id` read in the transaction `conn`, locked until it ends."""
    if Delivery._choose_db() is not conn:
        # A built statement runs on the context's connection; any other, as a query set.
        return await _locking(delivery_id, related=related).using_db(conn).first()
    found = await _BUILT[related].run(delivery_id)
    return found[0] if found else None
