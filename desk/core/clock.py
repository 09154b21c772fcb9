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

    This is how the CNIL and the EDPB read Art. 12(3)'s "one month". The day is counted on the
    Paris calendar people read (31 March 00:30 in Paris is 30 March in UTC), then stored back in
    the moment's own time zone.
    """
    zone = moment.tzinfo
    local_moment = moment.astimezone(PARIS) if zone is not None else moment
    month_index = local_moment.month - 1 + months
    year = local_moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(local_moment.day, calendar.monthrange(year, month)[1])
    shifted = local_moment.replace(year=year, month=month, day=day)
    return shifted.astimezone(zone) if zone is not None else shifted


def local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)
