"""PostgreSQL: a transaction that writes jobs several times notifies the workers once (one
notification is delivered at commit however many were sent; each was a round trip)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

from desk.outbox import services
from desk.outbox.models import OutboxJob


async def test_a_transaction_notifies_the_workers_once(
    app: Starlette, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY")
    sent: list[str] = []

    async with in_transaction() as conn:
        assert isinstance(conn, TransactionalDBClient)
        script = conn.execute_script

        async def counted(query: str) -> Any:
            sent.append(query)
            return await script(query)

        monkeypatch.setattr(conn, "execute_script", counted)
        for n in range(3):
            rows = [{"kind": "ok", "idempotency_key": f"k-{n}", "payload": {}}]
            await services.enqueue_rows(rows=rows, connection=conn)
        async with in_transaction() as inner:
            # A savepoint of its own: its notification would go with it, were it rolled back.
            monkeypatch.setattr(inner, "execute_script", counted)
            await services.enqueue_rows(
                rows=[{"kind": "ok", "idempotency_key": "inner", "payload": {}}],
                connection=inner,
            )
    assert sent == [f"NOTIFY {services.WAKE_CHANNEL}"] * 2
    assert await OutboxJob.all().count() == 4
