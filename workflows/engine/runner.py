"""One running process: the small API the Temporal workflow drives Spiff through.

The runner never waits and never does I/O. `step()` runs everything the engine can run by
itself; what is left is a list of pending service calls, open user tasks, waiting timers and
the messages the process accepts. The caller brings results back (`complete_service_call`,
`complete_user_task`, `deliver_message`) and steps again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from core.engine_types import INVALID_FORM, NOT_ALLOWED, TASK_NOT_OPEN, UNKNOWN_MESSAGE, HumanTask, WaitingTimer
from workflows.engine.clock import EngineClock, spiff_clock
from workflows.engine.errors import EngineIncident, TaskRefused
from workflows.engine.forms import validate_form
from workflows.engine.parser import ProcessSpec
from workflows.engine.script_engine import RestrictedScriptEngine
from workflows.engine.serializer import dump, load, state_digest
from workflows.engine.specs import (
    SERVICE_CALL_KEY,
    ServiceCallTask,
    candidate_unit_expression,
    event_definitions,
    form_schema,
)

MAX_STEP_ROUNDS = 100


@dataclass(frozen=True)
class PendingServiceCall:
    task_id: str
    bpmn_id: str
    operator: str  # the activity to run
    params: dict[str, Any]
    retries: int | None = None  # from <spiffworkflow:retry retries="…">, when the diagram sets it


def unit_covers(actor_unit_path: str | None, candidate_unit: str) -> bool:
    """An actor may work on a unit's task from that unit or any unit above it ('/1/' covers
    '/1/5/'), the same subtree rule as row scoping."""
    if not actor_unit_path:
        return False
    # Materialized paths end with "/" ('/1/5/'); without it '/1/5' would also cover '/1/55/'.
    return f"{candidate_unit.rstrip('/')}/".startswith(f"{actor_unit_path.rstrip('/')}/")


class ProcessRunner:
    def __init__(self, spec: ProcessSpec, workflow: BpmnWorkflow, clock: EngineClock | None = None) -> None:
        self.spec = spec  # the shared definition (hash, re-attach on load); the run uses its own copy
        self.workflow = workflow
        self.clock = clock
        self._views: dict[str, HumanTask] = {}  # READY user tasks, described once when they open

    # -- life cycle -----------------------------------------------------------------------

    @classmethod
    def start(cls, spec: ProcessSpec, data: dict[str, Any], clock: EngineClock | None = None) -> ProcessRunner:
        """A new run of `spec` with `data` as its start data; nothing runs until `step()`."""
        own = spec.own_copy()
        with spiff_clock(clock):
            workflow = BpmnWorkflow(own.spec, own.subprocess_specs, script_engine=RestrictedScriptEngine())
            start = workflow.get_next_task(spec_name="Start")
            start.data.update(copy.deepcopy(data))
        return cls(spec, workflow, clock)

    @classmethod
    def restore(cls, spec: ProcessSpec, state: dict[str, Any], clock: EngineClock | None = None) -> ProcessRunner:
        with spiff_clock(clock):
            runner = cls(spec, load(spec, state), clock)
        with runner._engine_call():
            runner._describe_user_tasks()
        return runner

    def dump(self) -> dict[str, Any]:
        return dump(self.workflow, self.spec.sha256)

    def digest(self) -> str:
        return state_digest(self.workflow)

    @property
    def completed(self) -> bool:
        return bool(self.workflow.is_completed())

    def result_data(self) -> dict[str, Any]:
        """The data at the main process's end event (or of its last task)."""
        ends = self.workflow.get_tasks(spec_name="End", state=TaskState.COMPLETED, skip_subprocesses=True)
        task = ends[0] if ends else self.workflow.last_task
        return copy.deepcopy(task.data) if task is not None else {}

    # -- stepping -------------------------------------------------------------------------

    def step(self) -> None:
        """Run every task the engine can run by itself (scripts, gateways, fired timers…)."""
        with self._engine_call():
            # A fired timer becomes READY after do_engine_steps' own loop: go round until the
            # engine settles, but never forever (a workflow task that never ends stalls the ticket).
            for _ in range(MAX_STEP_ROUNDS):
                self.workflow.do_engine_steps()
                self._refresh_all_timers()
                if not self._ready_engine_tasks():
                    break
            else:
                raise EngineIncident(f"the process did not settle after {MAX_STEP_ROUNDS} rounds (a timer loop?)")
            self._describe_user_tasks()

    def _refresh_all_timers(self) -> None:
        # do_engine_steps refreshes only the timers its event manager lists: refresh every
        # waiting task that has a timer, wherever it sits.
        for task in self._tasks(TaskState.WAITING):
            if event_definitions(task.task_spec, TimerEventDefinition):
                task.task_spec._update(task)

    def _ready_engine_tasks(self) -> list[Task]:
        return [task for task in self._tasks(TaskState.READY) if not task.task_spec.manual]

    @contextmanager
    def _engine_call(self) -> Iterator[None]:
        """Spiff calls on this run's clock; errors in the diagram become an EngineIncident."""
        with spiff_clock(self.clock):
            try:
                yield
            except (TaskRefused, EngineIncident):
                raise
            except SpiffWorkflowException as exc:
                task = getattr(exc, "task", None)
                notes = "; ".join(getattr(exc, "notes", []) or getattr(exc, "__notes__", []))
                raise EngineIncident(f"{exc}{f' ({notes})' if notes else ''}",
                                     bpmn_id=getattr(getattr(task, "task_spec", None), "bpmn_id", None),
                                     task_id=str(task.id) if task is not None else None) from exc
            except Exception as exc:  # any other failure inside Spiff is an incident too
                raise EngineIncident(f"{type(exc).__name__}: {exc}") from exc

    # -- service tasks --------------------------------------------------------------------

    def pending_service_calls(self) -> list[PendingServiceCall]:
        calls = []
        for task in self._tasks(TaskState.STARTED):
            call = task.internal_data.get(SERVICE_CALL_KEY)
            if isinstance(task.task_spec, ServiceCallTask) and call is not None:
                calls.append(PendingServiceCall(str(task.id), task.task_spec.bpmn_id, call["operator"],
                                                copy.deepcopy(call["params"]), task.task_spec.retries))
        return calls

    def complete_service_call(self, task_id: str, result: Any) -> None:
        """Write a service call's result into its result variable and complete the task."""
        task = self._find(task_id)
        if task is None or not isinstance(task.task_spec, ServiceCallTask) or SERVICE_CALL_KEY not in task.internal_data:
            raise TaskRefused(TASK_NOT_OPEN, f"no service call is pending for task {task_id}")
        with self._engine_call():
            task.internal_data.pop(SERVICE_CALL_KEY)
            task.data[task.task_spec.result_variable] = copy.deepcopy(result)
            task.complete()

    # -- user tasks -----------------------------------------------------------------------

    def open_user_tasks(self) -> list[HumanTask]:
        """The READY user tasks, in task-tree order."""
        return [self._views[str(task.id)] for task in self._ready_user_tasks() if str(task.id) in self._views]

    def check_completion(self, task_id: str, actor_roles: list[str], actor_unit_path: str | None,
                         data: dict[str, Any]) -> HumanTask:
        """Refuse (TaskRefused) a completion the engine would not accept; changes nothing."""
        task = self._find(task_id)
        view = self._views.get(task_id) if task is not None and task.state == TaskState.READY else None
        if view is None:
            raise TaskRefused(TASK_NOT_OPEN, f"task {task_id} is not open in this process")
        if view.lane not in actor_roles:
            raise TaskRefused(NOT_ALLOWED, f"task '{view.name}' is for the role '{view.lane}', which the actor "
                                           f"does not have")
        if view.candidate_unit and not unit_covers(actor_unit_path, view.candidate_unit):
            raise TaskRefused(NOT_ALLOWED, f"task '{view.name}' belongs to unit {view.candidate_unit}, outside the "
                                           f"actor's unit {actor_unit_path or '(none)'}")
        problems = validate_form(view.form_schema, data)
        if problems:
            raise TaskRefused(INVALID_FORM, "; ".join(problems))
        return view

    def complete_user_task(self, task_id: str, data: dict[str, Any]) -> None:
        """Merge the (already checked) form data into the task and complete it."""
        task = self._find(task_id)
        if task is None or task.state != TaskState.READY or not isinstance(task.task_spec, UserTask):
            raise TaskRefused(TASK_NOT_OPEN, f"task {task_id} is not open in this process")
        with self._engine_call():
            task.task_spec.add_data_from_form(task, copy.deepcopy(data))
            task.run()
        self._views.pop(task_id, None)

    def _ready_user_tasks(self) -> list[Task]:
        return [task for task in self._tasks(TaskState.READY) if isinstance(task.task_spec, UserTask)]

    def _describe_user_tasks(self) -> None:
        ready = self._ready_user_tasks()
        ready_ids = {str(task.id) for task in ready}
        for task_id in set(self._views) - ready_ids:
            del self._views[task_id]
        failure: Exception | None = None
        for task in ready:
            if str(task.id) not in self._views:
                try:
                    self._views[str(task.id)] = self._describe(task)
                except SpiffWorkflowException as exc:  # one bad candidate_unit must not hide the other tasks
                    failure = failure or exc
        if failure is not None:
            raise failure

    def _describe(self, task: Task) -> HumanTask:
        spec = task.task_spec
        expression = candidate_unit_expression(spec)
        unit = task.workflow.script_engine.evaluate(task, expression) if expression else None
        return HumanTask(task_id=str(task.id), bpmn_id=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id,
                         lane=spec.lane, candidate_unit=str(unit) if unit is not None else None,
                         form_schema=form_schema(spec))

    # -- timers ---------------------------------------------------------------------------

    def waiting_timers(self) -> list[WaitingTimer]:
        timers = []
        for task in self._tasks(TaskState.WAITING):
            deadline = _deadline(task)
            if deadline is not None:
                name = event_definitions(task.task_spec, TimerEventDefinition)[0].name or task.task_spec.bpmn_name
                timers.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id, name or "", deadline.isoformat()))
        return timers

    def next_deadline(self) -> datetime | None:
        deadlines = [deadline for task in self._tasks(TaskState.WAITING) if (deadline := _deadline(task))]
        return min(deadlines, default=None)

    # -- messages -------------------------------------------------------------------------

    def message_names(self) -> list[str]:
        """Messages the process accepts now: its message event sub-processes (Spiff does not
        list their start events as waiting) and the message events it waits at."""
        return sorted(self._message_definitions())

    def deliver_message(self, name: str, payload: dict[str, Any]) -> None:
        definition = self._message_definitions().get(name)
        if definition is None:
            raise TaskRefused(UNKNOWN_MESSAGE, f"the process does not accept the message '{name}' now")
        with self._engine_call():
            self.workflow.send_event(BpmnEvent(definition, payload=copy.deepcopy(payload)))

    def _message_definitions(self) -> dict[str, MessageEventDefinition]:
        if self.completed:
            return {}
        found: dict[str, MessageEventDefinition] = {}
        for name in self.workflow.spec.start.trigger_specs:
            for start_event in self.workflow.subprocess_specs[name].bpmn_start_events:
                if isinstance(start_event.event_definition, MessageEventDefinition):
                    found.setdefault(start_event.event_definition.name, start_event.event_definition)
        for task in self._tasks(TaskState.WAITING):
            for definition in event_definitions(task.task_spec, MessageEventDefinition):
                found.setdefault(definition.name, definition)
        return found

    # -- helpers --------------------------------------------------------------------------

    def _tasks(self, state: int) -> list[Task]:
        return self.workflow.get_tasks(state=state)

    def _find(self, task_id: str) -> Task | None:
        try:
            uuid = UUID(task_id)
        except (ValueError, TypeError, AttributeError):
            return None
        try:
            return self.workflow.get_task_from_id(uuid)
        except SpiffWorkflowException:
            return None


def _deadline(task: Task) -> datetime | None:
    """When a waiting timer task fires (UTC), read from the task itself."""
    timers = event_definitions(task.task_spec, TimerEventDefinition)
    if not timers:
        return None
    definition = timers[0]  # Spiff keeps one `event_value` per task, so one timer per task
    value = task.internal_data.get("event_value")
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            moment = datetime.fromisoformat(value["next"]) if isinstance(value, dict) and value["cycles"] != 0 else None
        elif isinstance(definition, DurationTimerEventDefinition):
            moment = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None
        else:
            parsed = TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) else None
            moment = parsed if isinstance(parsed, datetime) else None
    except (ValueError, TypeError, KeyError):
        return None
    return moment.astimezone(UTC) if moment is not None else None
