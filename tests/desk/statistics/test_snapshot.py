"""/statistiques served from the worker's snapshot while fresh, computed live otherwise."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from desk.outbox.worker import Worker
from desk.registry.models import Signatory
from desk.requests.models import Delivery, DeliveryState, RequestKind, RightsRequest
from desk.statistics import figures as statistics
from desk.statistics import snapshot as statistics_snapshot
from desk.statistics.models import StatisticsSnapshot
from tests.desk.charter.support import install_clock
from tests.desk.statistics.test_figures import END, NOW, START, generate


def received_total(html: str) -> int:
    found = re.search(r"<strong>(\d+)</strong> demandes reçues", html)
    assert found, "the page shows no total of requests received"
    return int(found.group(1))


def same_page(html: str) -> str:
    """The page without the numbers that only keep the charts' ids unique in the process."""
    return re.sub(r"chart-([td])\d+", r"chart-\1", html)


async def add_deliveries(count: int) -> None:
    signatory = await Signatory.get(slug="bibus")
    resident_id = await RightsRequest.all().first().values_list("resident_id", flat=True)
    for n in range(count):
        request = await RightsRequest.create(
            reference=f"N{n:05d}", resident_id=resident_id, kind=RequestKind.ACCESS
        )
        await Delivery.create(
            request_id=request.id,
            signatory_id=signatory.id,
            state=DeliveryState.SENT,
            received_at=NOW - timedelta(days=2),
            due_at=NOW + timedelta(days=28),
        )


async def test_page_shows_the_workers_snapshot_until_it_is_too_old(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = install_clock(monkeypatch, NOW)
    await generate(30)
    await worker.maintain()  # the periodic tasks, as the worker runs them
    snapshot = await StatisticsSnapshot.get(key="last-12-months:2025-07")
    assert snapshot.computed_at == NOW
    before = received_total((await client.get("/statistiques")).text)

    await add_deliveries(4)
    moment.advance(minutes=10)
    html = (await client.get("/statistiques")).text
    assert received_total(html) == before  # the snapshot's figures, not today's
    assert "Chiffres calculés le 15 juin 2026 à 14:00 (heure de Paris)" in html

    # Another period has no snapshot: computed live, with the new deliveries.
    other = await statistics_snapshot.overview(
        key=statistics_snapshot.period_key(START, END),
        start=START,
        end=END,
        now=moment(),
        max_age=app.state.settings.statistics_max_age,
    )
    in_period = await Delivery.filter(received_at__gte=START, received_at__lt=END).count()
    assert other.total.received == in_period
    assert await StatisticsSnapshot.filter(key=statistics_snapshot.period_key(START, END)).exists()

    moment.advance(seconds=app.state.settings.statistics_max_age)
    html = (await client.get("/statistiques")).text
    assert received_total(html) == before + 4
    assert "Chiffres calculés le 15 juin 2026 à 14:25 (heure de Paris)" in html
    english = (await client.get("/statistiques", headers={"accept-language": "en"})).text
    assert "Figures computed on 15 June 2026 at 14:25 (Paris time)" in english


async def test_page_from_snapshot_is_the_page_computed_live(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_clock(monkeypatch, NOW)
    await generate(30)
    live = await client.get("/statistiques")  # no snapshot yet: computed, then stored
    assert await StatisticsSnapshot.all().count() == 1

    async def no_live_computation(**_: object) -> statistics.Overview:
        raise AssertionError("the page computed the figures again")

    monkeypatch.setattr(statistics, "compute_overview", no_live_computation)
    from_snapshot = await client.get("/statistiques")
    assert from_snapshot.status_code == live.status_code == 200
    assert same_page(from_snapshot.text) == same_page(live.text)
