"""SAP Job Scheduling's recurring schedule formats: `cron`, `repeatInterval`, `repeatAt`.

Source: SAP-docs/btp-job-scheduling-service, docs/20---Concepts/schedule-formats-54615f0.md.

- `cron` has seven fields, left to right: Year Month Day DayOfWeek Hour Minute Second. Each
  field is `*`, `*/a` (every a-th value), `a:b` (a range), `a:b/c` (every c-th value in a
  range), `a,b,c` (any of them) or a value. Day takes -31..31 (negative counts from the end
  of the month); DayOfWeek takes `mon`..`sun` and `a.y` (the a-th weekday y of the month,
  a = -5..5). "* * * * 10:12 */30 0" runs at 10:00, 10:30, ..., 12:30 every day.
- `repeatInterval` is "<number> <unit>" with unit years, months, weeks, days, hours, minutes
  or seconds (singular too). A month is taken as 30 days and a year as 365, and an interval
  under one second is refused (ours).
- `repeatAt` is a daily time of day: "4.40pm", "18.40", "6.20am", "17.20:30".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["CronError", "SapCron", "next_repeat_at", "parse_interval", "parse_repeat_at"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 366 * 8
_UNITS = {"year": 365 * 86400, "month": 30 * 86400, "week": 7 * 86400, "day": 86400,
          "hour": 3600, "minute": 60, "second": 1}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$")
_REPEAT_AT = re.compile(r"^\s*(\d{1,2})(?:[.:](\d{2}))?(?::(\d{2}))?\s*(am|pm)?\s*$")

DayTest = Callable[[date], bool]


class CronError(ValueError):
    """A cron text the scheduler cannot read; the message names the field."""


@dataclass(frozen=True)
class SapCron:
    """A parsed seven-field SAP cron: which days, and which times on those days."""

    text: str
    day_tests: tuple[DayTest, ...]
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    seconds: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> SapCron:
        fields = text.split()
        if len(fields) != 7:
            raise CronError(f"cron {text!r} has {len(fields)} fields; SAP's cron has 7: "
                            "Year Month Day DayOfWeek Hour Minute Second")
        year, month, day, weekday, hour, minute, second = fields
        tests = (_date_field("Year", year, lambda d: d.year, 1970, 2999),
                 _date_field("Month", month, lambda d: d.month, 1, 12),
                 _day_field(day), _weekday_field(weekday))
        return cls(text, tests, _values("Hour", hour, 0, 23), _values("Minute", minute, 0, 59),
                   _values("Second", second, 0, 59))

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after `moment` (None when there is none soon)."""
        day = moment.date()
        for _ in range(SEARCH_DAYS):
            if all(test(day) for test in self.day_tests):
                found = self._time_on(day, moment)
                if found is not None:
                    return found
            day += timedelta(days=1)
        return None

    def _time_on(self, day: date, moment: datetime) -> datetime | None:
        for h in self.hours:
            for m in self.minutes:
                for s in self.seconds:
                    candidate = datetime.combine(day, time(h, m, s), moment.tzinfo)
                    if candidate > moment:
                        return candidate
        return None


def parse_interval(text: str) -> timedelta:
    found = _INTERVAL.match(str(text).lower())
    if not found or found.group(2) not in _UNITS or \
            float(found.group(1)) * _UNITS.get(found.group(2), 0) < 1:
        raise CronError(f"repeatInterval {text!r}: use '<number> <unit>' with unit one of "
                        f"{', '.join(u + 's' for u in _UNITS)}")
    try:
        return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    except OverflowError:
        raise CronError(f"repeatInterval {text!r} is too long") from None


