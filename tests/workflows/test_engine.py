"""BpmnProcess (workflows/process.py) on a local dev server: the test diagram
tests/fixtures/bpmn/ticket_lifecycle.bpmn run by a worker with the engine's sandbox
configuration and stand-in activities registered under the real names, recording what they got.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from core.engine_types import (
    BPMN_PROCESS_WORKFLOW,
    COMPLETE_TASK_UPDATE,
    DELIVER_MESSAGE_UPDATE,
    RETRY_INCIDENT_UPDATE,
    STATE_QUERY,
    SYNC_STEP_ACTIVITY,
    TASK_CANCELLED,
    TASK_COMPLETED,
    CloseHumanTaskInput,
    CompleteTaskInput,
    DeliverMessageInput,
    HumanTask,
    OpenHumanTaskInput,
    ProcessResult,
    ProcessState,
    RetryIncidentInput,
    RunProcessInput,
    ServiceCallInput,
    SyncStepInput,
    SyncStepResult,
)
from workflows.engine import EngineClock, ProcessRunner, parse_bpmn, sha256_of, workflow_runner
from workflows.process import BpmnProcessWorkflow

T = TypeVar("T")

BPMN_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "ticket_lifecycle.bpmn"
PROCESS_ID = "ticket_lifecycle_test"
EVENT_GATEWAY_FILE = BPMN_FILE.with_name("event_gateway.bpmn")
DEADLINE_S = 30.0  # a healthy run needs well under a second per wait; the SLA test waits 2 s

SERVICE_RESULTS: dict[str, Any] = {
    "classify_ticket": {"field": "lighting"},
    "escalate_overdue": {"escalated_to": "/1/"},
    "notify_citizen": {"sent": True},
    "forward_citizen_info": {"forwarded": True},
}


@dataclass(frozen=True)
class Actor:
    username: str
    roles: list[str]
    unit_path: str | None


COORDINATOR = Actor("dieuphoi", ["coordinator"], "/1/")
OFFICER = Actor("canbo", ["officer"], "/1/5/")
OTHER_UNIT_OFFICER = Actor("canbo_khac", ["officer"], "/1/7/")
MANAGER = Actor("truongdv", ["unit_manager"], "/1/5/")


@dataclass
class Recorder:
    """Stand-ins for the inbox writes and the service operators, under their real names."""

    opened: list[OpenHumanTaskInput] = field(default_factory=list)
    closed: list[CloseHumanTaskInput] = field(default_factory=list)
    calls: list[ServiceCallInput] = field(default_factory=list)
    refuse_once: set[str] = field(default_factory=set)  # operators that fail for good the first time
    inbox_down: bool = False  # every inbox write fails (a retryable error: the database is down)
    inbox_attempts: int = 0

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name=SYNC_STEP_ACTIVITY)
        async def sync_process_step(input: SyncStepInput) -> SyncStepResult:
            self.inbox_attempts += 1
            if self.inbox_down:
                raise RuntimeError("connection refused")
            # Like the real one: a retried step writes nothing twice.
            self.closed += [c for c in input.closes if c.task_id not in {d.task_id for d in self.closed}]
            self.opened += [o for o in input.opens if o.task_id not in {p.task_id for p in self.opened}]
            return SyncStepResult(input.digest, input.digest_version)

        def operator(name: str) -> Callable[..., Any]:
            @activity.defn(name=name)
            async def call(input: ServiceCallInput) -> Any:
                self.calls.append(input)
                if name in self.refuse_once:
                    self.refuse_once.discard(name)
                    raise ApplicationError(f"{name} is down", type="ServiceDown", non_retryable=True)
                return SERVICE_RESULTS[name]

            return call

        return [sync_process_step, *(operator(name) for name in SERVICE_RESULTS)]

    def operators_called(self) -> list[str]:
        return [call.operator for call in self.calls]


def engine_worker(client: Client, task_queue: str, recorder: Recorder) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[BpmnProcessWorkflow], activities=recorder.activities(),
                  workflow_runner=workflow_runner(),
                  sticky_queue_schedule_to_start_timeout=timedelta(seconds=1))


def a_process(xml: bytes | None = None, **data: Any) -> RunProcessInput:
    xml = xml if xml is not None else BPMN_FILE.read_bytes()
    key = f"1022-test-{uuid.uuid4().hex[:10]}"
    return RunProcessInput(process_id=PROCESS_ID, bpmn_xml=xml.decode("utf-8"), bpmn_sha256=sha256_of(xml),
                           data={"subject": "Đèn đường hỏng", "sla_duration": "PT1H", **data}, business_key=key)


async def start(client: Client, task_queue: str, process: RunProcessInput) -> WorkflowHandle:
    return await client.start_workflow(BPMN_PROCESS_WORKFLOW, process, id=f"ticket-{process.business_key}",
                                       task_queue=task_queue, result_type=ProcessResult)


async def within_deadline(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, timeout=DEADLINE_S)


async def state(handle: WorkflowHandle) -> ProcessState:
    return await handle.query(STATE_QUERY, result_type=ProcessState)


async def wait_until(handle: WorkflowHandle, found: Callable[[ProcessState], T | None]) -> T:
    """Poll the process state (with a deadline) until `found` returns something."""
    deadline = time.monotonic() + DEADLINE_S
    delay = 0.02
    while True:
        current = await state(handle)
        result = found(current)
        if result:
            return result
        if time.monotonic() >= deadline:
            async for event in handle.fetch_history_events():
                print("EVENT", event.event_id, event.WhichOneof("attributes"), str(event)[-300:].replace("\n"," "))
        assert time.monotonic() < deadline, f"timed out; state: {current}"
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)


async def open_task(handle: WorkflowHandle, bpmn_id: str, not_id: str | None = None) -> HumanTask:
    """Wait (with a deadline) until a task of `bpmn_id` is open in the inbox."""

    def task(current: ProcessState) -> HumanTask | None:
        return next((t for t in current.open_tasks if t.bpmn_id == bpmn_id and t.task_id != not_id), None)

    return await wait_until(handle, task)


async def complete(handle: WorkflowHandle, task: HumanTask, actor: Actor, **form: Any) -> ProcessState:
    request = CompleteTaskInput(task_id=task.task_id, actor_username=actor.username, actor_roles=actor.roles,
                                actor_unit_path=actor.unit_path, data=form)
    return await handle.execute_update(COMPLETE_TASK_UPDATE, request, result_type=ProcessState)


async def work_through_to_review(handle: WorkflowHandle) -> HumanTask:
    await complete(handle, await open_task(handle, "assign"), COORDINATOR, unit_path="/1/5/")
    await complete(handle, await open_task(handle, "resolve"), OFFICER, resolution="Đã thay bóng đèn")
    return await open_task(handle, "review")


def refusal(error: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str:
    cause = error.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def update_events(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [event.WhichOneof("attributes") or "" for event in history.events
            if "update" in (event.WhichOneof("attributes") or "")]


# -- the happy path and the loop ------------------------------------------------------------


async def test_a_long_process_continues_as_new_and_ends_as_if_it_had_not(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a process that continues as new after every update (the product waits for 500)
    recorder = Recorder()
    process = replace(a_process(), continue_as_new_after=1)
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, process)

        # when it goes through a rejection and an approval, each task in a later run than the last
        review = await work_through_to_review(handle)
        await complete(handle, review, MANAGER, decision="reject", note="Chưa đạt")
        await complete(handle, await open_task(handle, "resolve"), OFFICER, resolution="Đã thay cả chóa đèn")
        await complete(handle, await open_task(handle, "review", not_id=review.task_id), MANAGER, decision="approve")
        result = await within_deadline(handle.result())
        latest = wf_env.client.get_workflow_handle(handle.id)
        last_run = await latest.describe()

    # then the process ran in several runs and ended with the data a single run has
    assert last_run.run_id != handle.first_execution_run_id
    assert result.data["rework_count"] == 1 and result.data["notification"] == {"sent": True}
    # and the inbox saw every task opened once and closed once, across the runs
    assert [t.bpmn_id for t in recorder.opened] == ["assign", "resolve", "review", "resolve", "review"]
    assert sorted(c.task_id for c in recorder.closed) == sorted(t.task_id for t in recorder.opened)
    assert {c.outcome for c in recorder.closed} == {TASK_COMPLETED}
    # and the last run (which began from a snapshot) replays in the sandbox
    replayed = await Replayer(workflows=[BpmnProcessWorkflow], workflow_runner=workflow_runner()).replay_workflow(
        await latest.fetch_history(), raise_on_replay_failure=False)
    assert replayed.replay_failure is None, repr(replayed.replay_failure)



async def test_a_ticket_goes_from_assignment_to_an_approved_answer(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a worker and a new ticket process
    recorder = Recorder()
    process = a_process()
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, process)

        # when the coordinator assigns, the officer resolves and the manager approves
        review = await work_through_to_review(handle)
        await complete(handle, review, MANAGER, decision="approve", note="Tốt")
        result = await within_deadline(handle.result())
        final = await state(handle)

    # then the service tasks ran as their activities, with parameters from the process data
    assert recorder.operators_called() == ["classify_ticket", "notify_citizen"]
    assert recorder.calls[0].params == {"subject": "Đèn đường hỏng", "channel": "hotline"}
    assert recorder.calls[1].params == {"resolution": "Đã thay bóng đèn", "rework_count": 0}
    assert all(call.business_key == process.business_key for call in recorder.calls)
    # and each user task was opened once, in its lane, with its form and candidate unit
    assert [(t.bpmn_id, t.lane, t.candidate_unit) for t in recorder.opened] == [
        ("assign", "coordinator", None), ("resolve", "officer", "/1/5/"), ("review", "unit_manager", "/1/5/")]
    assert len({t.task_id for t in recorder.opened}) == 3
    assert recorder.opened[2].form_schema["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert {t.process_sha256 for t in recorder.opened} == {process.bpmn_sha256}
    # and closed once by the actor who completed it, with the form data
    assert [(c.task_id, c.actor_username, c.outcome) for c in recorder.closed] == [
        (t.task_id, actor, TASK_COMPLETED) for t, actor in zip(recorder.opened, ["dieuphoi", "canbo", "truongdv"])]
    assert recorder.closed[2].data == {"decision": "approve", "note": "Tốt"}
    # and the result carries the final data and a state digest
    assert result.data["classification"] == {"field": "lighting"}
    assert result.data["notification"] == {"sent": True}
    assert result.data["overdue"] is False
    assert len(result.state_digest) == 64
    assert final.completed and final.open_tasks == [] and final.messages == []


async def test_a_rejected_resolution_goes_back_to_the_officer(wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a ticket at its first review
    recorder = Recorder()
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, a_process())
        first_review = await work_through_to_review(handle)
        first_resolve = recorder.opened[1]

        # when the manager rejects, the officer resolves again and the manager approves
        await complete(handle, first_review, MANAGER, decision="reject", note="Thiếu ảnh")
        second_resolve = await open_task(handle, "resolve", not_id=first_resolve.task_id)
        await complete(handle, second_resolve, OFFICER, resolution="Đã bổ sung ảnh")
        second_review = await open_task(handle, "review", not_id=first_review.task_id)
        await complete(handle, second_review, MANAGER, decision="approve")
        result = await within_deadline(handle.result())

    # then the resolve task was opened twice, as two Spiff tasks, and the loop was counted
    assert [t.bpmn_id for t in recorder.opened] == ["assign", "resolve", "review", "resolve", "review"]
    assert len({t.task_id for t in recorder.opened}) == 5
    assert recorder.calls[-1].params == {"resolution": "Đã bổ sung ảnh", "rework_count": 1}
    assert result.data["rework_count"] == 1


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "code"), [
    ("unknown task", "task_not_open:"),
    ("wrong role", "not_allowed:"),
    ("other unit", "not_allowed:"),
    ("missing required field", "invalid_form:"),
    ("undeclared field", "invalid_form:"),
])
async def test_a_refused_completion_leaves_no_trace_in_the_history(
        wf_env: WorkflowEnvironment, wf_task_queue: str, case: str, code: str) -> None:
    # given a ticket whose resolve task is open for the officers of /1/5/
    recorder = Recorder()
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, a_process())
        await complete(handle, await open_task(handle, "assign"), COORDINATOR, unit_path="/1/5/")
        resolve = await open_task(handle, "resolve")
        updates_before = await update_events(handle)

        # when a completion that the validator must refuse is sent
        attempts: dict[str, tuple[HumanTask, Actor, dict[str, Any]]] = {
            "unknown task": (HumanTask(str(uuid.uuid4()), "resolve", "x", "officer"), OFFICER, {"resolution": "x"}),
            "wrong role": (resolve, COORDINATOR, {"resolution": "x"}),
            "other unit": (resolve, OTHER_UNIT_OFFICER, {"resolution": "x"}),
            "missing required field": (resolve, OFFICER, {"hours_spent": 2}),
            "undeclared field": (resolve, OFFICER, {"resolution": "x", "sla_duration": "PT9999H"}),
        }
        task, actor, form = attempts[case]
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await complete(handle, task, actor, **form)

        # then it is refused with a stable code, nothing was recorded and the task is still open
        assert refusal(refused).startswith(code), refusal(refused)
        assert await update_events(handle) == updates_before
        assert [t.task_id for t in (await state(handle)).open_tasks] == [resolve.task_id]
        assert [c.task_id for c in recorder.closed] == [recorder.opened[0].task_id]


async def test_two_concurrent_completions_of_one_task_let_exactly_one_through(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a ticket with its assignment task open
    recorder = Recorder()
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, a_process())
        assign = await open_task(handle, "assign")

        # when two coordinators complete it at the same time
        outcomes = await within_deadline(asyncio.gather(
            complete(handle, assign, COORDINATOR, unit_path="/1/5/"),
            complete(handle, assign, Actor("dieuphoi2", ["coordinator"], "/1/"), unit_path="/1/7/"),
            return_exceptions=True))

        # then one succeeded, the other was told the task is no longer open
        succeeded = [o for o in outcomes if isinstance(o, ProcessState)]
        failed = [o for o in outcomes if isinstance(o, WorkflowUpdateFailedError)]
        assert len(succeeded) == 1 and len(failed) == 1, outcomes
        assert isinstance(failed[0].cause, ApplicationError)
        assert failed[0].cause.message.startswith("task_not_open:")
        # and the task was closed once, and the process went on once
        await open_task(handle, "resolve")
    assert [c.task_id for c in recorder.closed] == [assign.task_id]
    assert [t.bpmn_id for t in recorder.opened] == ["assign", "resolve"]


# -- timers and messages ----------------------------------------------------------------------


async def test_the_sla_timer_takes_the_overdue_path(wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a ticket whose SLA (from its data) is 2 seconds
    recorder = Recorder()
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, a_process(sla_duration="PT2S"))
        await complete(handle, await open_task(handle, "assign"), COORDINATOR, unit_path="/1/5/")
        resolve = await open_task(handle, "resolve")
        timers = (await state(handle)).timers
        assert [timer.bpmn_id for timer in timers] == ["resolve_sla"]

        # when nobody resolves it in time
        overdue = await open_task(handle, "resolve_overdue")

        # then the officer's task was withdrawn, the ticket escalated and handed to the manager
        assert (await state(handle)).timers == []
        assert [(c.task_id, c.outcome, c.actor_username) for c in recorder.closed][-1] == (resolve.task_id,
                                                                                           TASK_CANCELLED, "")
        assert recorder.operators_called() == ["classify_ticket", "escalate_overdue"]
        assert overdue.lane == "unit_manager"
        # and the process still ends normally
        await complete(handle, overdue, MANAGER, resolution="Đã xử lý quá hạn")
        await complete(handle, await open_task(handle, "review"), MANAGER, decision="approve")
        result = await within_deadline(handle.result())
    assert result.data["overdue"] is True
    assert result.data["escalation"] == {"escalated_to": "/1/"}


async def test_the_citizen_can_add_information_any_number_of_times(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a running ticket that accepts the citizen_info message
    recorder = Recorder()
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, a_process())
        assign = await open_task(handle, "assign")
        assert (await state(handle)).messages == ["citizen_info"]

        # when the citizen sends information twice, and an unknown message arrives
        for text in ("Ảnh hiện trường", "Số điện thoại mới"):
            await handle.execute_update(DELIVER_MESSAGE_UPDATE, DeliverMessageInput("citizen_info", {"text": text}),
                                        result_type=ProcessState)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(DELIVER_MESSAGE_UPDATE, DeliverMessageInput("spam", {}),
                                        result_type=ProcessState)

        # then each message ran the event sub-process once, and the main path is untouched
        await complete(handle, assign, COORDINATOR, unit_path="/1/5/")
        await open_task(handle, "resolve")
    forwarded = [call.params["info"] for call in recorder.calls if call.operator == "forward_citizen_info"]
    assert forwarded == [{"text": "Ảnh hiện trường"}, {"text": "Số điện thoại mới"}]
    assert refusal(refused).startswith("unknown_message:")


# -- incidents --------------------------------------------------------------------------------


async def test_a_diagram_that_is_not_the_pinned_one_fails_the_process(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a process whose diagram does not match the hash it was pinned by
    process = a_process()
    process.bpmn_sha256 = sha256_of(b"another diagram")
    async with engine_worker(wf_env.client, wf_task_queue, Recorder()):
        # when it starts, then it fails for good with the code bpmn_invalid
        handle = await start(wf_env.client, wf_task_queue, process)
        with pytest.raises(WorkflowFailureError) as failed:
            await within_deadline(handle.result())
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "bpmn_invalid"


async def test_a_failed_service_call_is_an_incident_until_someone_retries_it(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a classification service that refuses the first call for good
    recorder = Recorder(refuse_once={"classify_ticket"})
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, a_process())

        # when the process reaches it, then the desk sees an incident and no task opens
        incident = await wait_until(handle, lambda current: current.incident)
        assert incident.retryable and incident.bpmn_id == "classify"
        assert "classify_ticket failed" in incident.message
        assert recorder.opened == []

        # when a supervisor retries, then the call runs again and the process goes on
        retried = await handle.execute_update(RETRY_INCIDENT_UPDATE, RetryIncidentInput("giamsat"),
                                              result_type=ProcessState)
        assert retried.incident is None
        await open_task(handle, "assign")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(RETRY_INCIDENT_UPDATE, RetryIncidentInput("giamsat"),
                                        result_type=ProcessState)
    assert recorder.operators_called() == ["classify_ticket", "classify_ticket"]
    assert refusal(refused).startswith("no_incident:")


async def test_a_worker_stops_promptly_while_the_inbox_keeps_failing(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given an inbox (database) that is down, so the step's write retries without end
    recorder = Recorder(inbox_down=True)
    async with asyncio.timeout(60):  # a worker that never stops would hang the suite
        async with engine_worker(wf_env.client, wf_task_queue, recorder):
            handle = await start(wf_env.client, wf_task_queue, a_process())
            while recorder.inbox_attempts < 4:  # past the in-memory retries, onto durable timers
                await asyncio.sleep(0.1)
        # when the worker shuts down, then it does (the retries wait as timers, not in a workflow task)
    # and a new worker whose inbox is back finishes the step from the history
    recorder.inbox_down = False
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        assert (await open_task(handle, "assign")).bpmn_id == "assign"


async def test_an_expression_error_is_an_incident_the_desk_can_see(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a diagram whose first script fails on this ticket's data
    xml = BPMN_FILE.read_text(encoding="utf-8").replace("rework_count = 0\n", "rework_count = 1 / divisor\n")
    async with engine_worker(wf_env.client, wf_task_queue, Recorder()):
        handle = await start(wf_env.client, wf_task_queue, a_process(xml.encode("utf-8"), divisor=0))

        # when the process runs, then it stays up and shows the incident
        incident = await wait_until(handle, lambda current: current.incident)
        assert incident.bpmn_id == "init" and "ZeroDivisionError" in incident.message
        assert not incident.retryable
        # and a retry cannot fix it
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(RETRY_INCIDENT_UPDATE, RetryIncidentInput("giamsat"),
                                        result_type=ProcessState)
        assert refusal(refused).startswith("not_retryable:")
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


# -- durability and replay --------------------------------------------------------------------


async def test_a_new_worker_continues_a_process_after_the_first_one_stopped(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a process that a first worker brought to its resolve task
    recorder = Recorder()
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        handle = await start(wf_env.client, wf_task_queue, a_process())
        await complete(handle, await open_task(handle, "assign"), COORDINATOR, unit_path="/1/5/")
        resolve = await open_task(handle, "resolve")

    # when that worker is gone and a new one takes over the queue
    async with engine_worker(wf_env.client, wf_task_queue, recorder):
        await complete(handle, resolve, OFFICER, resolution="Đã xử lý")
        await complete(handle, await open_task(handle, "review"), MANAGER, decision="approve")
        result = await within_deadline(handle.result())

    # then the process finished, every task opened once and every call made once
    assert result.data["decision"] == "approve"
    assert [t.bpmn_id for t in recorder.opened] == ["assign", "resolve", "review"]
    assert recorder.operators_called() == ["classify_ticket", "notify_citizen"]


async def recorded_history(env: WorkflowEnvironment, task_queue: str) -> WorkflowHistory:
    """The history of one approved ticket (reject once, then approve)."""
    async with engine_worker(env.client, task_queue, Recorder()):
        handle = await start(env.client, task_queue, a_process())
        review = await work_through_to_review(handle)
        await complete(handle, review, MANAGER, decision="reject")
        await complete(handle, await open_task(handle, "resolve", not_id=None), OFFICER, resolution="Lần hai")
        await complete(handle, await open_task(handle, "review", not_id=review.task_id), MANAGER, decision="approve")
        await within_deadline(handle.result())
    return await handle.fetch_history()


def with_diagram(history: WorkflowHistory, edit: Callable[[str], str]) -> WorkflowHistory:
    """The same history, started with an edited diagram (and its matching hash)."""
    events = [type(event)() for event in history.events]
    for copy, event in zip(events, history.events):
        copy.CopyFrom(event)
    payload = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    process = json.loads(payload.data)
    process["bpmn_xml"] = edit(process["bpmn_xml"])
    process["bpmn_sha256"] = sha256_of(process["bpmn_xml"].encode("utf-8"))
    payload.CopyFrom(Payload(metadata=dict(payload.metadata), data=json.dumps(process).encode("utf-8")))
    return WorkflowHistory(history.workflow_id, events)


async def test_a_recorded_history_replays_and_a_changed_gateway_condition_is_caught(
        wf_env: WorkflowEnvironment, wf_task_queue: str) -> None:
    # given a recorded history and a replayer with the worker's sandbox configuration
    history = await recorded_history(wf_env, wf_task_queue)
    replayer = Replayer(workflows=[BpmnProcessWorkflow], workflow_runner=workflow_runner())

    # when it is replayed as recorded, then it replays cleanly
    same = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert same.replay_failure is None, repr(same.replay_failure)

    # when the gateway condition changed (same commands up to the review, another state after it)
    changed = with_diagram(history, lambda xml: xml.replace('decision == "approve"', 'decision == "approved"'))
    result = await replayer.replay_workflow(changed, raise_on_replay_failure=False)

    # then replay fails on the state digest checkpoint, not somewhere later
    assert result.replay_failure is not None
    assert "state digest mismatch" in str(result.replay_failure), repr(result.replay_failure)


# -- the engine alone (no Temporal): snapshots and determinism --------------------------------


class SteppingClock:
    """A fake workflow clock: sequential uuids, a time the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)
        self.issued = 0

    def uuid4(self) -> uuid.UUID:
        self.issued += 1
        return uuid.UUID(int=self.issued)

    def engine_clock(self) -> EngineClock:
        return EngineClock(uuid4=self.uuid4, now=lambda: self.now)


