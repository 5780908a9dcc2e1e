"""BpmnProcess: one BPMN process (a ticket's life cycle) run by the engine inside a durable
Temporal workflow.

The loop: step the engine until it waits; sync the step (`sync_process_step`, one local
activity: the inbox changes — tasks closed, tasks opened, each exactly once per Spiff task id —
in one transaction, and the state digest checkpoint); run pending service calls as the local
activities their operators name; then wait for an update (a task completed, a message) or the
next timer deadline.

Cost per step is what the throughput of the whole platform turns on (docs/benchmarks.md): one
workflow task per update, one local activity per step that changes the inbox or the state
before a wait, operators as local activities (short, idempotent database or gateway calls) —
no activity-task round trips through the server.

Checkpoints: Temporal's replay catches changed activity/timer commands but not changed scripts,
conditions or data. Each sync passes the state digest through the local activity, which echoes
it. On replay the recorded echo comes back and is compared with the digest the replayed engine
computes before any later command is issued, so a history that no longer matches its diagram
or engine fails with a clear "state digest" error at that step.

Continue-as-new: after `continue_as_new_after` updates, or when Temporal suggests it (history
size), the run continues as new at a quiet point, carrying `ProcessRunner.dump()` and the open
inbox tasks; the engine re-attaches the pinned definition by hash. Incidents raised by the
diagram itself (a script or expression failing on this ticket's data) need a data fix or a
diagram migration: only failed service calls and inbox writes retry.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import core.engine_types as et
    import workflows.engine as engine  # noqa: PLR0402 - by full dotted name, not `from pkg import mod` (DESIGN)

# Spiff compares `deadline < now` strictly: wake just past the deadline.
TIMER_EPSILON = timedelta(milliseconds=20)
INBOX_TIMEOUT = timedelta(seconds=30)
INBOX_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# Operators are short database or gateway calls; a worker killed mid-call is retried after this.
SERVICE_TIMEOUT = timedelta(seconds=15)
SERVICE_DEFAULT_ATTEMPTS = 10
# A failed local activity reaches the workflow as ActivityError, or as the activity's own
# ApplicationError when it refused for good (non-retryable).
LOCAL_ACTIVITY_FAILURES = (ActivityError, ApplicationError)
# Local-activity retries wait in the worker's memory up to this backoff, then as durable timers
# in later workflow tasks: a database that stays down does not hold a workflow task (and a
# worker's shutdown) for ever.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=2)


def _cause(exc: Exception) -> Exception:
    return exc.cause or exc if isinstance(exc, ActivityError) else exc


def refused(error: engine.TaskRefused) -> ApplicationError:
    """A refusal as Temporal reports it: the message starts with the code, the type is the code."""
    return ApplicationError(str(error), type=error.code, non_retryable=True)


def service_retry_policy(call: engine.PendingServiceCall) -> RetryPolicy:
    attempts = call.retries + 1 if call.retries is not None else SERVICE_DEFAULT_ATTEMPTS
    return RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                       maximum_interval=timedelta(minutes=1), maximum_attempts=attempts)


@workflow.defn(name=et.BPMN_PROCESS_WORKFLOW)
class BpmnProcessWorkflow:
    @workflow.init
    def __init__(self, input: et.RunProcessInput) -> None:
        # Built here, not in run(), so update validators see the process from the first task.
        self._input = input
        self._runner: engine.ProcessRunner | None = None
        self._startup_error = ""
        self._inbox: dict[str, et.HumanTask] = {task.task_id: task for task in input.inbox}  # open in the inbox
        self._closing: dict[str, et.CloseHumanTaskInput] = {}  # completed by an update, not yet written
        self._incident: et.EngineIncidentInfo | None = None
        self._failed_calls: set[str] = set()  # service tasks whose retries are spent
        self._sync_failed = False  # the inbox refused a write: wait for `retry_incident`
        self._last_digest: str | None = None
        self._wake = False
        self._updates = 0  # accepted in this run (continue-as-new)
        try:
            spec = engine.parse_bpmn(input.bpmn_xml.encode("utf-8"), input.process_id)
            if spec.sha256 != input.bpmn_sha256:
                raise engine.BpmnInvalid(f"the diagram's sha256 is {spec.sha256}, not the pinned {input.bpmn_sha256}")
            clock = engine.EngineClock(uuid4=workflow.uuid4, now=workflow.now)
            if input.snapshot is not None:
                self._runner = engine.ProcessRunner.restore(spec, json.loads(input.snapshot), clock=clock)
            else:
                self._runner = engine.ProcessRunner.start(spec, input.data, clock=clock)
        except (engine.BpmnInvalid, engine.EngineIncident) as exc:
            self._startup_error = str(exc)

    @workflow.run
    async def run(self, input: et.RunProcessInput) -> et.ProcessResult:
        runner = self._running()
        self._step()
        while True:
            if not await self._sync(before_calls=bool(self._pending_calls())):
                await self._wait_for_input()  # until `retry_incident`
                continue
            if await self._run_service_calls():
                continue
            if runner.completed:
                break
            if self._should_continue_as_new():
                # Only at a quiet point: every update handler has returned (each waits for its
                # task's close to be synced, so a new one may need another sync first).
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() or bool(self._closing))
                if not self._closing and not self._wake:
                    workflow.continue_as_new(dataclasses.replace(
                        input, snapshot=json.dumps(runner.dump(), separators=(",", ":")),
                        inbox=list(self._inbox.values())))
                continue
            await self._wait_for_input()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return et.ProcessResult(data=runner.result_data(), state_digest=runner.digest())

    # -- the loop's parts -----------------------------------------------------------------

    def _running(self) -> engine.ProcessRunner:
        if self._runner is None:
            raise ApplicationError(self._startup_error, type=et.BPMN_INVALID, non_retryable=True)
        return self._runner

    def _step(self) -> None:
        try:
            self._running().step()
        except engine.EngineIncident as exc:
            self._record_incident(exc)

    def _record_incident(self, exc: engine.EngineIncident) -> None:
        workflow.logger.warning("engine incident in %s: %s", self._input.business_key, exc)
        self._incident = et.EngineIncidentInfo(message=exc.detail, bpmn_id=exc.bpmn_id, task_id=exc.task_id)

    def _should_continue_as_new(self) -> bool:
        if self._incident is not None:
            return False
        return self._updates >= self._input.continue_as_new_after or workflow.info().is_continue_as_new_suggested()

    async def _sync(self, before_calls: bool) -> bool:
        """Write the inbox changes of the last step(s) and checkpoint the state digest, in one
        local activity. With service calls about to run, a step that changed nothing in the
        inbox is not synced (the next sync checkpoints it). False when the inbox refused."""
        if self._sync_failed:
            return False
        runner = self._running()
        open_now = runner.open_user_tasks()
        open_ids = {task.task_id for task in open_now}
        closes = list(self._closing.values()) + [
            et.CloseHumanTaskInput(business_key=self._input.business_key, task_id=task_id, actor_username="",
                                   outcome=et.TASK_CANCELLED)
            for task_id in self._inbox if task_id not in open_ids]  # a boundary event took them away
        opens = [task for task in open_now if task.task_id not in self._inbox]
        if not closes and not opens and before_calls:
            return True
        digest = runner.digest()  # a full walk of the engine state: only when it may be recorded
        if not closes and not opens and digest == self._last_digest:
            return True
        try:
            recorded = await workflow.execute_local_activity(
                et.SYNC_STEP_ACTIVITY,
                et.SyncStepInput(
                    business_key=self._input.business_key, digest=digest, digest_version=engine.DIGEST_VERSION,
                    closes=closes,
                    opens=[et.OpenHumanTaskInput(business_key=self._input.business_key, task_id=task.task_id,
                                                 bpmn_id=task.bpmn_id, name=task.name, lane=task.lane,
                                                 candidate_unit=task.candidate_unit, form_schema=task.form_schema,
                                                 process_sha256=self._input.bpmn_sha256) for task in opens]),
                result_type=et.SyncStepResult, start_to_close_timeout=INBOX_TIMEOUT, retry_policy=INBOX_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD)
        except LOCAL_ACTIVITY_FAILURES as exc:
            # Retries are unlimited, so only a non-retryable refusal gets here.
            self._sync_failed = True
            self._incident = et.EngineIncidentInfo(message=f"the inbox refused a write: {_cause(exc)}",
                                                   retryable=True)
            return False
        if recorded.digest_version == engine.DIGEST_VERSION and recorded.digest != digest:
            raise workflow.NondeterminismError(
                f"state digest mismatch: the history recorded engine state {recorded.digest}, replay computed "
                f"{digest} (diagram {self._input.bpmn_sha256}); the diagram or the engine changed under this run")
        self._last_digest = digest
        for close in closes:
            self._inbox.pop(close.task_id, None)
            self._closing.pop(close.task_id, None)
        for task in opens:
            self._inbox[task.task_id] = task
        return True

    def _pending_calls(self) -> list[engine.PendingServiceCall]:
        return [call for call in self._running().pending_service_calls() if call.task_id not in self._failed_calls]

    async def _run_service_calls(self) -> bool:
        """Run every pending service call (concurrently); True when results were written."""
        runner = self._running()
        calls = self._pending_calls()
        if not calls:
            return False
        handles = [
            (call, workflow.start_local_activity(
                call.operator,
                et.ServiceCallInput(business_key=self._input.business_key, task_id=call.task_id,
                                    operator=call.operator, params=call.params),
                start_to_close_timeout=SERVICE_TIMEOUT, retry_policy=service_retry_policy(call),
                local_retry_threshold=LOCAL_RETRY_THRESHOLD))
            for call in calls
        ]
        completed = 0
        for call, handle in handles:
            try:
                result = await handle
            except LOCAL_ACTIVITY_FAILURES as exc:
                # Retries are spent: an incident, until someone asks for a retry.
                self._failed_calls.add(call.task_id)
                self._incident = et.EngineIncidentInfo(
                    message=f"service call {call.operator} failed: {_cause(exc)}", bpmn_id=call.bpmn_id,
                    task_id=call.task_id, retryable=True)
                continue
            try:
                runner.complete_service_call(call.task_id, result)
                completed += 1
            except engine.TaskRefused:
                pass  # a boundary event cancelled the task while its activity ran
            except engine.EngineIncident as exc:
                self._record_incident(exc)
        self._step()
        return completed > 0

    async def _wait_for_input(self) -> None:
        deadline = self._running().next_deadline()
        timeout = None
        if deadline is not None:
            timeout = max(deadline - workflow.now(), timedelta(0)) + TIMER_EPSILON
        try:
            await workflow.wait_condition(lambda: self._wake, timeout=timeout, timeout_summary="bpmn timer")
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError since Python 3.11
            pass
        self._wake = False
        self._step()

    # -- updates and query ----------------------------------------------------------------

    def _refuse_completion(self, input: et.CompleteTaskInput) -> None:
        if self._runner is None or self._runner.completed:
            raise ApplicationError(f"{et.PROCESS_CLOSED}: the process is not running", type=et.PROCESS_CLOSED,
                                   non_retryable=True)
        if input.task_id not in self._inbox:
            raise ApplicationError(f"{et.TASK_NOT_OPEN}: task {input.task_id} is not open in this process",
                                   type=et.TASK_NOT_OPEN, non_retryable=True)
        try:
            self._runner.check_completion(input.task_id, input.actor_roles, input.actor_unit_path, input.data)
        except engine.TaskRefused as exc:
            raise refused(exc) from None

    @workflow.update(name=et.COMPLETE_TASK_UPDATE)
    async def complete_task(self, input: et.CompleteTaskInput) -> et.ProcessState:
        """Complete a user task and step the engine; returns once the inbox shows the task
        closed and the tasks the step opened (the main loop's next sync writes both)."""
        # Validators do not run on replay, and two updates can pass theirs in one activation:
        # check again. Everything up to the first await is atomic, so the first handler to get
        # here takes the task, and no timer can fire between the check and the completion.
        self._refuse_completion(input)
        task = self._inbox.pop(input.task_id)
        self._closing[input.task_id] = et.CloseHumanTaskInput(
            business_key=self._input.business_key, task_id=input.task_id, actor_username=input.actor_username,
            data=input.data)
        self._updates += 1
        runner = self._running()
        try:
            # Every field the form declares is set (None when left empty), so the diagram never
            # reads a value left over from an earlier task; who did it goes in as `completed_by`.
            declared = dict.fromkeys((task.form_schema or {}).get("properties", {}))
            runner.complete_user_task(input.task_id, {**declared, **input.data, "completed_by": input.actor_username})
            runner.step()
        except engine.EngineIncident as exc:
            self._record_incident(exc)
        self._wake = True
        await workflow.wait_condition(lambda: input.task_id not in self._closing)
        return self.state()

    @complete_task.validator
    def _validate_complete_task(self, input: et.CompleteTaskInput) -> None:
        self._refuse_completion(input)

    def _refuse_message(self, input: et.DeliverMessageInput) -> None:
        if self._runner is None or input.name not in self._runner.message_names():
            raise ApplicationError(f"{et.UNKNOWN_MESSAGE}: the process does not accept the message '{input.name}' now",
                                   type=et.UNKNOWN_MESSAGE, non_retryable=True)

    @workflow.update(name=et.DELIVER_MESSAGE_UPDATE)
    def deliver_message(self, input: et.DeliverMessageInput) -> et.ProcessState:
        self._refuse_message(input)
        self._updates += 1
        try:
            self._running().deliver_message(input.name, input.data)
            self._running().step()
        except engine.TaskRefused as exc:
            raise refused(exc) from None
        except engine.EngineIncident as exc:
            self._record_incident(exc)
        self._wake = True
        return self.state()

    @deliver_message.validator
    def _validate_deliver_message(self, input: et.DeliverMessageInput) -> None:
        self._refuse_message(input)

    def _refuse_retry(self, input: et.RetryIncidentInput) -> None:
        if self._incident is None:
            raise ApplicationError(f"{et.NO_INCIDENT}: the process has no incident", type=et.NO_INCIDENT,
                                   non_retryable=True)
        if not self._incident.retryable:
            raise ApplicationError(f"{et.NOT_RETRYABLE}: this incident needs a fix of the diagram or its data, not a "
                                   f"retry: {self._incident.message}", type=et.NOT_RETRYABLE, non_retryable=True)

    @workflow.update(name=et.RETRY_INCIDENT_UPDATE)
    def retry_incident(self, input: et.RetryIncidentInput) -> et.ProcessState:
        """Run the failed service calls again (the main loop picks them up)."""
        self._refuse_retry(input)
        workflow.logger.info("%s retries the incident of %s", input.actor_username, self._input.business_key)
        self._failed_calls.clear()
        self._sync_failed = False
        self._incident = None
        self._wake = True
        return self.state()

    @retry_incident.validator
    def _validate_retry_incident(self, input: et.RetryIncidentInput) -> None:
        self._refuse_retry(input)

    @workflow.query(name=et.STATE_QUERY)
    def state(self) -> et.ProcessState:
        runner = self._runner
        if runner is None:
            return et.ProcessState(incident=et.EngineIncidentInfo(message=self._startup_error))
        return et.ProcessState(open_tasks=list(self._inbox.values()), timers=runner.waiting_timers(),
                               messages=runner.message_names(), completed=runner.completed, incident=self._incident)
