"""What the ticket detail page shows (CRM-04): the ticket with readable names, its progress as a
list and a tree, its inbox tasks and what its process waits for, and which diagram elements
are done or current. Reads only; the page route is the unit of work."""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api import lifecycle
from api.services import AppServices
from core import engine_types as et
from core.bpmn_layout import BPMN_NS, with_layout
from core.errors import HotlineError
from core.models import Area, OrgUnit, TicketField, User
from core.models.tickets import (
    BpmnVersion,
    HumanTask,
    HumanTaskStatus,
    Ticket,
    TicketEventNode,
    TicketEventPublic,
)
from core.services.tickets import LOCAL_TZ
from ui.i18n import N_
from ui.labels import CHANNEL_LABELS, STATUS_LABELS  # noqa: F401 (the page reads them as v.STATUS_LABELS)

PROCESS_QUERY_TIMEOUT_S = 5.0  # the page must come back even when Temporal hangs

log = logging.getLogger(__name__)

ACTION_LABELS = {
    "received": N_("Report received"), "auto_dispatched": N_("Dispatched automatically by rule"),
    "dispatched": N_("Dispatched to a unit"), "assigned": N_("Assigned to an officer"),
    "assigned_subunit": N_("Handed to a subordinate unit"), "sla_started": N_("Processing deadline set"),
    "sla_reminded": N_("Deadline reminder sent"), "overdue": N_("Processing deadline passed"),
    "result_sent": N_("Result sent for approval"), "approved": N_("Result approved"), "rejected": N_("Returned to the officer"),
    "resolved": N_("Closed with a result"), "spam_reported": N_("Reported as spam"), "spam": N_("Marked as spam"),
    "out_of_area_reported": N_("Reported as out of area"), "out_of_area": N_("Returned to the desk as out of area"),
    "support_requested": N_("Support requested from another unit"), "support_answered": N_("Support unit answered"),
    "task_opened": N_("Task opened"), "task_completed": N_("Task done"), "task_cancelled": N_("Task cancelled"),
    "attachment_added": N_("File attached"), "edited": N_("Corrected at the desk"), "deleted": N_("Deleted by the desk"),
}
LANE_LABELS = {"coordinator": N_("1022 desk"), "unit_manager": N_("Unit manager"), "officer": N_("Case officer")}
TASK_STATUS_LABELS = {"open": N_("Waiting"), "claimed": N_("Taken"), "completed": N_("Done"), "cancelled": N_("Cancelled")}


def local_time(value: datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if value else ""


@dataclass
class TicketNames:
    field: str | None = None
    area: str | None = None
    unit: str | None = None
    assignee: str | None = None


@dataclass
class ProcessPanel:
    """The process now, or why it cannot be shown."""

    started: bool
    state: et.ProcessState | None = None
    unavailable: str | None = None  # an English message id

    @property
    def timers(self) -> list[tuple[et.WaitingTimer, str]]:
        if self.state is None:
            return []
        return [(t, local_time(datetime.fromisoformat(t.deadline))) for t in self.state.timers]


@dataclass
class DiagramMarks:
    done: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # timers armed
    failed: list[str] = field(default_factory=list)  # the incident's step

    def as_json(self) -> dict[str, list[str]]:
        return {"done": self.done, "current": self.current, "waiting": self.waiting, "failed": self.failed}


async def names(session: AsyncSession, ticket: Ticket) -> TicketNames:
    out = TicketNames()
    if ticket.field_id and (f := await session.get(TicketField, ticket.field_id)):
        out.field = f.name
    if ticket.area_id and (a := await session.get(Area, ticket.area_id)):
        out.area = a.name
    if ticket.current_unit_id and (u := await session.get(OrgUnit, ticket.current_unit_id)):
        out.unit = u.name
    if ticket.assignee_id and (p := await session.get(User, ticket.assignee_id)):
        out.assignee = p.full_name
    return out


async def unit_names(session: AsyncSession, events: list[TicketEventPublic]) -> dict[int, str]:
    ids = {e.unit_id for e in events if e.unit_id is not None}
    if not ids:
        return {}
    rows = (await session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ids)))).all()
    return {u.id: u.name for u in rows if u.id is not None}


