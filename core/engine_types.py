"""Inputs and outputs of the BPMN process workflow (`BpmnProcess`), shared by the API (which
starts it, completes tasks and delivers messages by name), the activities (which write the task
inbox and call outside systems) and the workflow itself. One dataclass per workflow / activity /
update input; new fields get defaults. Plain data only: everything here crosses Temporal's JSON
converter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BPMN_PROCESS_WORKFLOW = "BpmnProcess"

# Activity names the workflow calls. Service tasks call the activity named by their operator
# (`spiffworkflow:serviceTaskOperator id="..."`), with a ServiceCallInput.
# One local activity per engine step: writes the inbox changes (tasks closed, tasks opened) in
# one transaction and echoes the state digest, which replay compares (the checkpoint).
SYNC_STEP_ACTIVITY = "sync_process_step"

# Update and query names.
COMPLETE_TASK_UPDATE = "complete_task"
DELIVER_MESSAGE_UPDATE = "deliver_message"
RETRY_INCIDENT_UPDATE = "retry_incident"
STATE_QUERY = "state"

# Stable error codes: every refusal message starts with "<code>: " and the ApplicationError
# raised by the workflow carries the code as its `type`.
TASK_NOT_OPEN = "task_not_open"
NOT_ALLOWED = "not_allowed"
INVALID_FORM = "invalid_form"
UNKNOWN_MESSAGE = "unknown_message"
PROCESS_CLOSED = "process_closed"
BPMN_INVALID = "bpmn_invalid"
NO_INCIDENT = "no_incident"
NOT_RETRYABLE = "not_retryable"

# Outcomes of a human task when it leaves the inbox.
# What a string field of a task form may refer to (`"format"` in its form schema): the API checks
# these against the database before a completion reaches the workflow.
FORMAT_ORG_UNIT_PATH = "org-unit-path"
FORMAT_USERNAME = "username"
REFERENCE_FORMATS = (FORMAT_ORG_UNIT_PATH, FORMAT_USERNAME)

TASK_COMPLETED = "completed"
TASK_CANCELLED = "cancelled"  # a boundary event (SLA timer, …) took the process elsewhere


@dataclass
class ProcessResult:
    data: dict[str, Any]  # the process data at its end event
    state_digest: str  # sha256 of the final engine state (see workflows.engine.state_digest)


@dataclass
class ServiceCallInput:
    business_key: str
    task_id: str  # Spiff task id: an idempotency key for the call
    operator: str  # also the activity name
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class HumanTask:
    """One READY user task, as the inbox and the task form need it."""

    task_id: str  # Spiff task id: the only safe address (two branches may share a BPMN id)
    bpmn_id: str
    name: str
    lane: str | None  # the BPMN lane name = the role that may complete the task
    candidate_unit: str | None = None  # org-unit path from the `candidate_unit` property
    form_schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunProcessInput:
    process_id: str  # the <bpmn:process id> to run
    bpmn_xml: str  # the deployed diagram, pinned by…
    bpmn_sha256: str  # …the sha256 of its UTF-8 bytes (checked when the workflow starts)
    data: dict[str, Any]  # initial process data (ticket fields, `sla_duration`, …)
    business_key: str  # e.g. the ticket code; passed to every activity
    # Carried by continue-as-new: the engine state (`ProcessRunner.dump()` as JSON text, without
    # the definition, which is re-attached by hash) and the tasks open in the inbox at that point.
    # Text, not a dict: Spiff rebuilds task data in the order the tasks were dumped, and
    # Temporal's JSON converter sorts keys.
    snapshot: str | None = None
    inbox: list[HumanTask] = field(default_factory=list)
    continue_as_new_after: int = 500  # updates per run before continuing as new (Temporal allows 2,000)


@dataclass
class OpenHumanTaskInput:
    business_key: str
    task_id: str
    bpmn_id: str
    name: str
    lane: str | None
    candidate_unit: str | None
    form_schema: dict[str, Any]
    process_sha256: str


@dataclass
class CloseHumanTaskInput:
    business_key: str
    task_id: str
    actor_username: str  # empty when the engine closed it (outcome "cancelled")
    data: dict[str, Any] = field(default_factory=dict)
    outcome: str = TASK_COMPLETED


@dataclass
class CompleteTaskInput:
    task_id: str
    actor_username: str
    actor_roles: list[str]
    actor_unit_path: str | None = None  # materialized path, e.g. "/1/5/"; None = no unit
    data: dict[str, Any] = field(default_factory=dict)  # the form data


@dataclass
class DeliverMessageInput:
    name: str  # the BPMN message name, e.g. "citizen_info"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RetryIncidentInput:
    actor_username: str  # who asked (for the audit trail; the API checks the permission)


@dataclass
class SyncStepInput:
    business_key: str
    digest: str  # the engine state digest after this step
    digest_version: int  # what the digest covers (workflows.engine.DIGEST_VERSION)
    closes: list[CloseHumanTaskInput] = field(default_factory=list)  # written before the opens
    opens: list[OpenHumanTaskInput] = field(default_factory=list)


@dataclass
class SyncStepResult:
    """The echo of the digest: on replay the recorded one comes back and is compared."""

    digest: str
    digest_version: int


@dataclass
class WaitingTimer:
    task_id: str
    bpmn_id: str
    name: str
    deadline: str  # ISO 8601, UTC


@dataclass
class EngineIncidentInfo:
    """A run-time error in the diagram (expression, script, failed service call): the process
    waits until someone fixes it; the desk sees it in the process state."""

    message: str
    bpmn_id: str | None = None
    task_id: str | None = None
    retryable: bool = False  # a failed service call: `retry_incident` runs it again


@dataclass
class ProcessState:
    open_tasks: list[HumanTask] = field(default_factory=list)
    timers: list[WaitingTimer] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # message names accepted now
    completed: bool = False
    incident: EngineIncidentInfo | None = None
