"""Every recorded history still replays on today's workflow code (house rule 8).

Histories live in tests/fixtures/histories/<workflow>-<scenario>.json and are recorded by
tests/fixtures/record_histories.py. Replay runs in the default sandbox, as the worker
does, so a workflow that reads the clock or does I/O fails here too.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from core.commands import DELIVER_NOTIFICATION_WORKFLOW
from core.ports import Notification
from workflows.engine.sandbox import workflow_runner
from workflows.registry import WORKFLOWS

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
HISTORY_FILES = sorted(HISTORIES.glob("*.json"))
RECORD_HINT = "record one with: PYTHONPATH=. .venv/bin/python tests/fixtures/record_histories.py"


def workflow_type(history_file: Path) -> str:
    started = json.loads(history_file.read_text(encoding="utf-8"))["events"][0]
    return started["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


def load(history_file: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(history_file.stem, history_file.read_text(encoding="utf-8"))


def test_every_registered_workflow_has_a_recorded_history() -> None:
    # given the workflows the worker runs and the histories on file
    registered = {workflow._Definition.must_from_class(cls).name for cls in WORKFLOWS}
    recorded = {workflow_type(path) for path in HISTORY_FILES}

    # then each workflow has at least one history to replay
    missing = sorted(registered - recorded)
    assert not missing, f"no recorded history for {', '.join(missing)}; {RECORD_HINT}"


@pytest.mark.parametrize("history_file", HISTORY_FILES, ids=lambda path: path.stem)
def test_history_file_is_named_after_its_workflow(history_file: Path) -> None:
    assert history_file.stem.startswith(f"{workflow_type(history_file)}-")


@pytest.mark.parametrize("history_file", HISTORY_FILES, ids=lambda path: path.stem)
async def test_recorded_history_replays_without_nondeterminism(history_file: Path) -> None:
    # given a history recorded on an earlier version of the workflow code
    history = load(history_file)

    # when today's workflows replay it in the sandbox
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner()).replay_workflow(
        history, raise_on_replay_failure=False)

    # then the replay reproduces it command for command
    assert result.replay_failure is None, f"{history_file.name}: {result.replay_failure!r}"


@workflow.defn(name=DELIVER_NOTIFICATION_WORKFLOW)
class DeliveryThatWaitsFirst:
    """DeliverNotification with a timer the recorded histories never saw."""

    @workflow.run
    async def run(self, input: Notification) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return input.key


async def test_replay_catches_a_changed_workflow() -> None:
    # given the happy-path delivery history
    history = load(HISTORIES / f"{DELIVER_NOTIFICATION_WORKFLOW}-happy.json")

    # when a changed workflow of the same name replays it (unsandboxed: it lives in this
    # test module, which the sandbox would re-import with pytest in it)
    replayer = Replayer(workflows=[DeliveryThatWaitsFirst], workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)

    # then replay reports the non-determinism, so the check above has teeth
    assert isinstance(result.replay_failure, NondeterminismError)
