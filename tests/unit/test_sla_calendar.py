"""The working-time calendar behind SLA deadlines (core/sla_calendar.py, OPS-05 / PERM-11).

Local times below are Asia/Ho_Chi_Minh. March 2026 has no holiday, so the week of Monday
9 March 2026 is an ordinary office week: 07:30-11:30 and 13:30-17:00, 7.5 hours a day."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.settings import Settings
from core.sla_calendar import (
    WorkingCalendar,
    add_working_time,
    load_vietnam_calendar,
    reminder_at,
    vietnam_holiday_data,
    vietnam_holiday_years,
    working_time_between,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NEW_YORK = ZoneInfo("America/New_York")
VIETNAM = load_vietnam_calendar()
H = timedelta(hours=1)
PROPERTY = settings(max_examples=300, derandomize=True, database=None, deadline=None)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=VN)


def reference_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """Day by day, no shortcuts: what the module's week skipping must agree with."""
    zone = ZoneInfo(calendar.timezone)
    total, day = timedelta(0), start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        for begin, finish in calendar.periods_on(day):
            low = max(datetime.combine(day, begin, tzinfo=zone).astimezone(UTC), start)
            high = min(datetime.combine(day, finish, tzinfo=zone).astimezone(UTC), end)
            total += max(high - low, timedelta(0))
        day += timedelta(days=1)
    return total


ADD_CASES = [
    ("within a morning period", at(2026, 3, 9, 8), 2 * H, at(2026, 3, 9, 10)),
    ("to the end of the morning", at(2026, 3, 9, 8), timedelta(hours=3, minutes=30), at(2026, 3, 9, 11, 30)),
    ("across lunch", at(2026, 3, 9, 10, 30), 2 * H, at(2026, 3, 9, 14, 30)),
    ("start during lunch", at(2026, 3, 9, 12), H, at(2026, 3, 9, 14, 30)),
    ("start before office hours", at(2026, 3, 9, 6), H, at(2026, 3, 9, 8, 30)),
    ("across the evening", at(2026, 3, 9, 16), 2 * H, at(2026, 3, 10, 8, 30)),
    ("start at exactly 17:00", at(2026, 3, 9, 17), H, at(2026, 3, 10, 8, 30)),
    ("start at 17:00, zero duration", at(2026, 3, 9, 17), timedelta(0), at(2026, 3, 9, 17)),
    ("zero duration inside a period", at(2026, 3, 9, 10), timedelta(0), at(2026, 3, 9, 10)),
    ("to the second across lunch", at(2026, 3, 9, 11, 29, 59), timedelta(seconds=2), at(2026, 3, 9, 13, 30, 1)),
    ("across a weekend", at(2026, 3, 13, 16), 2 * H, at(2026, 3, 16, 8, 30)),
    ("start on a Saturday", at(2026, 3, 14, 10), H, at(2026, 3, 16, 8, 30)),
    ("8 h field", at(2026, 3, 9, 7, 30), 8 * H, at(2026, 3, 10, 8)),
    ("24 h field", at(2026, 3, 9, 7, 30), 24 * H, at(2026, 3, 12, 9)),
    ("72 h field", at(2026, 3, 9, 7, 30), 72 * H, at(2026, 3, 20, 14)),
    ("120 h field ends at 17:00, not next morning", at(2026, 3, 9, 7, 30), 120 * H, at(2026, 3, 30, 17)),
    ("across Tết 2026 (off 16-20 Feb)", at(2026, 2, 13, 16), 8 * H, at(2026, 2, 23, 16, 30)),
    ("start on a Tết holiday", at(2026, 2, 17, 10), H, at(2026, 2, 23, 8, 30)),
    ("New Year 2026: Friday 2 Jan swapped", at(2025, 12, 31, 16), 2 * H, at(2026, 1, 5, 8, 30)),
    ("make-up Saturday 10 Jan 2026 is worked", at(2026, 1, 10, 10), H, at(2026, 1, 10, 11)),
    ("Friday evening into the make-up Saturday", at(2026, 1, 9, 16, 30), H, at(2026, 1, 10, 8)),
    ("Giỗ Tổ 2026 (Sunday) taken on Monday 27 Apr", at(2026, 4, 24, 16), 2 * H, at(2026, 4, 28, 8, 30)),
    ("30/4-1/5 2026", at(2026, 4, 29, 16), 2 * H, at(2026, 5, 4, 8, 30)),
    ("National Day 2026: off 31 Aug-2 Sep", at(2026, 8, 28, 16), 2 * H, at(2026, 9, 3, 8, 30)),
    ("make-up Saturday 22 Aug 2026 is worked", at(2026, 8, 21, 16), 2 * H, at(2026, 8, 22, 8, 30)),
    ("Tết 2025 (off 27-31 Jan)", at(2025, 1, 24, 16), 2 * H, at(2025, 2, 3, 8, 30)),
    ("30/4-4/5 2025 after make-up Saturday 26 Apr", at(2025, 4, 25, 16), 2 * H, at(2025, 4, 26, 8, 30)),
    ("30/4-4/5 2025", at(2025, 4, 29, 16), 2 * H, at(2025, 5, 5, 8, 30)),
    ("start given in UTC", datetime(2026, 3, 9, 1, tzinfo=UTC), 2 * H, at(2026, 3, 9, 10)),
    ("start given in New York just after its DST change",
     datetime(2026, 3, 8, 20, tzinfo=NEW_YORK), H, at(2026, 3, 9, 8, 30)),
]


