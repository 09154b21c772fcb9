"""A simulated year: a clock the test moves day by day, hundreds of deliveries, one signatory
always late, one sometimes late. Every alert step, the exclusion proposal, the residents' notices
and the statistics are checked against expectations the test computes by itself."""

from __future__ import annotations

import calendar
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from desk.charter import alerts, committee, deadlines
from desk.charter.models import Alert, DecisionOutcome
from desk.mail.sink import MailSink
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import Worker
from desk.registry.models import CharterStatus, Signatory
from desk.requests import transitions
from desk.requests.models import Delivery, RequestKind
from desk.requests.services import file_request
from desk.runtime import Runtime
from desk.staff.services import add_staff
from desk.statistics.figures import compute_statistics
from tests.desk.charter.support import install_clock
from tests.factories import make_resident, make_signatory

PARIS = ZoneInfo("Europe/Paris")

# The simulated day ticks at 09:00 in Paris, so deadlines (same Paris time a month later) fall
# on ticks across daylight-saving changes.
START = datetime(2025, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


def tick(day: int) -> datetime:
    return (START + timedelta(days=day)).astimezone(UTC)


DAYS = 365
EVERY = 3  # a new request every three days, to every signatory still in the charter
LAST_FILING_DAY = 330
DECISION_DAY = 150  # the committee decides on the always-late signatory's proposal
SLUGS = ("ponctuel", "parfois", "toujours")


def month_later(moment: datetime) -> datetime:
    """One month later, written again here on purpose: same day on the Paris calendar at the
    same Paris time, or the month's last day."""
    local = moment.astimezone(ZoneInfo("Europe/Paris"))
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    shifted = local.replace(
        year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1])
    )
    return shifted.astimezone(moment.tzinfo)


def days_after(moment: datetime, days: int) -> datetime:
    """`days` later at the same Paris time (a tick of the simulated clock)."""
    return (moment.astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=days)).astimezone(UTC)


def answer_day(slug: str, n: int, received: datetime, due: datetime) -> datetime:
    """When the signatory answers its n-th delivery."""
    if slug == "toujours":
        return days_after(due, 10)
    if slug == "parfois" and n % 5 == 4:
        return days_after(due, 3)
    return days_after(received, n % 20 + 2)


@dataclass
class Planned:
    slug: str
    received: datetime
    due: datetime
    answer: datetime
    delivery_id: int = 0


@dataclass
class Expected:
    alerts: list[tuple[str, int, datetime, list[int]]] = field(default_factory=list)
    missed: set[int] = field(default_factory=set)
    told_excluded: set[int] = field(default_factory=set)


def model(plan: list[Planned], thresholds: alerts.Thresholds, decision_at: datetime) -> Expected:
    """The ladder, replayed on the plan alone (no database)."""
    expected = Expected()
    episodes: dict[str, list[tuple[int, datetime]]] = {slug: [] for slug in SLUGS}
    excluded = False
    for day in range(DAYS):
        now = tick(day)
        for p in plan:
            if p.received <= now and p.due < now and p.answer > now:
                expected.missed.add(p.delivery_id)
        for slug in SLUGS:
            if slug == "toujours" and excluded:
                continue
            mine = [p for p in plan if p.slug == slug and p.received <= now]
            overdue = sorted(p.delivery_id for p in mine if p.due < now and p.answer > now)
            late = sum(
                1
                for p in mine
                if now - timedelta(days=365) <= p.due < now and (p.answer > now or p.answer > p.due)
            )
            episode = episodes[slug]
            step = 0
            if not episode:
                step = 1 if overdue else 0
            elif not overdue:
                if episode[-1][0] < 3:
                    episode.clear()
            elif episode[-1][0] == 1:
                waited = now - episode[-1][1] >= timedelta(days=thresholds.formal_notice_days)
                step = 2 if waited or late >= thresholds.rolling_overdue else 0
            elif episode[-1][0] == 2:
                step = 3 if now - episode[-1][1] >= timedelta(days=thresholds.exclusion_days) else 0
            if step:
                episode.append((step, now))
                expected.alerts.append((slug, step, now, overdue))
        if now == decision_at:
            excluded = True
            episodes["toujours"].clear()
            expected.told_excluded = {
                p.delivery_id
                for p in plan
                if p.slug == "toujours" and p.received <= now and p.answer > now
            }
    return expected


