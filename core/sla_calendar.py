"""Working-time calendar for SLA deadlines (OPS-05 reminders, PERM-11 per-field SLA).

Vietnamese agencies promise answers in *working* time: office hours from Monday to Friday,
less public holidays, plus the Saturdays the government swaps in as working days. This module
turns "N working hours after t" into an instant and back.

Pure: no clock, no environment, no database. The one file it reads is its own holiday data,
in `load_vietnam_calendar`; call that outside workflow code (the Temporal sandbox refuses
`open`) and hand a workflow the calendar as `to_dict()` / `WorkingCalendar.from_dict()`.

Working time is measured in real elapsed time between local period boundaries, so results
stay exact in zones with daylight saving time; Asia/Ho_Chi_Minh has none.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Period = tuple[time, time]
DayPeriods = tuple[Period, ...]

VN_OFFICE_PERIODS: DayPeriods = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
VN_OFFICE_WEEK: tuple[DayPeriods, ...] = (VN_OFFICE_PERIODS,) * 5 + ((), ())

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_MICROSECOND = timedelta(microseconds=1)
_MIDNIGHT = time(0)


def _day_periods(periods: Iterable[Sequence[time]]) -> DayPeriods:
    result = tuple((start, end) for start, end in periods)
    for start, end in result:
        if not (isinstance(start, time) and isinstance(end, time)) or start.tzinfo or end.tzinfo:
            raise ValueError("working periods are pairs of naive local times")
        if start >= end:
            raise ValueError(f"working period {start}-{end} ends before it starts")
    for (_, end), (start, _) in zip(result, result[1:]):
        if start < end:
            raise ValueError("working periods of a day must be in order and must not overlap")
    return result


def _dates(values: Iterable[date], what: str) -> frozenset[date]:
    result = frozenset(values)
    if any(isinstance(day, datetime) or not isinstance(day, date) for day in result):
        raise ValueError(f"{what} must be dates")
    return result


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours in a timezone, less holidays, plus extra (make-up) working days.

    `weekly_periods` has seven entries, Monday first, each the day's (start, end) local times.
    An extra working day (a swapped Saturday) works `extra_day_periods`, by default the first
    weekday's hours. Lists and sets are accepted and stored as tuples and frozensets.
    """

    timezone: str = "Asia/Ho_Chi_Minh"
    weekly_periods: tuple[DayPeriods, ...] = VN_OFFICE_WEEK
    holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    extra_day_periods: DayPeriods | None = None

    def __post_init__(self) -> None:
        weekly = tuple(_day_periods(day) for day in self.weekly_periods)
        if len(weekly) != 7:
            raise ValueError("weekly_periods needs seven days, Monday first")
        if not any(weekly):
            raise ValueError("a calendar needs working periods on at least one weekday")
        holidays = _dates(self.holidays, "holidays")
        extra_days = _dates(self.extra_working_days, "extra_working_days")
        if clash := sorted(holidays & extra_days):
            raise ValueError(f"dates both holidays and extra working days: {', '.join(map(str, clash))}")
        extra_periods = None if self.extra_day_periods is None else _day_periods(self.extra_day_periods)
        try:  # an unknown zone fails here, not in the middle of a deadline
            ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        object.__setattr__(self, "weekly_periods", weekly)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "extra_working_days", extra_days)
        object.__setattr__(self, "extra_day_periods", extra_periods)

    def periods_on(self, day: date) -> DayPeriods:
        """The local working periods of one date (empty on holidays and days off)."""
        if day in self.holidays:
            return ()
        if day in self.extra_working_days:
            return self._extra_periods
        return self.weekly_periods[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self.periods_on(day))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for workflow inputs and activity results."""
        def periods(day: DayPeriods) -> list[list[str]]:
            return [[start.isoformat(), end.isoformat()] for start, end in day]
        return {"timezone": self.timezone,
                "weekly_periods": [periods(day) for day in self.weekly_periods],
                "holidays": sorted(day.isoformat() for day in self.holidays),
                "extra_working_days": sorted(day.isoformat() for day in self.extra_working_days),
                "extra_day_periods": None if self.extra_day_periods is None else periods(self.extra_day_periods)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkingCalendar:
        def periods(day: Iterable[Sequence[str]]) -> DayPeriods:
            return tuple((time.fromisoformat(start), time.fromisoformat(end)) for start, end in day)
        extra = data.get("extra_day_periods")
        return cls(timezone=data["timezone"],
                   weekly_periods=tuple(periods(day) for day in data["weekly_periods"]),
                   holidays=frozenset(map(date.fromisoformat, data.get("holidays", ()))),
                   extra_working_days=frozenset(map(date.fromisoformat, data.get("extra_working_days", ()))),
                   extra_day_periods=None if extra is None else periods(extra))

    # Derived values, computed once per calendar (cached_property writes past the frozen guard).

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _extra_periods(self) -> DayPeriods:
        if self.extra_day_periods is not None:
            return self.extra_day_periods
        return next(day for day in self.weekly_periods if day)

    @cached_property
    def _special_days(self) -> tuple[date, ...]:
        return tuple(sorted(self.holidays | self.extra_working_days))

    @cached_property
    def _week_total(self) -> timedelta:
        # Wall-clock length of an ordinary week; equal to real time while the UTC offset holds.
        return sum((_wall_length(start, end) for day in self.weekly_periods for start, end in day), _ZERO)

    def _utc(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self._zone).astimezone(UTC)

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        return [(self._utc(day, start), self._utc(day, end)) for start, end in self.periods_on(day)]

    def _ordinary_week(self, day: date) -> bool:
        """Whether the seven days from `day` hold exactly `_week_total` of working time: no holiday,
        no extra day, and one UTC offset (no zone changes its offset twice within a week)."""
        special = self._special_days
        index = bisect.bisect_left(special, day)
        if index < len(special) and special[index] < day + _WEEK:
            return False
        offset = self._zone.utcoffset
        return offset(datetime.combine(day, _MIDNIGHT)) == offset(datetime.combine(day + _WEEK, _MIDNIGHT))


def _wall_length(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


def _require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (store UTC, show Asia/Ho_Chi_Minh)")
    return value.astimezone(UTC)


def add_working_time(calendar: WorkingCalendar, start: datetime, duration: timedelta) -> datetime:
    """The first instant (aware, UTC) at which `duration` of working time has elapsed since
    `start`. A start outside working time counts from the next working period; a deadline that
    lands on the end of a period is that end (17:00), not the next morning; zero gives `start`."""
    cursor = _require_aware(start, "start")
    if not isinstance(duration, timedelta):
        raise TypeError("duration must be a timedelta")
    if duration < _ZERO:
        raise ValueError("duration must not be negative")
    remaining = duration
    if not remaining:
        return cursor
    day = cursor.astimezone(calendar._zone).date()
    first_day = True
    while True:
        # Whole ordinary weeks cost one lookup each, so 2,000 hours is ~60 steps, not ~400 days.
        if not first_day and remaining > calendar._week_total and calendar._ordinary_week(day):
            remaining -= calendar._week_total
            day += _WEEK
            continue
        for begin, end in calendar._intervals(day):
            if end <= cursor:
                continue
            begin = max(begin, cursor)
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        first_day = False
        day += _DAY


def working_time_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time from `start` to `end`; negative when `end` is earlier (an overdue ticket's
    "time left" is minus the working time since its deadline)."""
    low, high = _require_aware(start, "start"), _require_aware(end, "end")
    if high < low:
        return -working_time_between(calendar, end, start)
    day = low.astimezone(calendar._zone).date()
    total = _ZERO
    while True:
        day_start = calendar._utc(day, _MIDNIGHT)
        if day_start >= high:
            return total
        if (day_start >= low and calendar._utc(day + _WEEK, _MIDNIGHT) <= high
                and calendar._ordinary_week(day)):
            total += calendar._week_total
            day += _WEEK
            continue
        for begin, finish in calendar._intervals(day):
            begin, finish = max(begin, low), min(finish, high)
            if finish > begin:
                total += finish - begin
        day += _DAY