@pytest.mark.parametrize(("start", "duration", "expected"), [case[1:] for case in ADD_CASES],
                         ids=[case[0] for case in ADD_CASES])
def test_add_working_time(start: datetime, duration: timedelta, expected: datetime) -> None:
    # given a start and an SLA duration / when the deadline is computed
    deadline = add_working_time(VIETNAM, start, duration)
    # then it is the expected instant, in UTC, and exactly that much working time after the start
    assert deadline == expected and deadline.tzinfo is UTC
    assert working_time_between(VIETNAM, start, deadline) == duration


BETWEEN_CASES = [
    ("an ordinary week", at(2026, 3, 9, 7, 30), at(2026, 3, 16, 7, 30), timedelta(hours=37, minutes=30)),
    ("over Tết 2026 only two working days count", at(2026, 2, 13, 7, 30), at(2026, 2, 23, 17), 15 * H),
    ("the same instant", at(2026, 3, 9, 10), at(2026, 3, 9, 10), timedelta(0)),
    ("a night", at(2026, 3, 9, 17), at(2026, 3, 10, 7, 30), timedelta(0)),
    ("overdue: end before start is negative", at(2026, 3, 10, 8), at(2026, 3, 9, 16), -timedelta(hours=1, minutes=30)),
    # 261 weekdays in 2026, less 13 weekday holidays, plus 2 make-up Saturdays = 250 working days
    ("the year 2026", at(2026, 1, 1), at(2027, 1, 1), 250 * timedelta(hours=7, minutes=30)),
]


@pytest.mark.parametrize(("start", "end", "expected"), [case[1:] for case in BETWEEN_CASES],
                         ids=[case[0] for case in BETWEEN_CASES])
def test_working_time_between(start: datetime, end: datetime, expected: timedelta) -> None:
    assert working_time_between(VIETNAM, start, end) == expected


def test_long_durations_are_exact() -> None:
    # given 2,000 working hours from a Monday morning (about 14 months, Tết 2027 included)
    start = at(2026, 3, 9, 7, 30)
    deadline = add_working_time(VIETNAM, start, 2000 * H)
    # then the day-by-day reference counts exactly 2,000 hours up to it
    assert reference_between(VIETNAM, start, deadline) == 2000 * H
    assert date(2027, 1, 1) < deadline.date() < date(2027, 6, 1)


