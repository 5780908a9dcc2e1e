"""The desk's shifts (OPS-04): parsing, which shift a moment belongs to (midnight crossed), when
an occurrence ends."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from pydantic import ValidationError

from core.services.shifts import LOCAL_TZ, parse_shifts, shift_at
from core.settings import Settings

SHIFTS = parse_shifts("06:00-14:00,14:00-22:00,22:00-06:00")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(("moment", "number"), [
    (local(26, 6), 1), (local(26, 13, 59), 1), (local(26, 14), 2), (local(26, 21, 59), 2), (local(26, 22), 3),
    (local(27, 0, 30), 3), (local(27, 5, 59), 3)])
def test_each_moment_has_its_shift(moment: datetime, number: int) -> None:
    assert shift_at(SHIFTS, moment).number == number  # type: ignore[union-attr]


def test_an_occurrence_ends_at_the_next_end_even_across_midnight() -> None:
    night = SHIFTS[2]
    assert night.ends_after(local(26, 23)) == local(27, 6)
    assert night.ends_after(local(27, 1)) == local(27, 6)
    assert SHIFTS[0].ends_after(local(26, 7)) == local(26, 14)
    assert night.label == "3 (22:00–06:00)"


def test_a_gap_between_shifts_belongs_to_none() -> None:
    office = parse_shifts("07:30-11:30, 13:30-17:00")
    assert shift_at(office, local(26, 12)) is None and office[1].start == time(13, 30)


@pytest.mark.parametrize("text", ["06:00-06:00", "6-14", "25:00-02:00", "06:00-14:00;14:00-22:00"])
def test_bad_shifts_are_refused_by_the_settings(text: str) -> None:
    with pytest.raises(ValidationError):
        Settings(env="test", desk_shifts=text)
