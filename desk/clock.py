"""Time: UTC stored, Europe/Paris shown; GDPR month arithmetic."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    return datetime.now(UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """Same day `months` later; when that month is shorter, its last day (31 Jan + 1 → 28/29 Feb).

    This is how the CNIL and the EDPB read Art. 12(3)'s "one month".
    """
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)