def finish_service_calls(runner: ProcessRunner) -> list[str]:
    operators = []
    while calls := runner.pending_service_calls():
        for call in calls:
            runner.complete_service_call(call.task_id, SERVICE_RESULTS[call.operator])
            operators.append(call.operator)
        runner.step()
    return operators


def complete_open(runner: ProcessRunner, bpmn_id: str, **form: Any) -> None:
    [task] = [task for task in runner.open_user_tasks() if task.bpmn_id == bpmn_id]
    runner.complete_user_task(task.task_id, form)
    runner.step()
    finish_service_calls(runner)


def test_a_snapshot_taken_after_a_message_restores_and_finishes() -> None:
    # given a run that received a citizen message and waits at its resolve task
    spec = parse_bpmn(BPMN_FILE.read_bytes(), PROCESS_ID)
    clock = SteppingClock()
    runner = ProcessRunner.start(spec, a_process().data, clock=clock.engine_clock())
    runner.step()
    finish_service_calls(runner)
    complete_open(runner, "assign", unit_path="/1/5/")
    runner.deliver_message("citizen_info", {"text": "Ảnh"})
    runner.step()

    # when it is dumped to JSON and restored on the same diagram (re-attached by hash)
    snapshot = json.loads(json.dumps(runner.dump()))
    assert "spec" not in snapshot and snapshot["spec_sha256"] == spec.sha256
    restored = ProcessRunner.restore(spec, snapshot, clock=clock.engine_clock())

    # then it is the same state, and it runs to the end (the fired event sub-process included)
    assert restored.digest() == runner.digest()
    assert restored.open_user_tasks() == runner.open_user_tasks()
    assert finish_service_calls(restored) == ["forward_citizen_info"]
    restored.deliver_message("citizen_info", {"text": "Lần hai"})
    restored.step()
    assert finish_service_calls(restored) == ["forward_citizen_info"]
    complete_open(restored, "resolve", resolution="Xong")
    complete_open(restored, "review", decision="approve")
    assert restored.completed and restored.result_data()["notification"] == {"sent": True}


