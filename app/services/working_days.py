"""Working days (ngày làm việc) in Viet Nam, for step deadlines counted in working days.

A working day is Monday to Friday, except the public holidays of the `holidays` library for "VN"
(Tết Dương lịch, Tết Nguyên đán with the days off around it, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh
2/9 and the day next to it, and the government's swapped days off), plus the Saturdays the government
declares as make-up working days (ngày làm bù, e.g. Saturday 26/4/2025).

A period of N working days "from" a moment follows the usual administrative reading: the day the step
opens is not counted, the period runs over the next N working days and ends at 23:59:59 of the last
one, in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from app.services.clock import LOCAL_TZ

COUNTRY = "VN"
END_OF_DAY = time(23, 59, 59)
MAX_WORKING_DAYS = 3660  # ten years: a bound on the search, far beyond any real step


@lru_cache(maxsize=32)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(COUNTRY, years=year)


def holiday_name(day: date) -> str | None:
    """The public holiday on this day (the library's English name), or None."""
    return _calendar(day.year).get(day)


def is_working_day(day: date) -> bool:
    """Monday–Friday that is not a public holiday, or a declared make-up working Saturday."""
    return _calendar(day.year).is_working_day(day)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself is not counted; 0 → `start`)."""
    if days < 0 or days > MAX_WORKING_DAYS:
        raise ValueError(f"working days must be between 0 and {MAX_WORKING_DAYS}, not {days}")
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` up to and including `end` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def working_due_at(opened: datetime, days: int) -> datetime:
    """The end (23:59:59 local) of the `days`-th working day after the local day `opened` falls on.

    `opened` may be in any time zone (naive is taken as UTC); the answer is in Asia/Ho_Chi_Minh.
    """
    if opened.tzinfo is None:
        opened = opened.replace(tzinfo=UTC)
    local_day = opened.astimezone(LOCAL_TZ).date()
    return datetime.combine(add_working_days(local_day, days), END_OF_DAY, tzinfo=LOCAL_TZ)
