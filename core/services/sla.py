"""A ticket's processing deadline (PERM-11, OPS-05): the clock starts when an officer gets the
ticket and counts the field's SLA hours in clock hours or in office hours less public holidays
(core.sla_calendar, setting `sla_calendar`); a reminder goes out before the deadline (setting
`sla_reminder_fraction` of the time). The workflow's timers fire at the returned times; the
ticket row keeps `due_at` for lists, filters and reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import OrgUnit, TicketField
from core.models.base import utcnow
from core.models.notifications import NotificationEvent
from core.models.tickets import TicketEvent, TicketStatus
from core.services.delivery import notify_users
from core.services.inbox import candidates
from core.services.tickets import LOCAL_TZ, record_event, ticket_by_code
from core.sla_calendar import WorkingCalendar, add_working_time, reminder_at

OPEN_STATES = {TicketStatus.dispatched, TicketStatus.assigned, TicketStatus.pending_approval}


@dataclass(frozen=True)
class SlaClock:
    due_at: datetime
    remind_at: datetime

    def as_data(self) -> dict[str, str]:
        return {"due_at": self.due_at.isoformat(), "remind_at": self.remind_at.isoformat()}


def deadline(start: datetime, hours: float, working_hours: bool, calendar: WorkingCalendar,
             reminder_fraction: float) -> SlaClock:
    """When `hours` of SLA time have passed after `start`, and when to remind before that."""
    span = timedelta(hours=hours)
    if working_hours:
        due = add_working_time(calendar, start, span)
        return SlaClock(due, reminder_at(calendar, start, due, reminder_fraction))
    return SlaClock(start + span, start + span * reminder_fraction)


async def field_sla_hours(session: AsyncSession, field_id: int | None, default_hours: float) -> float:
    """The SLA of a field, else of its nearest parent field that has one, else the default."""
    field = await session.get(TicketField, field_id) if field_id else None
    while field is not None and field.sla_hours is None and field.parent_id is not None:
        field = await session.get(TicketField, field.parent_id)
    return float(field.sla_hours) if field is not None and field.sla_hours else float(default_hours)


async def start_clock(session: AsyncSession, code: str, key: str, hours: float, working_hours: bool,
                      calendar: WorkingCalendar, reminder_fraction: float,
                      default_hours: float | None = None) -> SlaClock:
    """Start (once per `key`: a retried operator gets the first answer back) the deadline.
    With `default_hours`, the hours are the ticket's field's SLA *now* (the desk may have
    corrected the field, an administrator may have changed its SLA since the ticket came in);
    without, the given `hours` (a test's short SLA)."""
    ticket = await ticket_by_code(session, code, lock=True)
    recorded = (await session.exec(select(TicketEvent.data).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.dedupe_key == key))).first()
    if recorded:
        return SlaClock(datetime.fromisoformat(recorded["due_at"]), datetime.fromisoformat(recorded["remind_at"]))
    if default_hours is not None:
        hours = await field_sla_hours(session, ticket.field_id, default_hours)
    clock = deadline(utcnow(), hours, working_hours, calendar, reminder_fraction)
    ticket.due_at, ticket.overdue = clock.due_at, False
    session.add(ticket)
    await record_event(session, ticket.id, "sla_started", key, unit_id=ticket.current_unit_id,  # type: ignore[arg-type]
                       data={**clock.as_data(), "hours": hours, "working_hours": working_hours})
    return clock


async def remind_due(session: AsyncSession, code: str) -> str | None:
    """Remind the officer and the unit's managers that the deadline is near, once per deadline
    (the diagram re-arms its timers when the processing task comes back after a rejection).
    Returns the notification key prefix for `delivery.send_pending`, None when nothing was due."""
    ticket = await ticket_by_code(session, code)
    if ticket.due_at is None or ticket.overdue or ticket.status not in OPEN_STATES:
        return None
    unit = await session.get(OrgUnit, ticket.current_unit_id) if ticket.current_unit_id else None
    people = ([ticket.assignee_id] if ticket.assignee_id else []) + await candidates(session, "unit_manager", unit)
    key = f"remind:{ticket.code}:{ticket.due_at.isoformat()}"
    local = ticket.due_at.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
    await notify_users(session, people, NotificationEvent.ticket_due_soon, "due_soon",
                       f"Sắp đến hạn xử lý: {ticket.code}", f"Hạn xử lý {local}. {ticket.description[:160]}", ticket, key)
    await record_event(session, ticket.id, "sla_reminded", key, unit_id=ticket.current_unit_id)  # type: ignore[arg-type]
    return f"{key}:"