def test_the_same_inputs_on_the_same_clock_give_the_same_run() -> None:
    # given two runs of one diagram on two identical fake clocks
    spec = parse_bpmn(BPMN_FILE.read_bytes(), PROCESS_ID)
    runs = []
    for _ in range(2):
        clock = SteppingClock()
        runner = ProcessRunner.start(spec, a_process(sla_duration="PT2S").data, clock=clock.engine_clock())
        runner.step()
        finish_service_calls(runner)
        complete_open(runner, "assign", unit_path="/1/5/")
        clock.now += timedelta(seconds=2, milliseconds=1)  # just past the SLA deadline
        runner.step()
        finish_service_calls(runner)
        runs.append(runner)

    # then task ids, deadlines, paths and digests agree
    first, second = runs
    assert [t.task_id for t in first.open_user_tasks()] == [t.task_id for t in second.open_user_tasks()]
    assert [t.bpmn_id for t in first.open_user_tasks()] == ["resolve_overdue"]
    assert first.digest() == second.digest()


@pytest.mark.parametrize("answer", ["reply", "deadline"])
def test_a_timer_behind_an_event_based_gateway_is_reported_and_fires(answer: str) -> None:
    # given a process that waits for the citizen's reply or an hour, whichever comes first
    spec = parse_bpmn(EVENT_GATEWAY_FILE.read_bytes(), "await_reply_test")
    clock = SteppingClock()
    runner = ProcessRunner.start(spec, {"reply_within": "PT1H"}, clock=clock.engine_clock())
    runner.step()

    # then the deadline and the message are both reported (Spiff's waiting_events() lists neither)
    assert [(t.name, t.deadline) for t in runner.waiting_timers()] == [("No reply in time",
                                                                         "2025-01-01T01:00:00+00:00")]
    assert runner.message_names() == ["citizen_reply"]

    # when the reply comes, or the hour passes
    if answer == "reply":
        runner.deliver_message("citizen_reply", {"text": "Đã nhận"})
    else:
        clock.now += timedelta(hours=1, milliseconds=1)
    runner.step()

    # then the process took that branch
    assert runner.completed
    assert runner.result_data().get("reply") == ({"text": "Đã nhận"} if answer == "reply" else None)
