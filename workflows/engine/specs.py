"""Our task specs and the readers for the extension properties the engine uses."""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.task import Task

# Where a service task keeps its call between "reached" and "result written back".
SERVICE_CALL_KEY = "service_call"

FORM_SCHEMA_PROPERTY = "form_schema"
CANDIDATE_UNIT_PROPERTY = "candidate_unit"


class ServiceCallTask(ServiceTask):
    """A service task that waits for the outside world instead of calling it.

    Spiff 3.2's default `call_service` raises NameError. Here, running the task evaluates its
    parameters, parks them in the task's internal data and returns None, which leaves the task
    STARTED: the engine reports it as a pending call, the Temporal workflow runs the activity
    named by the operator, and `ProcessRunner.complete_service_call` writes the result into
    `result_variable` and completes the task.
    """

    def _execute(self, task: Task) -> bool | None:
        params = {name: param["value"] for name, param in self.evaluate_params(task).items()}
        task.internal_data[SERVICE_CALL_KEY] = {"operator": self.operation_name, "params": params}
        return None


def event_definitions(task_spec: Any, kind: type[Any]) -> list[Any]:
    """A task spec's event definitions of one kind, including those an event-based gateway
    holds: Spiff moves the events of the gateway's targets into one MultipleEventDefinition on
    the gateway (and waiting_events() reports that as one event without a deadline)."""
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return [item for item in definition.event_definitions if isinstance(item, kind)]
    return [definition] if isinstance(definition, kind) else []


def task_properties(task_spec: Any) -> dict[str, str]:
    """The `spiffworkflow:property` name/value pairs of a task spec."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties") or {})


def form_schema_source(task_spec: Any) -> str | None:
    return task_properties(task_spec).get(FORM_SCHEMA_PROPERTY)


def form_schema(task_spec: Any) -> dict[str, Any]:
    """The parsed form schema of a user task (validated at deploy time; {} when absent)."""
    source = form_schema_source(task_spec)
    return json.loads(source) if source else {}


def candidate_unit_expression(task_spec: Any) -> str | None:
    return task_properties(task_spec).get(CANDIDATE_UNIT_PROPERTY)
