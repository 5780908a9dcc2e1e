"""Deploy-time checks of a diagram: a diagram is code, and it reaches production only through
`hotline bpmn validate`/deploy. Everything that can be checked without running a ticket is
checked here, so run-time incidents are left to data the diagram could not foresee."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.specs.base import TaskSpec

from workflows.engine.errors import BpmnInvalid
from workflows.engine.forms import check_schema
from workflows.engine.parser import parse_bpmn
from workflows.engine.script_engine import Mode, RestrictedEnvironment, check_source, free_names
from workflows.engine.specs import ServiceCallTask, candidate_unit_expression, event_definitions, form_schema_source

# A bare name such as PT8H or P3D: almost certainly a literal someone forgot to quote.
_ISO_LOOKING = re.compile(r"^(R\d*/)?P(T?\d|\d)[\w.]*$")


def validate(xml: bytes, process_id: str, known_operators: set[str], known_roles: set[str]) -> list[str]:
    """Every problem found in one process of a diagram, in English; empty when deployable."""
    try:
        parsed = parse_bpmn(xml, process_id)
    except BpmnInvalid as exc:
        return [str(exc)]
    problems: list[str] = []
    lanes: set[str] = set()
    for process in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            if getattr(task_spec, "lane", None):
                lanes.add(task_spec.lane)
            label = _label(task_spec)
            problems += [f"{label}: {problem}" for problem in _task_problems(task_spec, known_operators)]
    problems += [f"lane '{lane}' is not a known role" for lane in sorted(lanes - known_roles)]
    return problems


def _label(task_spec: TaskSpec) -> str:
    bpmn_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
    name = getattr(task_spec, "bpmn_name", None)
    return f"{bpmn_id} ({name})" if name else str(bpmn_id)


def _task_problems(task_spec: TaskSpec, known_operators: set[str]) -> Iterator[str]:
    for what, source, mode in _sources(task_spec):
        yield from (f"{what}: {problem}" for problem in _source_problems(source, mode))
    if isinstance(task_spec, ServiceCallTask) and task_spec.operation_name not in known_operators:
        yield f"service operator '{task_spec.operation_name}' is not a known activity"
    if isinstance(task_spec, UserTask):
        yield from _user_task_problems(task_spec)
    for timer in event_definitions(task_spec, TimerEventDefinition):
        yield from _timer_problems(timer)


def _sources(task_spec: TaskSpec) -> Iterator[tuple[str, str, Mode]]:
    """Every piece of Python in a task spec: (what it is, source, eval/exec)."""
    if isinstance(task_spec, ScriptTask):
        yield "script", task_spec.script, "exec"
    for attribute in ("prescript", "postscript"):
        if getattr(task_spec, attribute, None):
            yield attribute, getattr(task_spec, attribute), "exec"
    for condition, target in getattr(task_spec, "cond_task_specs", []):
        if condition is not None and getattr(condition, "args", None):
            yield f"condition of the flow to {target}", condition.args[0], "eval"
    if isinstance(task_spec, ServiceCallTask):
        for name, param in task_spec.operation_params.items():
            yield f"parameter '{name}'", param["value"], "eval"
    if isinstance(task_spec, UserTask) and candidate_unit_expression(task_spec) is not None:
        yield "candidate_unit", candidate_unit_expression(task_spec) or "", "eval"
    for timer in event_definitions(task_spec, TimerEventDefinition):
        yield "timer expression", timer.expression, "eval"
    for message in event_definitions(task_spec, MessageEventDefinition):
        if getattr(message, "expression", None):
            yield "message payload", message.expression, "eval"


def _source_problems(source: str | None, mode: Mode) -> list[str]:
    problem = check_source(source, mode)
    if problem is not None:
        return [problem]
    assert source is not None
    if free_names(source, mode):
        return []  # needs process data: it can only fail at run time
    try:
        _evaluate_constant(source, mode)
    except Exception as exc:  # noqa: BLE001 - any error is the diagram's problem to report
        return [f"fails when evaluated: {type(exc).__name__}: {exc}"]
    return []


def _evaluate_constant(source: str, mode: Mode) -> Any:
    environment = RestrictedEnvironment()
    if mode == "eval":
        return environment.evaluate(source, {})
    return environment.execute(source, {})


def _user_task_problems(task_spec: UserTask) -> Iterator[str]:
    if not task_spec.lane:
        yield "a user task must sit in a lane (the lane names the role that works on it)"
    source = form_schema_source(task_spec)
    if source is None:
        yield "a user task must declare its form (a spiffworkflow:property named form_schema)"
        return
    try:
        schema = json.loads(source)
    except ValueError as exc:
        yield f"form_schema is not valid JSON: {exc}"
        return
    yield from (f"form_schema: {problem}" for problem in check_schema(schema))


def _timer_problems(event_definition: TimerEventDefinition) -> Iterator[str]:
    """A timer written as a literal is evaluated now: an invalid ISO value fails here, not
    when the ticket reaches it. (Spiff wants a Python expression: "PT8H" with the quotes.)"""
    source = event_definition.expression
    if check_source(source, "eval") is not None:
        return
    if _ISO_LOOKING.match(source.strip()):
        yield f"timer expression {source} reads a variable; quote an ISO literal: \"{source.strip()}\""
        return
    if free_names(source, "eval"):
        return
    try:
        value = RestrictedEnvironment().evaluate(source, {})
    except Exception:  # noqa: BLE001 - already reported by _source_problems
        return
    try:
        if isinstance(event_definition, DurationTimerEventDefinition):
            TimerEventDefinition.parse_iso_duration(value)
        elif isinstance(event_definition, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception as exc:  # noqa: BLE001
        yield f"timer value {source} is not a valid ISO 8601 value ({type(exc).__name__}: {exc})"