def parse_repeat_at(text: str) -> time:
    found = _REPEAT_AT.match(str(text).lower())
    if not found:
        raise CronError(f"repeatAt {text!r}: use a time of day such as '4.40pm' or '18.40'")
    hour, minute, second = int(found.group(1)), int(found.group(2) or 0), int(found.group(3) or 0)
    if found.group(4) == "pm" and hour < 12:
        hour += 12
    if found.group(4) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        raise CronError(f"repeatAt {text!r} is not a time of day")
    return time(hour, minute, second)


def next_repeat_at(at: time, moment: datetime) -> datetime:
    """The first time of day `at` strictly after `moment`."""
    candidate = datetime.combine(moment.date(), at, moment.tzinfo)
    return candidate if candidate > moment else candidate + timedelta(days=1)


# -- fields -----------------------------------------------------------------------------------


def _values(name: str, text: str, low: int, high: int) -> tuple[int, ...]:
    """The values of a time field, ascending."""
    chosen = {v for part in text.split(",") for v in _atom(name, part, low, high)}
    return tuple(sorted(chosen))


def _atom(name: str, part: str, low: int, high: int) -> range | list[int]:
    step_text = None
    if "/" in part:
        part, step_text = part.split("/", 1)
    step = _number(name, step_text, 1, high - low + 1) if step_text is not None else 1
    if part == "*":
        return [v for v in range(low, high + 1) if v % step == 0] if step_text else \
            range(low, high + 1)
    if ":" in part:
        first, last = (_number(name, p, low, high) for p in part.split(":", 1))
        return range(first, last + 1, step)
    return [_number(name, part, low, high)]


def _number(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CronError(f"cron field {name}: {text!r} is not a number") from None
    if not low <= value <= high:
        raise CronError(f"cron field {name}: {value} is outside {low}..{high}")
    return value


def _date_field(name: str, text: str, pick: Callable[[date], int], low: int,
                high: int) -> DayTest:
    allowed = frozenset(_values(name, text, low, high))
    return lambda day: pick(day) in allowed


def _day_field(text: str) -> DayTest:
    """Day of month, -31..31: negative values count back from the month's last day."""
    if text == "*":
        return lambda day: True
    parts = text.split(",")

    def matches(day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        return any(day.day in _days(part, last) for part in parts)

    for part in parts:  # read once now so that a bad field fails at create time
        _days(part, 31)
    return matches


def _days(part: str, last: int) -> range | list[int]:
    step_text = None
    if "/" in part:
        part, step_text = part.split("/", 1)
    step = _number("Day", step_text, 1, 31) if step_text is not None else 1
    if part == "*":
        return [v for v in range(1, last + 1) if v % step == 0]
    ends = [_month_day(_number("Day", p, -31, 31), last) for p in part.split(":", 1)]
    return range(ends[0], ends[-1] + 1, step)


def _month_day(value: int, last: int) -> int:
    if value == 0:
        raise CronError("cron field Day: 0 is not a day")
    return value if value > 0 else last + 1 + value


def _weekday_field(text: str) -> DayTest:
    if text == "*":
        return lambda day: True
    tests = [_weekday_atom(part.strip().lower()) for part in text.split(",")]
    return lambda day: any(test(day) for test in tests)


def _weekday_atom(part: str) -> DayTest:
    if "." in part:
        count_text, name = part.split(".", 1)
        count = _number("DayOfWeek", count_text, -5, 5)
        wanted = _weekday(name)
        return lambda day: day.weekday() == wanted and _occurrence(day, count)
    if ":" in part:
        first, last = (_weekday(p) for p in part.split(":", 1))
        return lambda day: first <= day.weekday() <= last
    wanted = _weekday(part)
    return lambda day: day.weekday() == wanted


def _weekday(name: str) -> int:
    if name not in WEEKDAYS:
        raise CronError(f"cron field DayOfWeek: {name!r}; use one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(name)


def _occurrence(day: date, count: int) -> bool:
    if count > 0:
        return (day.day - 1) // 7 + 1 == count
    last = calendar.monthrange(day.year, day.month)[1]
    return -((last - day.day) // 7 + 1) == count
