"""The BPMN engine adapter: SpiffWorkflow kept behind a small, deterministic API.

    spec = parse_bpmn(xml_bytes, "ticket_lifecycle")        # cached by sha256; spec.sha256
    problems = validate(xml_bytes, "ticket_lifecycle", known_operators, known_roles)
    runner = ProcessRunner.start(spec, data, clock=EngineClock(uuid4=workflow.uuid4, now=workflow.now))
    runner.step()                                            # raises EngineIncident on diagram errors
    runner.pending_service_calls() / complete_service_call(task_id, result)
    runner.open_user_tasks() / check_completion(...) / complete_user_task(task_id, form)
    runner.waiting_timers() / next_deadline()
    runner.message_names() / deliver_message(name, payload)
    runner.completed / result_data() / digest() / dump();  ProcessRunner.restore(spec, snapshot)

Everything here is pure: no I/O, no clock or randomness except through an EngineClock.
"""

from workflows.engine.clock import EngineClock, spiff_clock
from workflows.engine.errors import BpmnInvalid, EngineError, EngineIncident, TaskRefused
from workflows.engine.forms import check_schema, validate_form
from workflows.engine.parser import ProcessSpec, parse_bpmn, sha256_of
from workflows.engine.runner import PendingServiceCall, ProcessRunner, unit_covers
from workflows.engine.sandbox import PASSTHROUGH_MODULES, sandbox_restrictions, workflow_runner
from workflows.engine.serializer import DIGEST_VERSION, dump, load, state_digest
from workflows.engine.validation import validate

__all__ = [
    "DIGEST_VERSION",
    "PASSTHROUGH_MODULES",
    "BpmnInvalid",
    "EngineClock",
    "EngineError",
    "EngineIncident",
    "PendingServiceCall",
    "ProcessRunner",
    "ProcessSpec",
    "TaskRefused",
    "check_schema",
    "dump",
    "load",
    "parse_bpmn",
    "sandbox_restrictions",
    "sha256_of",
    "spiff_clock",
    "state_digest",
    "unit_covers",
    "validate",
    "validate_form",
    "workflow_runner",
]