# Steps that open a stage of the handling: what follows is shown under them in the tree. The
# engine's own nesting (an event's parent_id) is kept; events without one are grouped here.
_STAGES = {"received": 0, "dispatched": 0, "auto_dispatched": 0, "assigned_subunit": 0, "out_of_area": 0,
           "assigned": 1}


@dataclass
class TreeItem:
    event: TicketEventNode
    children: list[TreeItem] = field(default_factory=list)


def _item(node: TicketEventNode) -> TreeItem:
    return TreeItem(node, [_item(c) for c in node.children])


def progress_tree(roots: list[TicketEventNode]) -> list[TreeItem]:
    """The progress tree (CRM-04): each step under the dispatch or assignment it belongs to."""
    out: list[TreeItem] = []
    stages: list[TreeItem] = []
    for node in roots:
        item = _item(node)
        level = _STAGES.get(node.action)
        if level is not None and level <= len(stages):
            (stages[level - 1].children if level else out).append(item)
            stages = stages[:level] + [item]
        else:
            (stages[-1].children if stages else out).append(item)
    return out


async def human_tasks(session: AsyncSession, ticket: Ticket) -> list[HumanTask]:
    return list((await session.exec(select(HumanTask).where(HumanTask.ticket_id == ticket.id)
                                    .order_by(col(HumanTask.created_at), col(HumanTask.id)))).all())


async def process_panel(services: AppServices, ticket: Ticket) -> ProcessPanel:
    if not ticket.workflow_id or not ticket.bpmn_sha256:
        return ProcessPanel(started=False)
    try:
        state = await asyncio.wait_for(lifecycle.process_state(services, ticket.workflow_id), PROCESS_QUERY_TIMEOUT_S)
    except (TimeoutError, HotlineError) as exc:
        log.warning("process state of %s not available: %s", ticket.code, exc)
        return ProcessPanel(started=True, unavailable=N_("The process engine cannot be reached right now."))
    return ProcessPanel(started=True, state=state)


def marks(tasks: list[HumanTask], panel: ProcessPanel, start_ids: list[str]) -> DiagramMarks:
    out = DiagramMarks(done=list(start_ids) if panel.started else [])
    active = (HumanTaskStatus.open, HumanTaskStatus.claimed)
    for task in tasks:
        bucket = out.current if task.status in active else out.done if task.status == HumanTaskStatus.completed else None
        if bucket is not None and task.bpmn_id not in bucket:
            bucket.append(task.bpmn_id)
    state = panel.state
    if state is not None:
        for open_task in state.open_tasks:
            if open_task.bpmn_id not in out.current:
                out.current.append(open_task.bpmn_id)
        out.waiting = sorted({t.bpmn_id for t in state.timers})
        if state.incident is not None and state.incident.bpmn_id:
            out.failed = [state.incident.bpmn_id]
    out.done = [d for d in out.done if d not in out.current]
    return out


async def pinned_version(session: AsyncSession, ticket: Ticket) -> BpmnVersion | None:
    if not ticket.bpmn_sha256:
        return None
    return (await session.exec(select(BpmnVersion).where(BpmnVersion.sha256 == ticket.bpmn_sha256))).first()


@lru_cache(maxsize=16)
def laid_out(sha256: str, content: str) -> str:
    """The pinned diagram with a layout for the viewer (versions never change: cached by hash)."""
    return with_layout(content)


@lru_cache(maxsize=16)
def start_events(sha256: str, content: str) -> tuple[str, ...]:
    root = ET.fromstring(content.encode("utf-8"))
    return tuple(e.get("id", "") for e in root.iter(f"{{{BPMN_NS}}}startEvent"))


def form_note(data: dict[str, Any] | None) -> str | None:
    """A short human note from an event's data (the officer's result, an answer)."""
    if not data:
        return None
    for key in ("result", "answer"):
        if isinstance(data.get(key), str):
            return str(data[key])
    return None