def test_long_durations_skip_ordinary_weeks(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a counter on the per-day work / when 2,000 h are added and measured back
    days_walked = []
    per_day = WorkingCalendar._intervals
    monkeypatch.setattr(WorkingCalendar, "_intervals", lambda self, day: days_walked.append(day) or per_day(self, day))
    start = at(2026, 3, 9, 7, 30)
    working_time_between(VIETNAM, start, add_working_time(VIETNAM, start, 2000 * H))
    # then ordinary weeks are skipped whole instead of walking ~390 days each way
    assert len(days_walked) < 100  # 76 with the 2026-2027 data; day by day it would be ~780


starts = st.datetimes(min_value=datetime(2024, 3, 1), max_value=datetime(2027, 6, 30),
                      timezones=st.sampled_from([UTC, VN, NEW_YORK, ZoneInfo("Asia/Tokyo")]))
durations = st.one_of(st.integers(0, 2000 * 3600).map(lambda s: timedelta(seconds=s)),
                      st.integers(0, 80 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)))


@PROPERTY
@given(start=starts, duration=durations)
def test_between_inverts_add(start: datetime, duration: timedelta) -> None:
    deadline = add_working_time(VIETNAM, start, duration)
    assert deadline >= start
    assert working_time_between(VIETNAM, start, deadline) == duration
    assert reference_between(VIETNAM, start.astimezone(UTC), deadline) == duration
    if duration:  # the earliest such instant: a microsecond sooner is not enough
        assert working_time_between(VIETNAM, start, deadline - timedelta(microseconds=1)) < duration


@PROPERTY
@given(start=starts, span=st.integers(0, 600 * 24 * 3600).map(lambda s: timedelta(seconds=s)))
def test_between_matches_the_day_by_day_reference(start: datetime, span: timedelta) -> None:
    end = start + span
    assert working_time_between(VIETNAM, start, end) == reference_between(VIETNAM, start.astimezone(UTC), end)
    assert working_time_between(VIETNAM, end, start) == -working_time_between(VIETNAM, start, end)


def test_reminder_at_a_fraction_of_working_time() -> None:
    # 72 h from Monday 07:30 ends Friday 20 Mar 14:00; 54 h in is Wednesday 18 Mar 09:00
    assert reminder_at(VIETNAM, at(2026, 3, 9, 7, 30), at(2026, 3, 20, 14)) == at(2026, 3, 18, 9)
    # half of 8 h from Monday 16:00 (deadline Tuesday 16:30) is Tuesday 10:30
    assert reminder_at(VIETNAM, at(2026, 3, 9, 16), at(2026, 3, 10, 16, 30), fraction=0.5) == at(2026, 3, 10, 10, 30)


def test_reminder_without_working_time_uses_clock_time() -> None:
    # given a window that holds no working time (a weekend) / then 3/4 of the clock time
    assert reminder_at(VIETNAM, at(2026, 3, 14, 10), at(2026, 3, 15, 10)) == at(2026, 3, 15, 4)


@PROPERTY
@given(start=starts, duration=durations.filter(bool), fraction=st.floats(0.01, 0.99))
def test_reminder_is_strictly_before_the_deadline(start: datetime, duration: timedelta, fraction: float) -> None:
    deadline = add_working_time(VIETNAM, start, duration)
    reminder = reminder_at(VIETNAM, start, deadline, fraction)
    assert start <= reminder < deadline and reminder.tzinfo is UTC


@pytest.mark.parametrize("call", [
    lambda: add_working_time(VIETNAM, datetime(2026, 3, 9, 8), H),
    lambda: working_time_between(VIETNAM, datetime(2026, 3, 9, 8), at(2026, 3, 9, 9)),
    lambda: working_time_between(VIETNAM, at(2026, 3, 9, 8), datetime(2026, 3, 9, 9)),
    lambda: reminder_at(VIETNAM, at(2026, 3, 9, 8), datetime(2026, 3, 9, 9)),
    lambda: add_working_time(VIETNAM, at(2026, 3, 9, 8), -H),
    lambda: reminder_at(VIETNAM, at(2026, 3, 9, 9), at(2026, 3, 9, 8)),
    lambda: reminder_at(VIETNAM, at(2026, 3, 9, 8), at(2026, 3, 9, 9), fraction=0),
    lambda: reminder_at(VIETNAM, at(2026, 3, 9, 8), at(2026, 3, 9, 9), fraction=1),
    lambda: reminder_at(VIETNAM, at(2026, 3, 9, 8), at(2026, 3, 9, 9), fraction=1.5),
], ids=["naive start", "naive start (between)", "naive end", "naive deadline", "negative duration",
        "deadline before start", "fraction 0", "fraction 1", "fraction 1.5"])