def reminder_at(calendar: WorkingCalendar, start: datetime, deadline: datetime, fraction: float = 0.75) -> datetime:
    """The instant (aware, UTC) when `fraction` of the working time from `start` to `deadline`
    has elapsed: strictly before the deadline whenever start < deadline. If no working time
    lies between them, the same fraction of the clock time is used instead."""
    low, high = _require_aware(start, "start"), _require_aware(deadline, "deadline")
    share = Fraction(fraction)
    if not 0 < share < 1:
        raise ValueError("fraction must be between 0 and 1 (exclusive)")
    if high < low:
        raise ValueError("deadline is before start")
    total = working_time_between(calendar, low, high)
    if total > _ZERO:
        return add_working_time(calendar, low, _scaled(total, share))
    return low + _scaled(high - low, share)


def _scaled(span: timedelta, share: Fraction) -> timedelta:
    # Exact and rounded down, so share < 1 of a positive span stays strictly below the span.
    micros = span // _MICROSECOND
    return timedelta(microseconds=micros * share.numerator // share.denominator)


# The shipped Vietnamese data (core/data/holidays_vn.json).

@lru_cache(maxsize=1)
def vietnam_holiday_data() -> Mapping[str, Any]:
    """The parsed data file, read once (names and sources per date, for an admin screen). Do not mutate."""
    text = (resources.files("core") / "data" / "holidays_vn.json").read_text(encoding="utf-8")
    data: Mapping[str, Any] = json.loads(text)
    return data


def vietnam_holiday_years() -> dict[int, str]:
    """Years the shipped holiday data covers, each "official" (published schedule) or
    "provisional" (statutory rule, placement assumed). Outside them no holidays are known."""
    return {int(year): entry["status"] for year, entry in vietnam_holiday_data()["years"].items()}


def load_vietnam_calendar(extra_holidays: Iterable[date] = (), extra_working_days: Iterable[date] = (),
                          *, include_pending: bool = False) -> WorkingCalendar:
    """The Vietnamese state-agency calendar: office hours, public holidays and make-up
    Saturdays from the shipped data. The administrator's extra holidays and working days
    (e.g. `Settings.sla_extra_holidays`) win over the shipped data for the same date.
    `include_pending` adds holidays announced but not yet in law (see the data file)."""
    data = vietnam_holiday_data()
    holidays: set[date] = set()
    working: set[date] = set()
    for entry in data["years"].values():
        holidays.update(date.fromisoformat(item["date"]) for item in entry["holidays"])
        working.update(date.fromisoformat(item["date"]) for item in entry["extra_working_days"])
    if include_pending:
        holidays.update(date.fromisoformat(item["date"]) for item in data["pending"]["holidays"])
    added_off = _dates(extra_holidays, "extra_holidays")
    added_on = _dates(extra_working_days, "extra_working_days")
    if clash := sorted(added_off & added_on):
        raise ValueError(f"dates both extra holidays and extra working days: {', '.join(map(str, clash))}")
    office = data["office_hours"]
    periods = tuple((time.fromisoformat(start), time.fromisoformat(end)) for start, end in office["periods"])
    weekly = tuple(periods if weekday in office["weekdays"] else () for weekday in range(7))
    return WorkingCalendar(timezone=data["timezone"], weekly_periods=weekly,
                           holidays=frozenset((holidays - added_on) | added_off),
                           extra_working_days=frozenset((working - added_off) | added_on))
