"""BPMN scenario tests, in the style of SpiffArena's process-model unit tests: a JSON file beside
a diagram (`bpmn/test_<diagram>.json`) scripts what each task returns and states the path the
process must take and the data it must end with. The analyst who changes a gateway or adds a
task changes the scenarios in the same commit; `hotline bpmn test` and the test suite run them.

    {
      "normal_path": {
        "start_data": {"ticket_code": "1022-2026-000001", "sla_hours": 72},
        "tasks": {
          "ticket_lifecycle:dispatch": {"data": [{"unit_path": "/1/5/"}]},
          "ticket_lifecycle:record_dispatch": {"data": [{}]}
        },
        "expected_path": ["dispatch", "record_dispatch", "..."],
        "expected_output_json": {"decision": "approve"}
      }
    }

`tasks` maps `<process id>:<task id>` to the results it gives, one per time the process reaches
it, in order: a user task's form data (checked against its form) or a service task's operator
result (written to its result variable). `expected_path` lists the user and service tasks in the
order they complete; `expected_output_json` must be contained in the end data (a subset, as
SpiffArena compares). The run is pure (no Temporal, no database): timers do not fire, so a
scenario that ends waiting for one fails with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from workflows.engine.clock import EngineClock
from workflows.engine.errors import EngineIncident, TaskRefused
from workflows.engine.parser import ProcessSpec
from workflows.engine.runner import ProcessRunner

MAX_STEPS = 500
SCENARIO_EPOCH = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # a Monday, 08:00 in Vietnam: stable deadlines


@dataclass
class ScenarioResult:
    name: str
    path: list[str] = field(default_factory=list)
    end_data: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _clock() -> EngineClock:
    counter = iter(range(1, 1_000_000))
    return EngineClock(uuid4=lambda: UUID(int=next(counter), version=4), now=lambda: SCENARIO_EPOCH)


def run_scenario(spec: ProcessSpec, name: str, case: dict[str, Any]) -> ScenarioResult:
    """Run one scenario; every way it differs from what it expects is listed in `problems`."""
    result = ScenarioResult(name)
    scripted = {key: list(value.get("data", [])) for key, value in case.get("tasks", {}).items()}
    try:
        runner = ProcessRunner.start(spec, case.get("start_data", {}), clock=_clock())
        runner.step()
        _drive(spec, runner, scripted, result)
    except (TaskRefused, EngineIncident) as exc:
        result.problems.append(f"at '{result.path[-1] if result.path else 'start'}': {exc}")
        return result
    result.end_data = runner.result_data() if runner.completed else {}
    expected_path = case.get("expected_path")
    if expected_path is not None and result.path != expected_path:
        result.problems.append(f"path {result.path} is not the expected {expected_path}")
    for key, value in (case.get("expected_output_json") or {}).items():
        if result.end_data.get(key) != value:
            result.problems.append(f"end data {key!r} is {result.end_data.get(key)!r}, expected {value!r}")
    leftover = {key: len(values) for key, values in scripted.items() if values}
    if leftover and not result.problems:
        result.problems.append(f"scripted data never used: {leftover}")
    return result


def _drive(spec: ProcessSpec, runner: ProcessRunner, scripted: dict[str, list[Any]], result: ScenarioResult) -> None:
    for _ in range(MAX_STEPS):
        if runner.completed:
            return
        calls = runner.pending_service_calls()
        tasks = runner.open_user_tasks()
        if not calls and not tasks:
            waiting = [t.bpmn_id for t in runner.waiting_timers()] or runner.message_names()
            result.problems.append(f"the process waits for {', '.join(waiting) or 'nothing it can get'} and the "
                                   f"scenario has no way to give it")
            return
        bpmn_id = calls[0].bpmn_id if calls else tasks[0].bpmn_id
        answers = scripted.get(f"{spec.process_id}:{bpmn_id}")
        if not answers:
            result.problems.append(f"the process reached '{bpmn_id}' and the scenario gives it no (more) data")
            return
        answer = answers.pop(0)
        result.path.append(bpmn_id)
        if calls:
            runner.complete_service_call(calls[0].task_id, answer)
        else:
            task = tasks[0]
            # the actor is whoever the task is for: scenarios test the path, the API tests who may act
            runner.check_completion(task.task_id, [task.lane or ""], task.candidate_unit, answer)
            declared = dict.fromkeys((task.form_schema or {}).get("properties", {}))
            runner.complete_user_task(task.task_id, {**declared, **answer, "completed_by": "scenario"})
        runner.step()
    else:
        result.problems.append(f"the process did not end within {MAX_STEPS} tasks")
