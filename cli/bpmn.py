"""Validating and deploying BPMN diagrams: `hotline bpmn validate|deploy FILE` and, at
migrate/up time, every file shipped in bpmn/."""

from __future__ import annotations

import json
from pathlib import Path

from activities import sla_ops, ticket_ops
from cli.tasks import in_transaction
from core.authz import SystemRole
from core.services import bpmn_versions
from workflows.engine import parse_bpmn, validate
from workflows.engine.scenarios import ScenarioResult, run_scenario

BUNDLED = Path(__file__).resolve().parents[1] / "bpmn"
KNOWN_ROLES = {r.value for r in SystemRole}
# Every service-task operator a worker runs (an activity each).
OPERATORS = frozenset({*ticket_ops.OPERATORS, *sla_ops.OPERATORS})


def process_id_of(path: Path) -> str:
    """By convention a file holds one executable process named like the file."""
    return path.stem


def problems(path: Path, process_id: str | None = None) -> list[str]:
    return validate(path.read_bytes(), process_id or process_id_of(path), OPERATORS, KNOWN_ROLES)


def deploy(database_url: str, path: Path, deployed_by: str, process_id: str | None = None) -> tuple[str, bool]:
    """Validate then store; raises ValueError with every problem when the diagram is refused."""
    found = problems(path, process_id)
    if found:
        raise ValueError(f"{path.name} is not deployable:\n  - " + "\n  - ".join(found))

    async def work(session):  # noqa: ANN001, ANN202
        version, created = await bpmn_versions.deploy(session, process_id or process_id_of(path), path.read_bytes(), deployed_by)
        return version.sha256, created

    return in_transaction(database_url, work)


def deploy_bundled(database_url: str) -> list[tuple[str, str, bool]]:
    return [(p.name, *deploy(database_url, p, "hotline migrate")) for p in sorted(BUNDLED.glob("*.bpmn"))]


def scenario_file(path: Path) -> Path:
    """SpiffArena's convention: `test_<diagram>.json` beside `<diagram>.bpmn`."""
    return path.with_name(f"test_{path.stem}.json")


def run_scenarios(path: Path, process_id: str | None = None) -> list[ScenarioResult]:
    """Every scenario of the diagram's scenario file (none when it has no file)."""
    tests = scenario_file(path)
    if not tests.exists():
        return []
    spec = parse_bpmn(path.read_bytes(), process_id or process_id_of(path))
    cases = json.loads(tests.read_text(encoding="utf-8"))
    return [run_scenario(spec, name, case) for name, case in cases.items()]
