"""The SLA operators of the ticket life cycle (`start_sla`, `remind_due`), run by the worker as
local activities. Idempotent by the Spiff task id (start) and by the deadline (reminders)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import unit_of_work
from core.engine_types import ServiceCallInput
from core.ports import Notifier
from core.services import delivery, sla
from core.sla_calendar import WorkingCalendar

OPERATORS = ("start_sla", "remind_due")


class SlaOperations:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier, calendar: WorkingCalendar,
                 reminder_fraction: float, default_hours: float | None = None) -> None:
        """`default_hours`: take the ticket's field's SLA when the clock starts (None: the hours
        the diagram passes, as tests with a short SLA override do)."""
        self.sessions = sessions
        self.notifier = notifier
        self.calendar = calendar
        self.reminder_fraction = reminder_fraction
        self.default_hours = default_hours

    def all(self) -> list[object]:
        return [self.start_sla, self.remind_due]

    @activity.defn(name="start_sla")
    async def start_sla(self, input: ServiceCallInput) -> dict[str, Any]:
        try:
            hours = float(input.params["hours"])
            if not 0 < hours <= 24 * 366:
                raise ValueError(f"SLA hours out of range: {hours}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ApplicationError(f"invalid_params: {exc!r}", type="invalid_params", non_retryable=True) from exc
        async with unit_of_work(self.sessions) as session:
            clock = await sla.start_clock(session, input.business_key, f"op:{input.task_id}", hours,
                                          bool(input.params.get("working_hours")), self.calendar, self.reminder_fraction,
                                          self.default_hours)
        return clock.as_data()

    @activity.defn(name="remind_due")
    async def remind_due(self, input: ServiceCallInput) -> dict[str, Any]:
        async with unit_of_work(self.sessions) as session:
            prefix = await sla.remind_due(session, input.business_key)
        if prefix is None:
            return {"reminded": False}
        await delivery.send_pending(self.sessions, self.notifier, prefix)
        return {"reminded": True}
