"""The deadline a ticket's SLA gives: clock hours, or office hours less holidays, and the
reminder before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.services.sla import deadline
from core.sla_calendar import load_vietnam_calendar

CALENDAR = load_vietnam_calendar()
# Thursday 2026-11-26 16:00 in Đồng Nai (09:00 UTC)
THURSDAY_4PM = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_clock_hours_run_through_nights_and_weekends() -> None:
    clock = deadline(THURSDAY_4PM, 24, False, CALENDAR, 0.75)
    assert clock.due_at == THURSDAY_4PM + timedelta(hours=24)
    assert clock.remind_at == THURSDAY_4PM + timedelta(hours=18)


def test_office_hours_skip_the_evening_lunch_and_the_weekend() -> None:
    # 8 working hours from Thursday 16:00: 1 h on Thursday, 4 h Friday morning, 3 h after lunch
    clock = deadline(THURSDAY_4PM, 8, True, CALENDAR, 0.75)
    assert clock.due_at == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # Friday 16:30 local
    # the reminder when 6 of the 8 hours are used: Friday 14:30 local
    assert clock.remind_at == datetime(2026, 11, 27, 7, 30, tzinfo=UTC)
    # 12 working hours run over the weekend into Monday: 8 h to Friday 16:30, 0.5 h, then 3.5 h Monday
    assert deadline(THURSDAY_4PM, 12, True, CALENDAR, 0.75).due_at == datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
