"""SAP's schedule formats, checked against the examples of SAP's schedule-formats page."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from mockserver.dispatch.sapcron import (
    CronError,
    SapCron,
    next_repeat_at,
    parse_interval,
    parse_repeat_at,
)

START = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def firings(text: str, count: int, after: datetime = START) -> list[str]:
    cron, found = SapCron.parse(text), []
    for _ in range(count):
        moment = cron.next_after(after)
        assert moment is not None
        found.append(moment.strftime("%Y-%m-%d %H:%M:%S"))
        after = moment
    return found


def test_every_thirty_minutes_between_ten_and_twelve() -> None:
    assert firings("* * * * 10:12 */30 0", 7) == [
        "2026-01-01 10:00:00", "2026-01-01 10:30:00", "2026-01-01 11:00:00",
        "2026-01-01 11:30:00", "2026-01-01 12:00:00", "2026-01-01 12:30:00",
        "2026-01-02 10:00:00"]


def test_every_friday_at_noon_of_a_year() -> None:
    assert firings("2026 * * fri 12 0 0", 2) == ["2026-01-02 12:00:00", "2026-01-09 12:00:00"]
    assert SapCron.parse("2025 * * fri 12 0 0").next_after(START) is None


def test_negative_days_count_from_the_month_end() -> None:
    assert firings("* * 3:-2 * 12:14 0 0", 4, datetime(2026, 1, 30, 14, tzinfo=UTC)) == [
        "2026-02-03 12:00:00", "2026-02-03 13:00:00", "2026-02-03 14:00:00",
        "2026-02-04 12:00:00"]


def test_last_sunday_of_the_month() -> None:
    assert firings("* * * -1.sun 9 0 0", 2) == ["2026-01-25 09:00:00", "2026-02-22 09:00:00"]


@pytest.mark.parametrize("text", ["* */3 10 * 9 0 0", "* 3,6,9,12 10 * 9 0 0"])
def test_every_three_months_on_the_tenth(text: str) -> None:
    assert firings(text, 2) == ["2026-03-10 09:00:00", "2026-06-10 09:00:00"]


@pytest.mark.parametrize(("text", "problem"), [
    ("* * * * *", "has 5 fields"), ("* 13 * * 0 0 0", "Month: 13 is outside 1..12"),
    ("* * * funday 0 0 0", "DayOfWeek: 'funday'"), ("* * x * 0 0 0", "Day: 'x' is not"),
])
def test_unreadable_cron_names_the_field(text: str, problem: str) -> None:
    with pytest.raises(CronError, match=problem):
        SapCron.parse(text)


def test_repeat_interval_and_repeat_at() -> None:
    assert parse_interval("10 hours").total_seconds() == 36000
    assert parse_interval("1 minute").total_seconds() == 60
    with pytest.raises(CronError):
        parse_interval("twenty minutes")
    assert [parse_repeat_at(t) for t in ("4.40pm", "18.40", "6.20am", "17.20:30")] == [
        time(16, 40), time(18, 40), time(6, 20), time(17, 20, 30)]
    assert next_repeat_at(time(6, 20), datetime(2026, 1, 1, 7, tzinfo=UTC)) == datetime(
        2026, 1, 2, 6, 20, tzinfo=UTC)
