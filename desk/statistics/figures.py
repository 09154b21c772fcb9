"""How well each signatory answers: figures for /statistiques, the annual report and open data.

Definitions (published on the page, so anyone can recompute them):
- the period is [start, end): a delivery belongs to it when it was *received* in it;
- an answer is a final answer of the signatory: state fulfilled or denied (a withdrawal by the
  resident is not an answer); response time = completed_at - received_at, in days;
- median: the usual median (mean of the two middle values for an even count);
- 90th percentile: nearest-rank method, the ceil(0.9 x n)-th smallest response time;
- on time: completed_at <= due_at, among answers;
- open now: deliveries of the period not in a final state (fulfilled, denied, withdrawn) at `now`;
  overdue now: open now and due_at < now, unless the deadline is paused for the resident's
  answer to a question about identity (due_at moves by the pause once answered);
- alerts: Alert rows created in the period.

Three queries whatever the number of signatories: signatories, the period's deliveries (a few
columns), alerts counted per signatory.
"""

from __future__ import annotations

import math
import statistics as pystats
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from tortoise.functions import Count

from desk.charter.models import Alert
from desk.core import clock
from desk.registry.models import Signatory
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.states import FINAL_STATES
from desk.statistics import sql as statistics_sql

ANSWER_STATES = frozenset({DeliveryState.FULFILLED, DeliveryState.DENIED})
KINDS = tuple(k.value for k in RequestKind)
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class SignatoryStats:
    slug: str
    name: str
    received_by_kind: dict[str, int]
    answered: int
    median_days: float | None
    p90_days: float | None
    on_time_share: float | None
    open_now: int
    overdue_now: int
    alerts: int

    @property
    def received(self) -> int:
        return sum(self.received_by_kind.values())


@dataclass(frozen=True)
class MonthPoint:
    """One month (Europe/Paris) of requests received, and how those were answered."""

    month: date
    received: int
    answered: int
    answered_on_time: int

    @property
    def on_time_share(self) -> float | None:
        return self.answered_on_time / self.answered if self.answered else None


@dataclass(frozen=True)
class Overview:
    start: datetime
    end: datetime
    now: datetime
    signatories: list[SignatoryStats]
    total: SignatoryStats
    months: list[MonthPoint] = field(default_factory=list)

    @property
    def has_deliveries(self) -> bool:
        return self.total.received > 0


