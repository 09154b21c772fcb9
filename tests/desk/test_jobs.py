from __future__ import annotations

from datetime import timedelta

from desk.core import clock
from desk.identity.models import LoginChallenge
from desk.outbox.worker import Worker


async def test_worker_housekeeping_deletes_expired_login_addresses(worker: Worker) -> None:
    old = await LoginChallenge.create(id="old", email="ancien@exemple.invalid")
    await LoginChallenge.filter(id=old.id).update(created_at=clock.now() - timedelta(hours=1))
    await LoginChallenge.create(id="fresh", email="recent@exemple.invalid")
    await worker.maintain()
    assert [c.id for c in await LoginChallenge.all()] == ["fresh"]