def test_refused_inputs(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_duration_must_be_a_timedelta() -> None:
    with pytest.raises(TypeError):
        add_working_time(VIETNAM, at(2026, 3, 9, 8), 3600)  # type: ignore[arg-type]


OFFICE = ((time(7, 30), time(11, 30)), (time(13, 30), time(17)))


@pytest.mark.parametrize("kwargs", [
    {"weekly_periods": (OFFICE,) * 6},
    {"weekly_periods": (((time(12), time(11)),),) * 7},
    {"weekly_periods": (((time(8), time(12)), (time(11), time(17))),) * 7},
    {"weekly_periods": ((),) * 7},
    {"holidays": {date(2026, 3, 14)}, "extra_working_days": {date(2026, 3, 14)}},
    {"holidays": {datetime(2026, 3, 9, 0, 0)}},
    {"timezone": "Nowhere/Atlantis"},
], ids=["six days", "period ends before it starts", "overlapping periods", "no working time",
        "holiday and working day at once", "datetime as holiday", "unknown timezone"])
def test_invalid_calendars_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(**kwargs)


def test_calendar_travels_as_json() -> None:
    # a workflow gets the calendar in its input (the sandbox cannot read the data file)
    data = json.loads(json.dumps(VIETNAM.to_dict()))
    assert WorkingCalendar.from_dict(data) == VIETNAM


def test_daylight_saving_zones_count_real_time() -> None:
    # given a calendar in a zone with DST and a night shift 01:00-04:00 every day
    berlin = ZoneInfo("Europe/Berlin")
    night = WorkingCalendar(timezone="Europe/Berlin", weekly_periods=(((time(1), time(4)),),) * 7)

    def local(*args: int) -> datetime:
        return datetime(*args, tzinfo=berlin)

    # then the spring-forward night holds 2 real hours, the fall-back night 4
    assert working_time_between(night, local(2026, 3, 29), local(2026, 3, 30)) == 2 * H
    assert add_working_time(night, local(2026, 3, 29, 1), 2 * H) == local(2026, 3, 29, 4)
    assert working_time_between(night, local(2026, 10, 25), local(2026, 10, 26)) == 4 * H
    # and weeks containing a change are not skipped as ordinary weeks
    assert working_time_between(night, local(2026, 3, 23), local(2026, 4, 6)) == 41 * H
    assert working_time_between(night, local(2026, 10, 19), local(2026, 11, 2)) == 43 * H


# The shipped holiday data

LUNAR = {  # 1/1 and 10/3 of the lunar calendar (UTC+7), computed and checked against published dates
    2024: (date(2024, 2, 10), date(2024, 4, 18)),
    2025: (date(2025, 1, 29), date(2025, 4, 7)),
    2026: (date(2026, 2, 17), date(2026, 4, 26)),
    2027: (date(2027, 2, 6), date(2027, 4, 16)),
    2028: (date(2028, 1, 26), date(2028, 4, 4)),
}


def year_entries() -> dict[int, dict[str, Any]]:
    return {int(year): entry for year, entry in vietnam_holiday_data()["years"].items()}


def test_data_covers_2025_to_2027_at_least() -> None:
    years = vietnam_holiday_years()
    assert {2025, 2026, 2027} <= set(years) and set(years.values()) <= {"official", "provisional"}
    assert years[2025] == years[2026] == "official"
    assert all(entry["source"].strip() for entry in year_entries().values())


@pytest.mark.parametrize("year", sorted(LUNAR))
def test_tet_and_hung_kings_day_follow_the_lunar_calendar(year: int) -> None:
    tet, hung_kings = LUNAR[year]
    entry = year_entries()[year]
    assert (date.fromisoformat(entry["lunar"]["tet"]), date.fromisoformat(entry["lunar"]["hung_kings_day"])) == LUNAR[year]
    holidays = {date.fromisoformat(item["date"]) for item in entry["holidays"]}
    assert tet in holidays and hung_kings in holidays


@pytest.mark.parametrize("year", sorted(LUNAR))
def test_each_year_gives_the_eleven_paid_days_of_labour_code_art_112(year: int) -> None:
    entry = year_entries()[year]
    holidays = [date.fromisoformat(item["date"]) for item in entry["holidays"]]
    make_up = [date.fromisoformat(item["date"]) for item in entry["extra_working_days"]]
    assert all(day.year == year for day in holidays + make_up)
    assert all(day.weekday() == 5 for day in make_up)  # make-up days are Saturdays
    weekday_holidays = [day for day in holidays if day.weekday() < 5]
    assert len(weekday_holidays) == len(set(weekday_holidays))
    assert len(weekday_holidays) - len(make_up) == 11


def test_2026_matches_the_customer_reference() -> None:
    # ../shared/reference/vn-government.md: "2026: Tết 16–20 Feb; National Day 31 Aug–2 Sep,
    # made up on Saturday 22 Aug"
    assert not any(VIETNAM.is_working_day(date(2026, 2, day)) for day in range(16, 21))
    assert VIETNAM.is_working_day(date(2026, 2, 13)) and VIETNAM.is_working_day(date(2026, 2, 23))
    assert not any(VIETNAM.is_working_day(day) for day in (date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)))
    assert VIETNAM.is_working_day(date(2026, 8, 22)) and VIETNAM.is_working_day(date(2026, 9, 3))


