"""Statistics against values computed here, independently, from generated deliveries."""

from __future__ import annotations

import math
import random
import statistics as pystats
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from desk.charter.models import Alert, AlertLevel
from desk.core import clock
from desk.registry.models import Signatory
from desk.requests.models import Delivery, DeliveryState, RequestKind, RightsRequest
from desk.statistics.figures import compute_statistics, percentile_nearest_rank
from tests.factories import make_resident, make_signatory

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)
STATES = [
    DeliveryState.FULFILLED, DeliveryState.FULFILLED, DeliveryState.DENIED,
    DeliveryState.SENT, DeliveryState.ACKNOWLEDGED, DeliveryState.EXTENDED,
    DeliveryState.WITHDRAWN,
]  # fmt: skip


@dataclass(frozen=True)
class Generated:
    slug: str
    kind: str
    state: DeliveryState
    received: datetime
    due: datetime
    completed: datetime | None


async def generate(count: int = 120, seed: int = 7) -> list[Generated]:
    """Deliveries across three signatories, received in and around the period; some late."""
    rng = random.Random(seed)
    resident = await make_resident()
    signatories = [
        await make_signatory(slug) for slug in ("eau-du-ponant", "bibus", "brest-habitat")
    ]
    generated = []
    for n in range(count):
        signatory = signatories[n % 3] if n % 10 else signatories[0]
        received = START - timedelta(days=20) + timedelta(hours=rng.randint(0, 24 * 200))
        due = clock.add_months(received, 1)
        state = rng.choice(STATES)
        completed = None
        if state in (DeliveryState.FULFILLED, DeliveryState.DENIED):
            completed = received + timedelta(hours=rng.randint(1, 24 * 45))
            if completed > NOW:
                state, completed = DeliveryState.SENT, None
        kind = rng.choice(list(RequestKind))
        request = await RightsRequest.create(
            reference=f"R{n:05d}", resident_id=resident.id, kind=kind
        )
        await Delivery.create(
            request_id=request.id,
            signatory_id=signatory.id,
            state=state,
            received_at=received,
            due_at=due,
            completed_at=completed,
        )
        generated.append(Generated(signatory.slug, kind.value, state, received, due, completed))
    for level, when in ((AlertLevel.REMINDER, START + timedelta(days=40)),
                        (AlertLevel.FORMAL_NOTICE, START - timedelta(days=3))):  # fmt: skip
        await Alert.create(
            signatory_id=signatories[1].id, level=level, reason="Retards", created_at=when
        )
    return generated


async def test_statistics_match_values_computed_independently(app: object) -> None:
    generated = await generate()
    result = {s.slug: s for s in await compute_statistics(start=START, end=END, now=NOW)}
    assert set(result) == {"eau-du-ponant", "bibus", "brest-habitat"}
    for slug, stats in result.items():
        mine = [g for g in generated if g.slug == slug and START <= g.received < END]
        answers = [g for g in mine if g.state in (DeliveryState.FULFILLED, DeliveryState.DENIED)]
        days = sorted(
            (g.completed - g.received).total_seconds() / 86400 for g in answers if g.completed
        )
        assert sum(stats.received_by_kind.values()) == len(mine)
        for kind in RequestKind:
            assert stats.received_by_kind[kind.value] == sum(1 for g in mine if g.kind == kind)
        assert stats.answered == len(answers)
        assert stats.median_days == pytest.approx(pystats.median(days))
        assert stats.p90_days == pytest.approx(days[math.ceil(0.9 * len(days)) - 1])
        on_time = sum(1 for g in answers if g.completed and g.completed <= g.due)
        assert stats.on_time_share == pytest.approx(on_time / len(answers))
        final = (DeliveryState.FULFILLED, DeliveryState.DENIED, DeliveryState.WITHDRAWN)
        still_open = [g for g in mine if g.state not in final]
        assert stats.open_now == len(still_open)
        assert stats.overdue_now == sum(1 for g in still_open if g.due < NOW)
        assert stats.alerts == (1 if slug == "bibus" else 0)
    assert sum(s.overdue_now for s in result.values()) > 0  # the data has late deliveries


async def test_signatory_without_deliveries_has_no_times_not_zero(app: object) -> None:
    await make_signatory("calme-plat")
    [stats] = await compute_statistics(start=START, end=END, now=NOW)
    assert stats.received == 0 and stats.answered == 0
    assert stats.median_days is None and stats.p90_days is None and stats.on_time_share is None


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile_nearest_rank(values, 0.9) == 9.0
    assert percentile_nearest_rank([5.0, 1.0, 3.0], 0.9) == 5.0
    assert percentile_nearest_rank([], 0.9) is None


async def test_statistics_page_shows_table_charts_and_overdue(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    await generate(60)
    response = await client.get("/statistiques")
    assert response.status_code == 200
    html = response.text
    assert "Eau Du Ponant" in html and "Délai pour 9 sur 10" in html
    assert html.count('role="img"') == 2 and "<title" in html and "<desc" in html
    assert "Données du graphique : Demandes reçues chaque mois" in html
    assert "<script" not in html
    assert await Signatory.all().count() == 3


async def test_statistics_page_without_any_request_says_so(client: httpx.AsyncClient) -> None:
    response = await client.get("/statistiques")
    assert response.status_code == 200
    assert "été transmise aux signataires pendant cette période" in response.text
