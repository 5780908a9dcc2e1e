"""The desk's shifts (OPS-04: a 24/7 desk of six operators). Shifts are local times of day,
`06:00-14:00,14:00-22:00,22:00-06:00` by default (HOTLINE_DESK_SHIFTS); a shift may cross
midnight. An agent belongs to the shift in which they logged in: the agents' list and the monitor
show it, and an agent still logged in `grace` after their shift ended, who is not on a call, is
logged out (`end_overdue_logins`), so the queue never rings the empty desk of someone who went
home without logging out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models.base import utcnow
from core.models.calls import AgentState, AgentStatus

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_PERIOD = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True)
class Shift:
    number: int  # 1, 2, 3 … in the order given
    start: time
    end: time

    @property
    def label(self) -> str:
        return f"{self.number} ({self.start:%H:%M}–{self.end:%H:%M})"

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # crosses midnight

    def ends_after(self, started: datetime) -> datetime:
        """The end of this shift's occurrence that contains `started` (aware, local)."""
        local = started.astimezone(LOCAL_TZ)
        end = datetime.combine(local.date(), self.end, LOCAL_TZ)
        if end <= local:
            end += timedelta(days=1)
        return end


def parse_shifts(text: str) -> tuple[Shift, ...]:
    """'06:00-14:00,14:00-22:00,22:00-06:00' -> shifts (ValueError with the reason)."""
    shifts = []
    for number, part in enumerate((p for p in text.split(",") if p.strip()), start=1):
        found = _PERIOD.match(part)
        if found is None:
            raise ValueError(f"shift {number} {part.strip()!r} is not HH:MM-HH:MM")
        start, end = time(int(found[1]), int(found[2])), time(int(found[3]), int(found[4]))
        if start == end:
            raise ValueError(f"shift {number} starts and ends at {start:%H:%M}")
        shifts.append(Shift(number, start, end))
    return tuple(shifts)


def shift_at(shifts: tuple[Shift, ...], moment: datetime) -> Shift | None:
    local = moment.astimezone(LOCAL_TZ).time()
    return next((s for s in shifts if s.contains(local)), None)


async def end_overdue_logins(session: AsyncSession, shifts: tuple[Shift, ...], grace: timedelta,
                             now: datetime | None = None) -> list[int]:
    """Log out the agents whose shift ended more than `grace` ago and who are not on a call
    (ready, or paused); returns their ids. The caller announces the change to the application."""
    now = now or utcnow()
    rows = (await session.exec(select(AgentState).where(
        col(AgentState.status).in_([AgentStatus.ready, AgentStatus.paused]),
        col(AgentState.logged_in_at).is_not(None)).with_for_update())).all()
    ended = []
    for row in rows:
        shift = shift_at(shifts, row.logged_in_at)  # type: ignore[arg-type]
        if shift is not None and now >= shift.ends_after(row.logged_in_at) + grace:  # type: ignore[arg-type]
            ended.append(row.user_id)
    return ended