async def test_a_simulated_year(
    app: object, worker: Worker, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CPU time, not wall time: the test machine is shared, the work is what must stay small.
    began = time.process_time()
    runtime: Runtime = worker.context
    thresholds = alerts.Thresholds.from_settings(runtime.settings)
    fake = install_clock(monkeypatch, tick(0))
    signatories: dict[str, Signatory] = {}
    for slug in SLUGS:
        signatory = await make_signatory(slug, adapter="postal")
        signatory.adapter_settings = {"address": f"DPO {slug}\n1 rue de Siam\n29200 Brest"}
        await signatory.save()
        signatories[slug] = signatory
    member = await add_staff(
        email="comite@exemple.invalid", display_name="Comité", role="committee"
    )
    by_id = {s.id: slug for slug, s in signatories.items()}
    plan: list[Planned] = []
    counts = dict.fromkeys(SLUGS, 0)
    decision_at = tick(DECISION_DAY)

    for day in range(DAYS):
        now = fake.moment = tick(day)
        for p in plan:
            if p.answer == now:
                await transitions.fulfil(
                    delivery_id=p.delivery_id,
                    actor="sim",
                    keyring=runtime.keyring,
                    issuer=runtime.issuer,
                    outcome={"holds_data": False},
                )
        if day % EVERY == 0 and day <= LAST_FILING_DAY:
            # Residents without email (assisted): their notices are decided, not mailed, which
            # keeps a year under the time budget; test_deadlines checks the mails themselves.
            resident = await make_resident(None)
            request = await file_request(resident_id=resident.id, kind=RequestKind.DISCOVERY)
            for delivery in await Delivery.filter(request_id=request.id):
                slug = by_id[delivery.signatory_id]  # type: ignore[attr-defined]
                due = month_later(now)
                assert delivery.due_at == due
                plan.append(
                    Planned(slug, now, due, answer_day(slug, counts[slug], now, due), delivery.id)
                )
                counts[slug] += 1
        await deadlines.run(now=now)
        await alerts.evaluate_alerts(now=now, thresholds=thresholds)
        if now == decision_at:
            proposal = await Alert.get(signatory_id=signatories["toujours"].id, level=3)
            await committee.decide(
                alert_id=proposal.id,
                member_id=member.id,
                outcome=DecisionOutcome.EXCLUDED,
                reasoning="En retard sur chaque demande malgré deux alertes.",
                now=now,
            )
        await worker.run_until_idle()
    assert len(plan) >= 250
    expected = model(plan, thresholds, decision_at)

    # Every alert step, in order, with its day and its deliveries.
    actual = [
        (by_id[a.signatory_id], int(a.level), a.created_at, sorted(a.delivery_ids))  # type: ignore[attr-defined]
        for a in await Alert.all().order_by("created_at", "id")
    ]
    assert sorted(actual, key=lambda a: (a[2], a[0])) == sorted(
        expected.alerts, key=lambda a: (a[2], a[0])
    )
    levels = {slug: [lvl for s, lvl, _, _ in actual if s == slug] for slug in SLUGS}
    assert levels["ponctuel"] == []
    assert levels["toujours"] == [1, 2, 3]  # then excluded by the committee
    assert 2 in levels["parfois"] and 3 not in levels["parfois"]
    assert len(levels["parfois"]) > 10
    await signatories["toujours"].refresh_from_db()
    assert signatories["toujours"].charter_status == CharterStatus.EXCLUDED
    assert not [p for p in plan if p.slug == "toujours" and p.received > decision_at]

    # Residents: one missed-deadline notice per late delivery, one exclusion notice each.
    notices = await OutboxJob.filter(kind=deadlines.RESIDENT_MAIL_JOB).values_list(
        "idempotency_key", "state"
    )
    assert all(state == JobState.DONE for _, state in notices)
    keys = {key for key, _ in notices}
    assert keys == {f"deadline-missed-{i}" for i in expected.missed} | {
        f"signatory-excluded-{i}" for i in expected.told_excluded
    }
    assert expected.told_excluded
    # The signatories' DPOs: one notice per alert.
    mailed = [m for m in mail_sink.messages() if m.subject.startswith("Charte éthique")]
    assert len(mailed) == len(actual)

    await _check_statistics(plan, now=fake.moment)
    await _check_report(plan, actual, now=fake.moment)
    assert time.process_time() - began < 30


async def _check_report(
    plan: list[Planned], alerts_seen: list[tuple[str, int, datetime, list[int]]], *, now: datetime
) -> None:
    """The annual report of 2025 tells the same year: every alert, the decision, the figures."""
    from desk.statistics.report import build_report

    report = await build_report(year=2025, now=now)
    assert report.has_data
    assert len(report.alerts) == len([a for a in alerts_seen if a[2].year == 2025])
    assert [d.outcome for d in report.decisions] == [DecisionOutcome.EXCLUDED]
    received = {row.slug: row.received for row in report.overview.signatories}
    for slug in SLUGS:
        in_2025 = [p for p in plan if p.slug == slug and p.received.astimezone(PARIS).year == 2025]
        assert received[slug] == len(in_2025)


async def _check_statistics(plan: list[Planned], *, now: datetime) -> None:
    start = datetime(2024, 12, 31, 23, 0, tzinfo=UTC)  # 1 January 2025 in Paris
    end = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    rows = {s.slug: s for s in await compute_statistics(start=start, end=end, now=now)}
    for slug in ("parfois", "toujours"):
        answered = [p for p in plan if p.slug == slug and p.answer <= now]
        days = [(p.answer - p.received).total_seconds() / 86400 for p in answered]
        on_time = sum(1 for p in answered if p.answer <= p.due) / len(answered)
        stats = rows[slug]
        assert stats.answered == len(answered)
        assert stats.median_days == pytest.approx(statistics.median(days))
        assert stats.on_time_share == pytest.approx(on_time)
        assert stats.received == len([p for p in plan if p.slug == slug])
