"""Deadlines: the one-month rule read in Paris time, reminders to signatories, and the resident
told once when a deadline is missed, with their recourse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desk.charter import deadlines
from desk.core import clock
from desk.core.errors import DeskError
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.requests.models import RequestKind
from desk.runtime import Runtime
from desk.web.templating import format_date
from tests.desk.charter.support import install_clock, one_delivery
from tests.factories import make_resident, make_signatory

RESIDENT = "camille@exemple.invalid"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=clock.PARIS).astimezone(UTC)


@pytest.mark.parametrize(
    ("received", "due", "latest"),
    [
        # Counted on the Paris calendar, at the same Paris time (across DST changes too).
        (paris(2024, 1, 15, 11), paris(2024, 2, 15, 11), paris(2024, 4, 15, 11)),
        # end of month: the last day of a shorter month (leap year, then not)
        (paris(2024, 1, 31, 11), paris(2024, 2, 29, 11), paris(2024, 4, 30, 11)),
        (paris(2025, 1, 31, 11), paris(2025, 2, 28, 11), paris(2025, 4, 30, 11)),
        (paris(2025, 3, 31, 11), paris(2025, 4, 30, 11), paris(2025, 6, 30, 11)),
        (paris(2025, 12, 31, 11), paris(2026, 1, 31, 11), paris(2026, 3, 31, 11)),
    ],
)
def test_one_month_is_the_same_day_next_month_or_the_last_day(
    received: datetime, due: datetime, latest: datetime
) -> None:
    assert deadlines.due_at(received) == due
    assert deadlines.extension_closes_at(received) == due
    assert deadlines.latest_due_at(received) == latest


@pytest.mark.parametrize(
    ("received", "shown_received", "shown_due"),
    [
        # spring DST change (31 March 2024): 13:00 CET received, 14:00 CEST due, same dates
        (utc(2024, 3, 15, 12), "15 mars 2024", "15 avril 2024"),
        # autumn DST change (27 October 2024)
        (utc(2024, 10, 10, 12), "10 octobre 2024", "10 novembre 2024"),
        (utc(2024, 9, 27, 23, 30), "28 septembre 2024", "28 octobre 2024"),
        # late evening in UTC is already the next day in Paris
        (utc(2025, 6, 14, 22, 30), "15 juin 2025", "15 juillet 2025"),
    ],
)
def test_people_read_paris_dates(received: datetime, shown_received: str, shown_due: str) -> None:
    assert format_date(received) == shown_received
    assert format_date(deadlines.due_at(received)) == shown_due
    assert deadlines.due_at(received).utcoffset() == timedelta(0)  # stored in UTC


def test_month_end_is_counted_on_the_paris_calendar() -> None:
    received = utc(2025, 3, 30, 22, 30)  # 31 March 2025, 00:30 in Paris
    assert format_date(received) == "31 mars 2025"
    assert format_date(deadlines.due_at(received)) == "30 avril 2025"


async def test_extension_after_the_first_month_or_twice_is_refused(
    app: object, monkeypatch: pytest.MonkeyPatch, worker: Worker
) -> None:
    fake = install_clock(monkeypatch, utc(2025, 1, 31, 9))
    signatory = await make_signatory("eau-du-ponant", adapter="postal")
    resident = await make_resident(RESIDENT)
    late = await one_delivery(signatory, resident.id)
    early = await one_delivery(signatory, resident.id, RequestKind.ACCESS)
    fake.advance(days=29)  # 1 March: past 28 February, the end of the first month

    with pytest.raises(DeskError) as refused:
        await transitions.extend(delivery_id=late.id, actor="t", reason="Beaucoup de demandes")
    assert "premier mois" in refused.value.message

    fake.moment = utc(2025, 2, 20, 9)
    extended = await transitions.extend(delivery_id=early.id, actor="t", reason="Archives")
    # Three months from 31 January at most, at the same Paris time (10:00 CET → 10:00 CEST).
    assert extended.due_at == paris(2025, 4, 30, 10)
    with pytest.raises(DeskError) as twice:
        await transitions.extend(delivery_id=early.id, actor="t", reason="Encore")
    assert twice.value.code == "conflict"


async def test_reminders_seven_days_and_one_day_before_then_the_resident_is_told_once(
    app: object, monkeypatch: pytest.MonkeyPatch, worker: Worker, mail_sink: MailSink
) -> None:
    fake = install_clock(monkeypatch, utc(2025, 2, 3, 9))
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    resident = await make_resident(RESIDENT)
    delivery = await one_delivery(signatory, resident.id)
    await worker.run_until_idle()  # the delivery email itself
    dpo = signatory.dpo_email
    assert len(mail_sink.to(dpo)) == 1

    fake.advance(days=20)  # 11 days before the deadline: nothing yet
    await deadlines.run(now=clock.now())
    await worker.run_until_idle()
    assert len(mail_sink.to(dpo)) == 1

    fake.moment = delivery.due_at - timedelta(days=6, hours=23)
    for _ in range(3):  # the worker runs its periodic task many times a day
        await deadlines.run(now=clock.now())
        await worker.run_until_idle()
    reminders = mail_sink.to(dpo)[1:]
    assert len(reminders) == 1
    assert "Rappel" in reminders[0].subject and "3 mars 2025" in reminders[0].subject
    assert any("/partenaires/reponse/" in link for link in reminders[0].links)

    fake.moment = delivery.due_at - timedelta(hours=20)
    await deadlines.run(now=clock.now())
    await deadlines.run(now=clock.now())
    await worker.run_until_idle()
    reminders = mail_sink.to(dpo)[1:]
    assert len(reminders) == 2
    assert "demain" in reminders[1].subject

    assert not mail_sink.to(RESIDENT)
    fake.moment = delivery.due_at + timedelta(hours=1)
    for _ in range(3):
        await deadlines.run(now=clock.now())
        await worker.run_until_idle()
    told = mail_sink.to(RESIDENT)
    assert len(told) == 1
    text = told[0].text
    assert "Eau du Ponant" in told[0].subject
    assert "comité d'éthique" in text
    assert f"/mon-espace/reclamations/{delivery.id}" in text
    assert "https://www.cnil.fr/fr/plaintes" in text
    assert "3 mars 2025" in text


async def test_no_reminder_by_email_for_paper_signatories_nor_for_answered_requests(
    app: object, monkeypatch: pytest.MonkeyPatch, worker: Worker, mail_sink: MailSink
) -> None:
    runtime: Runtime = worker.context
    fake = install_clock(monkeypatch, utc(2025, 2, 3, 9))
    paper = await make_signatory("asso-papier", adapter="postal")
    quick = await make_signatory("bibus")
    resident = await make_resident(RESIDENT)
    on_paper = await one_delivery(paper, resident.id)
    answered = await one_delivery(quick, resident.id)
    await worker.run_until_idle()
    await transitions.fulfil(
        delivery_id=answered.id,
        actor="t",
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        outcome={"holds_data": False},
    )
    await worker.run_until_idle()
    before = len(mail_sink.messages())

    fake.moment = on_paper.due_at - timedelta(hours=12)
    await deadlines.run(now=clock.now())
    await worker.run_until_idle()

    assert len(mail_sink.messages()) == before


async def test_a_large_backlog_of_missed_deadlines_tells_each_resident_once(
    app: object, monkeypatch: pytest.MonkeyPatch, worker: Worker, mail_sink: MailSink
) -> None:
    # Slices of 2 stand in for PostgreSQL's 32,767-parameter ceiling (a backlog of 40,000
    # missed deadlines once made every maintenance pass fail).
    monkeypatch.setattr(deadlines, "KEYS_PER_QUERY", 2)
    fake = install_clock(monkeypatch, utc(2025, 2, 3, 9))
    residents = [await make_resident(f"habitant{n}@exemple.fr") for n in range(5)]
    signatory = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    last = None
    for resident in residents:
        last = await one_delivery(signatory, resident.id)
    await worker.run_until_idle()
    assert last is not None

    fake.moment = last.due_at + timedelta(hours=1)
    assert await deadlines.notify_missed_deadlines(now=clock.now()) == 5
    await deadlines.notify_missed_deadlines(now=clock.now())
    await worker.run_until_idle()
    for n in range(5):
        assert len(mail_sink.to(f"habitant{n}@exemple.fr")) == 1