def percentile_nearest_rank(values: list[float], q: float) -> float | None:
    """The ceil(q x n)-th smallest value (q in (0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    return float(pystats.median(values)) if values else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _month_of(moment: datetime) -> date:
    local = clock.local(moment)
    return date(local.year, local.month, 1)


def months_between(start: datetime, end: datetime) -> list[date]:
    """First days of the local months touched by [start, end)."""
    first = _month_of(start)
    last = _month_of(end - timedelta(seconds=1)) if end > start else first
    months: list[date] = []
    current = first
    while current <= last:
        months.append(current)
        current = (
            date(current.year + 1, 1, 1)
            if current.month == 12
            else date(current.year, current.month + 1, 1)
        )
    return months


@dataclass
class _Acc:
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    durations: list[float] = field(default_factory=list)
    on_time: int = 0
    open_now: int = 0
    overdue_now: int = 0
    alerts: int = 0

    def stats(self, slug: str, name: str) -> SignatoryStats:
        answered = len(self.durations)
        return SignatoryStats(
            slug=slug,
            name=name,
            received_by_kind=dict(self.by_kind),
            answered=answered,
            median_days=median(self.durations),
            p90_days=percentile_nearest_rank(self.durations, 0.9),
            on_time_share=self.on_time / answered if answered else None,
            open_now=self.open_now,
            overdue_now=self.overdue_now,
            alerts=self.alerts,
        )


async def compute_overview(*, start: datetime, end: datetime, now: datetime) -> Overview:
    start, end, now = _aware(start), _aware(end), _aware(now)
    if statistics_sql.supported():
        return await _overview_in_sql(start=start, end=end, now=now)
    signatories = await Signatory.all().order_by("name").values_list("id", "slug", "name")
    rows = await Delivery.filter(received_at__gte=start, received_at__lt=end).values_list(
        "signatory_id",
        "request__kind",
        "state",
        "received_at",
        "due_at",
        "completed_at",
        "paused_since",
    )
    alert_counts = (
        await Alert.filter(created_at__gte=start, created_at__lt=end)
        .annotate(n=Count("id"))
        .group_by("signatory_id")
        .values_list("signatory_id", "n")
    )
    accs: dict[int, _Acc] = defaultdict(_Acc)
    total = _Acc()
    months: dict[date, list[int]] = {m: [0, 0, 0] for m in months_between(start, end)}
    for signatory_id, kind, state, received_at, due_at, completed_at, paused in rows:
        acc = accs[int(signatory_id)]
        kind = str(getattr(kind, "value", kind))
        state = DeliveryState(str(getattr(state, "value", state)))
        received_at, due_at = _aware(received_at), _aware(due_at)
        point = months.setdefault(_month_of(received_at), [0, 0, 0])
        point[0] += 1
        for target in (acc, total):
            target.by_kind[kind] = target.by_kind.get(kind, 0) + 1
        if state in ANSWER_STATES and completed_at is not None:
            completed_at = _aware(completed_at)
            days = (completed_at - received_at).total_seconds() / SECONDS_PER_DAY
            on_time = completed_at <= due_at
            point[1] += 1
            point[2] += int(on_time)
            for target in (acc, total):
                target.durations.append(days)
                target.on_time += int(on_time)
        elif state not in FINAL_STATES:
            for target in (acc, total):
                target.open_now += 1
                # Not while the deadline is paused (desk.requests.pause).
                target.overdue_now += int(due_at < now and paused is None)
    for signatory_id, count in alert_counts:
        accs[int(signatory_id)].alerts = int(count)
        total.alerts += int(count)
    return Overview(
        start=start,
        end=end,
        now=now,
        signatories=[accs[int(sid)].stats(str(slug), str(name)) for sid, slug, name in signatories],
        total=total.stats("", "Tous les signataires"),
        months=[MonthPoint(m, *months[m]) for m in sorted(months)],
    )


async def _alert_counts(start: datetime, end: datetime) -> dict[int, int]:
    rows = (
        await Alert.filter(created_at__gte=start, created_at__lt=end)
        .annotate(n=Count("id"))
        .group_by("signatory_id")
        .values_list("signatory_id", "n")
    )
    return {int(sid): int(n) for sid, n in rows}


async def _overview_in_sql(*, start: datetime, end: datetime, now: datetime) -> Overview:
    """The same overview, counted by PostgreSQL (desk.statistics.sql)."""
    signatories = await Signatory.all().order_by("name").values_list("id", "slug", "name")
    found = await statistics_sql.aggregates(start=start, end=end, now=now)
    alerts = await _alert_counts(start, end)

    def stats(sid: int | None, slug: str, name: str) -> SignatoryStats:
        kinds = dict.fromkeys(KINDS, 0)
        for key in found["kinds"] if sid is None else [sid]:
            for kind, n in found["kinds"].get(key, {}).items():
                kinds[kind] = kinds.get(kind, 0) + n
        answered, on_time, median_days, p90_days = found["answers"].get(sid, (0, 0, None, None))
        opened = found["open"].values() if sid is None else [found["open"].get(sid, (0, 0))]
        return SignatoryStats(
            slug=slug,
            name=name,
            received_by_kind=kinds,
            answered=answered,
            median_days=median_days,
            p90_days=p90_days,
            on_time_share=on_time / answered if answered else None,
            open_now=sum(o for o, _ in opened),
            overdue_now=sum(late for _, late in opened),
            alerts=sum(alerts.values()) if sid is None else alerts.get(sid, 0),
        )

    months = {m: (0, 0, 0) for m in months_between(start, end)}
    months.update(found["months"])
    return Overview(
        start=start,
        end=end,
        now=now,
        signatories=[stats(int(sid), str(slug), str(name)) for sid, slug, name in signatories],
        total=stats(None, "", "Tous les signataires"),
        months=[MonthPoint(m, *months[m]) for m in sorted(months)],
    )


async def compute_statistics(
    *, start: datetime, end: datetime, now: datetime
) -> list[SignatoryStats]:
    """Per signatory (every signatory, by name), for deliveries received in [start, end)."""
    return (await compute_overview(start=start, end=end, now=now)).signatories


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """A calendar year as people in Brest live it (Europe/Paris), in UTC."""
    start = datetime(year, 1, 1, tzinfo=clock.PARIS).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=clock.PARIS).astimezone(UTC)
    return start, end


def last_twelve_months(now: datetime) -> tuple[datetime, datetime]:
    """From the first day of the month, eleven months ago (local time), to now."""
    local = clock.local(now)
    month_index = local.year * 12 + local.month - 1 - 11
    start = datetime(month_index // 12, month_index % 12 + 1, 1, tzinfo=clock.PARIS)
    return start.astimezone(UTC), now
