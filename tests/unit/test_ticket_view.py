"""The ticket page's progress tree and diagram marks, from plain data."""

from __future__ import annotations

from datetime import UTC, datetime

from core import engine_types as et
from core.models.tickets import HumanTask, TicketEventNode
from ui.ticket_view import ProcessPanel, marks, progress_tree


def _event(i: int, action: str, children: list[TicketEventNode] | None = None) -> TicketEventNode:
    return TicketEventNode(id=i, parent_id=None, at=datetime(2025, 1, 1, 8, i, tzinfo=UTC), actor_id=None,
                           actor_name=None, unit_id=None, action=action, note=None, data=None, children=children or [])


def _shape(items) -> list:
    return [(i.event.action, _shape(i.children)) for i in items]


def test_steps_sit_under_the_dispatch_and_the_assignment_they_belong_to() -> None:
    roots = [_event(1, "received"), _event(2, "task_opened"), _event(3, "dispatched"), _event(4, "task_opened"),
             _event(5, "assigned"), _event(6, "sla_started"), _event(7, "rejected"),
             _event(8, "dispatched", [_event(9, "attachment_added")])]
    assert _shape(progress_tree(roots)) == [
        ("received", [("task_opened", [])]),
        ("dispatched", [("task_opened", []), ("assigned", [("sla_started", []), ("rejected", [])])]),
        ("dispatched", [("attachment_added", [])]),
    ]


def test_an_assignment_without_a_dispatch_before_it_stays_at_the_top() -> None:
    assert _shape(progress_tree([_event(1, "assigned"), _event(2, "overdue")])) == [("assigned", []), ("overdue", [])]


def test_marks_done_current_waiting_and_failed_steps() -> None:
    tasks = [HumanTask(ticket_id=1, spiff_task_id="a", bpmn_id="dispatch", name="d", lane="coordinator", status="completed"),
             HumanTask(ticket_id=1, spiff_task_id="b", bpmn_id="assign", name="a", lane="unit_manager", status="open")]
    state = et.ProcessState(open_tasks=[et.HumanTask("b", "assign", "a", "unit_manager")],
                            timers=[et.WaitingTimer("t", "sla_deadline", "late", "2025-01-02T08:00:00+00:00")],
                            incident=et.EngineIncidentInfo("boom", "notify_manager", "x", True))
    out = marks(tasks, ProcessPanel(started=True, state=state), ["received"])
    assert out.as_json() == {"done": ["received", "dispatch"], "current": ["assign"], "waiting": ["sla_deadline"],
                             "failed": ["notify_manager"]}
