"""The ticket life cycle's service-task operators (`spiffworkflow:serviceTaskOperator`): each
is a Temporal activity named like the operator, taking a ServiceCallInput whose Spiff task id
makes the call idempotent. Bad parameters from a diagram are permanent failures (an incident
for the desk to see), not retries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import unit_of_work
from core.engine_types import ServiceCallInput
from core.errors import HotlineError
from core.i18n import translate
from core.models.tickets import Ticket, TicketStatus
from core.ports import Notifier
from core.services import delivery, lifecycle, message_templates, messages, tickets

OPERATORS = ("auto_dispatch", "move_ticket", "mark_overdue", "notify_unit", "notify_citizen")

def _permanent(exc: HotlineError) -> ApplicationError:
    return ApplicationError(f"invalid_params: {translate(exc.message, 'en', **exc.params)} {exc.details or ''}",
                            type="invalid_params", non_retryable=True)


def _text(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    return str(value)[:2000] if value not in (None, "") else None


class TicketOperations:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier) -> None:
        self.sessions = sessions
        self.notifier = notifier

    def all(self) -> list[object]:
        return [self.auto_dispatch, self.move_ticket, self.mark_overdue, self.notify_unit, self.notify_citizen]

    @activity.defn(name="auto_dispatch")
    async def auto_dispatch(self, input: ServiceCallInput) -> dict[str, Any]:
        async with unit_of_work(self.sessions) as session:
            unit = await lifecycle.auto_dispatch_target(session, input.params.get("field_id"), input.params.get("area_id"))
        return {"auto_unit_path": unit.path if unit else None}

    @activity.defn(name="move_ticket")
    async def move_ticket(self, input: ServiceCallInput) -> dict[str, Any]:
        p = input.params
        try:
            move = lifecycle.Move(action=str(p["action"]), status=TicketStatus(p["status"]) if p.get("status") else None,
                                  unit_path=_text(p, "unit_path"), assignee=_text(p, "assignee"), actor=_text(p, "actor"),
                                  note=_text(p, "note"), parent_event_key=_text(p, "parent_event"),
                                  sla_hours=float(p["sla_hours"]) if p.get("sla_hours") not in (None, "") else None)
        except (KeyError, ValueError) as exc:
            raise ApplicationError(f"invalid_params: {exc!r}", type="invalid_params", non_retryable=True) from exc
        try:
            async with unit_of_work(self.sessions) as session:
                await lifecycle.move_ticket(session, input.business_key, f"op:{input.task_id}", move)
        except HotlineError as exc:
            raise _permanent(exc) from exc
        return {"event_key": f"op:{input.task_id}"}

    @activity.defn(name="mark_overdue")
    async def mark_overdue(self, input: ServiceCallInput) -> dict[str, Any]:
        async with unit_of_work(self.sessions) as session:
            await lifecycle.mark_overdue(session, input.business_key, f"op:{input.task_id}")
        await delivery.send_pending(self.sessions, self.notifier, f"op:{input.task_id}:")
        return {"overdue": True}

    @activity.defn(name="notify_unit")
    async def notify_unit(self, input: ServiceCallInput) -> dict[str, Any]:
        p = input.params
        try:
            async with unit_of_work(self.sessions) as session:
                count = await lifecycle.notify_unit(session, input.business_key, f"op:{input.task_id}", _text(p, "unit_path"),
                                                    str(p.get("role") or "unit_manager"), str(p.get("title") or "Phản ánh mới"))
        except HotlineError as exc:
            raise _permanent(exc) from exc
        await delivery.send_pending(self.sessions, self.notifier, f"op:{input.task_id}:")
        return {"notified": count}

    @activity.defn(name="notify_citizen")
    async def notify_citizen(self, input: ServiceCallInput) -> dict[str, Any]:
        key = f"{input.business_key}:{input.task_id}"
        async with unit_of_work(self.sessions) as session:
            ticket = (await session.exec(select(Ticket).where(Ticket.code == input.business_key))).first()
            # a citizen who wrote on Zalo is told on Zalo; else by SMS to their phone
            zalo_user = await messages.zalo_user_of(session, ticket.id) if ticket and ticket.channel == "zalo" else None
            channel, recipient = ("zalo", zalo_user) if zalo_user else ("sms", ticket.citizen_phone if ticket else None)
            if ticket is None or not recipient:
                return {"sent": False}
            template = f"citizen_{input.params.get('kind')}"
            if template not in message_templates.KINDS:
                raise ApplicationError(f"invalid_params: no citizen message {template!r}", type="invalid_params",
                                       non_retryable=True)
            body = await message_templates.render(session, template, {
                "code": ticket.code, "result": _text(input.params, "result") or "",
                "received_at": ticket.created_at.astimezone(tickets.LOCAL_TZ).strftime("%d/%m/%Y %H:%M")})
            if body is None:
                return {"sent": False, "switched_off": True}
            # Recorded once, then sent once: a retried activity does not text the citizen twice.
            await delivery.queue_message(session, key, channel, recipient, body, template, ticket_id=ticket.id)
        report = await delivery.send_pending(self.sessions, self.notifier, key, retry_errors=True)
        if report.failed:
            raise ApplicationError("the SMS gateway failed; retrying", type="delivery_failed")
        return {"sent": not report.refused}  # refused for good (invalid number…): failed in the message log
