from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desk.core.clock import add_months, local


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 15, 10, tzinfo=UTC), 1, datetime(2026, 2, 15, 10, tzinfo=UTC)),
        (datetime(2026, 1, 31, 10, tzinfo=UTC), 1, datetime(2026, 2, 28, 10, tzinfo=UTC)),
        (datetime(2028, 1, 31, 10, tzinfo=UTC), 1, datetime(2028, 2, 29, 10, tzinfo=UTC)),
        (datetime(2026, 11, 30, 10, tzinfo=UTC), 3, datetime(2027, 2, 28, 10, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, tzinfo=UTC), 1, datetime(2027, 1, 31, 23, tzinfo=UTC)),
    ],
)
def test_one_month_is_same_day_next_month_or_its_last_day(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_people_read_paris_time() -> None:
    assert local(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)).hour == 0
