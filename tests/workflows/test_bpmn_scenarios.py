"""The shipped diagrams' scenario files (SpiffArena style, `bpmn/test_<diagram>.json`), and the
scenario runner's own refusals: a scenario that no longer matches its diagram fails, and says why."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cli.bpmn import BUNDLED, run_scenarios, scenario_file
from workflows.engine import parse_bpmn
from workflows.engine.scenarios import run_scenario

DIAGRAMS = sorted(BUNDLED.glob("*.bpmn"))
LIFECYCLE = BUNDLED / "ticket_lifecycle.bpmn"


def test_every_shipped_diagram_has_scenarios() -> None:
    assert DIAGRAMS and all(scenario_file(path).exists() for path in DIAGRAMS)


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda p: p.stem)
def test_the_shipped_scenarios_pass(diagram: Path) -> None:
    results = run_scenarios(diagram)
    assert results
    assert [(r.name, r.problems) for r in results if not r.ok] == []


def _normal_case() -> dict:
    cases = json.loads(scenario_file(LIFECYCLE).read_text(encoding="utf-8"))
    return copy.deepcopy(cases["desk_dispatches_manager_rejects_once_then_approves"])


def test_a_changed_path_fails_and_names_both_paths() -> None:
    case = _normal_case()
    case["expected_path"] = case["expected_path"][:5] + case["expected_path"][6:]
    result = run_scenario(parse_bpmn(LIFECYCLE.read_bytes(), "ticket_lifecycle"), "changed", case)
    assert not result.ok and result.problems[0].startswith("path [")


def test_form_data_the_task_refuses_fails_the_scenario() -> None:
    case = _normal_case()
    case["tasks"]["ticket_lifecycle:dispatch"]["data"] = [{"note": "no unit"}]
    result = run_scenario(parse_bpmn(LIFECYCLE.read_bytes(), "ticket_lifecycle"), "bad form", case)
    assert result.problems == ["at 'dispatch': invalid_form: field 'unit_path' is required"]


def test_a_missing_answer_and_wrong_end_data_are_reported() -> None:
    case = _normal_case()
    del case["tasks"]["ticket_lifecycle:close"]
    result = run_scenario(parse_bpmn(LIFECYCLE.read_bytes(), "ticket_lifecycle"), "stops", case)
    assert "the process reached 'close' and the scenario gives it no (more) data" in result.problems
    case = _normal_case()
    case["expected_output_json"]["decision"] = "reject"
    result = run_scenario(parse_bpmn(LIFECYCLE.read_bytes(), "ticket_lifecycle"), "end data", case)
    assert result.problems == ["end data 'decision' is 'approve', expected 'reject'"]


def test_the_cli_runs_the_scenarios_and_fails_on_a_broken_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    ok = CliRunner().invoke(app, ["bpmn", "test", str(LIFECYCLE)])
    assert ok.exit_code == 0 and ok.output.count("OK ") == len(json.loads(scenario_file(LIFECYCLE).read_text()))
    broken = tmp_path / "ticket_lifecycle.bpmn"
    broken.write_bytes(LIFECYCLE.read_bytes())
    case = _normal_case()
    case["expected_path"] = ["dispatch"]
    scenario_file(broken).write_text(json.dumps({"broken": case}), encoding="utf-8")
    failed = CliRunner().invoke(app, ["bpmn", "test", str(broken)])
    output = " ".join(failed.output.split())  # the console wraps long paths
    assert failed.exit_code == 1 and "FAIL broken" in output and "is not the expected" in output