def test_administrators_extra_days_win_over_the_shipped_data() -> None:
    # given a provincial closure on Tuesday 10 Mar 2026 and 16 Feb 2026 declared a working day
    calendar = load_vietnam_calendar(extra_holidays=[date(2026, 3, 10)], extra_working_days=[date(2026, 2, 16)])
    # then both apply
    assert not calendar.is_working_day(date(2026, 3, 10)) and calendar.is_working_day(date(2026, 2, 16))
    assert add_working_time(calendar, at(2026, 3, 9, 16), 2 * H) == at(2026, 3, 11, 8, 30)
    with pytest.raises(ValueError):
        load_vietnam_calendar(extra_holidays=[date(2026, 3, 10)], extra_working_days=[date(2026, 3, 10)])


def test_pending_holidays_are_opt_in() -> None:
    # Ngày Văn hóa Việt Nam (24 Nov) awaits the Labour Code amendment
    assert VIETNAM.is_working_day(date(2026, 11, 24))
    assert not load_vietnam_calendar(include_pending=True).is_working_day(date(2026, 11, 24))


def test_settings_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the administrator's settings / then they parse and feed the loader
    monkeypatch.setenv("HOTLINE_SLA_CALENDAR", "working_hours")
    monkeypatch.setenv("HOTLINE_SLA_EXTRA_HOLIDAYS", '["2026-03-10"]')
    configured = Settings()
    assert configured.sla_calendar == "working_hours" and configured.sla_extra_holidays == [date(2026, 3, 10)]
    assert not load_vietnam_calendar(extra_holidays=configured.sla_extra_holidays).is_working_day(date(2026, 3, 10))
    monkeypatch.delenv("HOTLINE_SLA_CALENDAR")
    monkeypatch.delenv("HOTLINE_SLA_EXTRA_HOLIDAYS")
    assert Settings().sla_calendar == "calendar_hours" and Settings().sla_extra_holidays == []
    with pytest.raises(ValidationError):
        Settings(sla_calendar="lunar_hours")
