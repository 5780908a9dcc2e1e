"""Deploy-time checks of BPMN diagrams (workflows.engine.validate / parse_bpmn), on the test
diagram tests/fixtures/bpmn/ticket_lifecycle.bpmn and small edits of it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from workflows.engine import BpmnInvalid, EngineIncident, ProcessRunner, check_schema, parse_bpmn, validate
from workflows.engine.script_engine import RestrictedEnvironment

BPMN_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "ticket_lifecycle.bpmn"
PROCESS_ID = "ticket_lifecycle_test"
OPERATORS = {"classify_ticket", "escalate_overdue", "notify_citizen", "forward_citizen_info"}
ROLES = {"coordinator", "officer", "unit_manager"}


def diagram(*edits: tuple[str, str]) -> bytes:
    """The test diagram with the first occurrence of each `old` text replaced by `new`."""
    text = BPMN_FILE.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, f"edit does not apply: {old!r}"
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def problems(xml: bytes) -> list[str]:
    return validate(xml, PROCESS_ID, OPERATORS, ROLES)


def test_the_test_diagram_is_valid() -> None:
    assert problems(diagram()) == []


def test_an_unknown_service_operator_is_reported() -> None:
    # given a service task whose operator no activity implements
    xml = diagram(('serviceTaskOperator id="notify_citizen"', 'serviceTaskOperator id="send_fax"'))

    # then validation names the task and the operator
    expected = "send_answer (Send the answer to the citizen): service operator 'send_fax' is not a known activity"
    assert problems(xml) == [expected]


def test_an_unknown_lane_is_reported() -> None:
    xml = diagram(('<bpmn:lane id="lane_unit_manager" name="unit_manager">',
                   '<bpmn:lane id="lane_unit_manager" name="unit_boss">'))
    assert problems(xml) == ["lane 'unit_boss' is not a known role"]


SLA_TIMER = "<bpmn:timeDuration>sla_duration</bpmn:timeDuration>"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('decision == "approve"', "decision ==", "review_decision (Approved?): condition of the flow to send_answer: syntax"),
    ("rework_count = rework_count + 1", "rework_count = rework_count +", "count_rework (Count the rework): script: syntax"),
    ("rework_count = rework_count + 1", "import os", "count_rework (Count the rework): script: imports are not allowed"),
    ('decision == "approve"', "decision.__class__ is str", "private attribute '__class__' is not allowed"),
    ('name="candidate_unit" value="unit_path"', 'name="candidate_unit" value="unit_path["',
     "resolve (Resolve the ticket): candidate_unit: syntax error"),
    (SLA_TIMER, "<bpmn:timeDuration>PT8H</bpmn:timeDuration>", 'reads a variable; quote an ISO literal: "PT8H"'),
    (SLA_TIMER, '<bpmn:timeDuration>"P8H"</bpmn:timeDuration>', 'timer value "P8H" is not a valid ISO 8601 value'),
    (SLA_TIMER, '<bpmn:timeDuration>"PT" + 8</bpmn:timeDuration>', "timer expression: fails when evaluated: TypeError"),
])
def test_a_broken_expression_is_reported(old: str, new: str, expected: str) -> None:
    found = problems(diagram((old, new)))
    assert len(found) == 1 and expected in found[0], found


def test_a_user_task_without_a_form_is_reported() -> None:
    # given the assignment task's form property renamed
    xml = diagram(('<spiffworkflow:property name="form_schema"', '<spiffworkflow:property name="form"'))

    # then the task is reported
    found = problems(xml)
    assert len(found) == 1 and found[0].startswith("assign (Assign a handling unit): a user task must declare its form")


def test_a_form_schema_outside_the_supported_subset_is_reported() -> None:
    assert check_schema({"type": "object", "properties": {"n": {"type": "integer", "maxLength": 3}},
                         "required": ["m"], "oneOf": []}) == [
        "unsupported schema keyword 'oneOf'", "required field 'm' is not declared in properties",
        "field 'n': maxLength applies to strings and must be a non-negative integer"]


@pytest.mark.parametrize("xml", [b"<bpmn:definitions", b"<not-bpmn/>"], ids=["not XML", "no process"])
def test_a_diagram_that_does_not_parse_is_one_problem(xml: bytes) -> None:
    found = problems(xml)
    assert len(found) == 1 and found[0].startswith("bpmn_invalid:"), found


def test_the_sha256_is_the_hash_of_the_file_bytes_and_stable() -> None:
    # given the same bytes parsed twice, and a copy that differs only in whitespace
    xml = diagram()
    first, second = parse_bpmn(xml, PROCESS_ID), parse_bpmn(bytes(xml), PROCESS_ID)
    reformatted = parse_bpmn(xml.replace(b"</bpmn:definitions>", b"</bpmn:definitions>\n"), PROCESS_ID)

    # then the hash is the file's sha256, the same each time, and any byte change changes it
    assert first.sha256 == second.sha256 == hashlib.sha256(xml).hexdigest()
    assert reformatted.sha256 != first.sha256
    assert first.spec.name == PROCESS_ID and set(first.subprocess_specs) == {"citizen_info"}


def test_each_run_gets_its_own_copy_of_the_definition() -> None:
    # given the shared (cached) definition
    shared = parse_bpmn(diagram(), PROCESS_ID)
    own = shared.own_copy()

    # then a copy shares no task spec with it
    assert own.spec is not shared.spec
    assert own.spec.task_specs["resolve"] is not shared.spec.task_specs["resolve"]
    with pytest.raises(BpmnInvalid):
        parse_bpmn(diagram(), "no_such_process")


@pytest.mark.parametrize("source", [
    "__import__('os').system('true')",
    "open('/etc/passwd').read()",
    "().__class__.__bases__[0].__subclasses__()",
    "eval('1')",
])
def test_scripts_have_no_way_out(source: str) -> None:
    with pytest.raises(Exception) as refused:  # NameError or UnsafeExpression: both refusals
        RestrictedEnvironment().evaluate(source, {})
    assert type(refused.value).__name__ in {"NameError", "UnsafeExpression"}


def test_a_run_time_expression_error_is_an_incident_not_a_crash() -> None:
    # given a diagram whose first script divides by a value from the process data
    xml = diagram(("rework_count = 0\n", "rework_count = 1 / divisor\n"))
    runner = ProcessRunner.start(parse_bpmn(xml, PROCESS_ID), {"subject": "x", "divisor": 0,
                                                                 "sla_duration": "PT1H"})

    # when the engine steps, then the error is an incident that names the task
    with pytest.raises(EngineIncident) as incident:
        runner.step()
    assert incident.value.bpmn_id == "init"
    assert "ZeroDivisionError" in str(incident.value)


def test_runs_share_a_definition_unless_an_event_sub_process_can_change_it() -> None:
    # the test diagram has a message event sub-process (Spiff rewires the definition when it fires)
    with_subprocess = parse_bpmn(BPMN_FILE.read_bytes(), PROCESS_ID)
    assert with_subprocess.has_event_subprocesses and with_subprocess.own_copy() is not with_subprocess
    # the shipped life cycle has none: every ticket runs on the one parsed definition
    shipped = Path(__file__).resolve().parents[2] / "bpmn" / "ticket_lifecycle.bpmn"
    lifecycle = parse_bpmn(shipped.read_bytes(), "ticket_lifecycle")
    assert not lifecycle.has_event_subprocesses and lifecycle.own_copy() is lifecycle
