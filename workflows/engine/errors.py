"""Errors the engine raises. Each carries a stable code so callers (the Temporal workflow, the
deploy command) can map it without parsing messages."""

from __future__ import annotations


class EngineError(Exception):
    code = "engine_error"

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.code}: {message}")
        self.detail = message


class BpmnInvalid(EngineError):
    """The diagram cannot be parsed, or is not the one its hash says."""

    code = "bpmn_invalid"


class EngineIncident(EngineError):
    """A run-time error inside the diagram (an expression, a script, a service call). The
    process cannot go on from that point until someone fixes the cause."""

    code = "engine_incident"

    def __init__(self, message: str, bpmn_id: str | None = None, task_id: str | None = None) -> None:
        super().__init__(message)
        self.bpmn_id = bpmn_id
        self.task_id = task_id


class TaskRefused(EngineError):
    """A request the engine refuses before changing anything (unknown task, wrong role,
    invalid form, unknown message). `code` is one of core.engine_types' error codes."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)
