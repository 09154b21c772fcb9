"""Shared by the charter tests: a clock the test moves, and small builders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from desk.core import clock
from desk.registry.models import Signatory
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from tests.helpers import partner_bearer


class Clock:
    """Stands in for desk.core.clock.now: time moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


def install_clock(monkeypatch: pytest.MonkeyPatch, start: datetime | None = None) -> Clock:
    fake = Clock(start or datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(clock, "now", fake)
    return fake


async def one_delivery(
    signatory: Signatory, resident_id: int, kind: RequestKind = RequestKind.DISCOVERY
) -> Delivery:
    request = await file_request(resident_id=resident_id, kind=kind, signatory_ids=[signatory.id])
    return await Delivery.get(request_id=request.id, signatory_id=signatory.id)


async def bearer(client: httpx.AsyncClient, slug: str) -> dict[str, str]:
    return await partner_bearer(client, slug)
