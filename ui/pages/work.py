"""What the desk's and the units' work pages share: labels of statuses, channels and tasks, the
pickers a task form offers the person acting, and a task's page data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.i18n import translate
from core.models.tickets import Channel, HumanTask, Ticket, TicketStatus
from core.services import inbox, work_queue
from core.services.actor import Actor
from core.services.tickets import LOCAL_TZ
from core.services.work_queue import Choice
from ui.labels import CHANNEL_LABELS, STATUS_LABELS
from ui.task_forms import OFFICER_FIELDS, FormField, build_form

DESK_CHANNELS = (Channel.call, Channel.sms, Channel.zalo, Channel.app, Channel.web, Channel.desk)
# The diagram names its tasks in Vietnamese; the English UI shows these instead.
_TASK_EN = {
    "dispatch": "Dispatch the report", "assign": "Assign the processing", "process": "Process the report",
    "approve_result": "Approve the result", "close": "Receive the result and close", "approve_spam": "Approve a spam report",
    "confirm_spam": "Confirm spam", "approve_out_of_area": "Approve an out-of-area report",
    "redispatch": "Dispatch again to the right area", "approve_support": "Approve a support request",
    "support_answer": "Answer a support request",
}


def status_label(status: str, locale: str) -> str:
    message = STATUS_LABELS.get(TicketStatus(status)) if status in TicketStatus._value2member_map_ else None
    return translate(message, locale) if message else status


def channel_label(channel: str, locale: str) -> str:
    message = CHANNEL_LABELS.get(Channel(channel)) if channel in Channel._value2member_map_ else None
    return translate(message, locale) if message else channel


def task_label(bpmn_id: str, name: str, locale: str) -> str:
    return _TASK_EN.get(bpmn_id, name) if locale == "en" else name




async def task_choices(session: AsyncSession, actor: Actor, task: HumanTask) -> dict[str, list[Choice]]:
    """Pickers for the fields of this task's form: units (the desk: any; a manager: their
    subtree; an officer asking for support: any other unit) and the officers of the task's unit."""
    names = set((task.form_schema or {}).get("properties", {}))
    out: dict[str, list[Choice]] = {}
    if "unit_path" in names:
        out["unit_path"] = await work_queue.unit_choices(session)
    if "subunit_path" in names:
        out["subunit_path"] = await work_queue.unit_choices(session, actor.unit_path, exclude_id=actor.unit_id) \
            if actor.unit_path else []
    if "support_unit_path" in names:
        out["support_unit_path"] = await work_queue.unit_choices(session, exclude_id=actor.unit_id)
    for name in OFFICER_FIELDS:
        if name in names:
            out[name] = await work_queue.officer_choices(session, task.candidate_unit_id or actor.unit_id)
    return out


@dataclass
class TaskView:
    task: HumanTask
    ticket: Ticket
    label: str
    fields: list[FormField]
    can_act: bool  # the person holds the task's role (the engine checks the unit too)
    mine: bool  # claimed by this person
    unit_name: str | None

    @property
    def status_attr(self) -> str:
        return str(self.task.status)


async def task_view(session: AsyncSession, actor: Actor, task_id: int, locale: str) -> TaskView:
    """A task the person may complete now (else the inbox's 404 / 403 / 409)."""
    task, _workflow_id = await inbox.task_for_completion(session, actor, task_id)
    ticket = await work_queue.ticket_of_task(session, task)
    fields = build_form(task.form_schema, await task_choices(session, actor, task), locale)
    return TaskView(task, ticket, task_label(task.bpmn_id, task.name, locale), fields, task.lane in actor.roles,
                    task.assignee_id == actor.user_id, await work_queue.unit_name(session, ticket.current_unit_id))


def page_numbers(total: int, per_page: int) -> int:
    return max((total + per_page - 1) // per_page, 1)


def local_time(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else "—"


def template_helpers(locale: str) -> dict[str, Any]:
    return {"status_label": lambda s: status_label(s, locale), "channel_label": lambda c: channel_label(c, locale),
            "task_label": lambda b, n: task_label(b, n, locale), "local_time": local_time}
