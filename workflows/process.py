"""BpmnProcess: one BPMN process (a ticket's life cycle) run by the engine inside a durable
Temporal workflow.

The loop: step the engine until it waits; checkpoint its state digest; write newly opened
user tasks to the inbox (`open_human_task`, exactly once per Spiff task id) and close the ones
a boundary event took away; run pending service calls as the activities their operators name;
then wait for an update (a task completed, a message) or the next timer deadline.

Checkpoints: Temporal's replay catches changed activity/timer commands but not changed scripts,
conditions or data. After every step that changed the engine state, the workflow passes the
state digest through the `engine_checkpoint` local activity (an echo). On replay the recorded
echo comes back and is compared with the digest the replayed engine computes *before* any other
command is issued, so a history that no longer matches its diagram or engine fails with a clear
"state digest" error at the exact step (one MarkerRecorded event per step).

Follow-ups: continue-as-new before the history limits (2,000 updates per run, ~4,096 events):
carry `ProcessRunner.dump()` plus the inbox map in the input; the engine already re-attaches the
definition by hash. Incidents raised by the diagram itself (a script or expression failing on
this ticket's data) need a data fix or a diagram migration: only failed service calls retry.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
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
CHECKPOINT_TIMEOUT = timedelta(seconds=10)


@activity.defn(name=et.ENGINE_CHECKPOINT_ACTIVITY)
async def engine_checkpoint(input: et.EngineCheckpointInput) -> et.EngineCheckpointInput:
    """Echo: records the digest in history (as a local-activity marker) for replay to compare."""
    return input


# The activities every worker running BpmnProcess registers besides the operators'.
PROCESS_ACTIVITIES = [engine_checkpoint]


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
        self._inbox: dict[str, et.HumanTask] = {}  # open in the inbox (open_human_task done)
        self._incident: et.EngineIncidentInfo | None = None
        self._failed_calls: set[str] = set()  # service tasks whose retries are spent
        self._last_digest: str | None = None
        self._wake = False
        try:
            spec = engine.parse_bpmn(input.bpmn_xml.encode("utf-8"), input.process_id)
            if spec.sha256 != input.bpmn_sha256:
                raise engine.BpmnInvalid(f"the diagram's sha256 is {spec.sha256}, not the pinned {input.bpmn_sha256}")
            clock = engine.EngineClock(uuid4=workflow.uuid4, now=workflow.now)
            self._runner = engine.ProcessRunner.start(spec, input.data, clock=clock)
        except engine.BpmnInvalid as exc:
            self._startup_error = str(exc)

    @workflow.run
    async def run(self, input: et.RunProcessInput) -> et.ProcessResult:
        runner = self._running()
        self._step()
        while True:
            await self._checkpoint()
            await self._sync_inbox()
            if await self._run_service_calls():
                continue
            if runner.completed:
                break
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

    async def _checkpoint(self) -> None:
        digest = self._running().digest()
        if digest == self._last_digest:
            return
        recorded = await workflow.execute_local_activity(
            et.ENGINE_CHECKPOINT_ACTIVITY, et.EngineCheckpointInput(digest, engine.DIGEST_VERSION),
            result_type=et.EngineCheckpointInput, start_to_close_timeout=CHECKPOINT_TIMEOUT)
        if recorded.digest_version == engine.DIGEST_VERSION and recorded.digest != digest:
            raise workflow.NondeterminismError(
                f"state digest mismatch: the history recorded engine state {recorded.digest}, replay computed "
                f"{digest} (diagram {self._input.bpmn_sha256}); the diagram or the engine changed under this run")
        self._last_digest = digest

    async def _sync_inbox(self) -> None:
        """Close the inbox tasks the process left without a completion (an interrupting
        boundary event, …), then open the new user tasks, each exactly once."""
        open_now = self._running().open_user_tasks()
        still_open = {task.task_id for task in open_now}
        for task_id in [task_id for task_id in self._inbox if task_id not in still_open]:
            del self._inbox[task_id]
            await workflow.execute_local_activity(
                et.CLOSE_HUMAN_TASK_ACTIVITY,
                et.CloseHumanTaskInput(business_key=self._input.business_key, task_id=task_id, actor_username="",
                                       outcome=et.TASK_CANCELLED),
                start_to_close_timeout=INBOX_TIMEOUT, retry_policy=INBOX_RETRY)
        for task in open_now:
            if task.task_id not in self._inbox and task.task_id in self._running_task_ids():
                await workflow.execute_local_activity(
                    et.OPEN_HUMAN_TASK_ACTIVITY,
                    et.OpenHumanTaskInput(business_key=self._input.business_key, task_id=task.task_id,
                                          bpmn_id=task.bpmn_id, name=task.name, lane=task.lane,
                                          candidate_unit=task.candidate_unit, form_schema=task.form_schema,
                                          process_sha256=self._input.bpmn_sha256),
                    start_to_close_timeout=INBOX_TIMEOUT, retry_policy=INBOX_RETRY)
                self._inbox[task.task_id] = task

    def _running_task_ids(self) -> set[str]:
        return {task.task_id for task in self._running().open_user_tasks()}

    async def _run_service_calls(self) -> bool:
        """Run every pending service call (concurrently); True when results were written."""
        runner = self._running()
        calls = [call for call in runner.pending_service_calls() if call.task_id not in self._failed_calls]
        if not calls:
            return False
        handles = [
            (call, workflow.start_activity(
                call.operator,
                et.ServiceCallInput(business_key=self._input.business_key, task_id=call.task_id,
                                    operator=call.operator, params=call.params),
                start_to_close_timeout=SERVICE_TIMEOUT, retry_policy=service_retry_policy(call)))
            for call in calls
        ]
        completed = 0
        for call, handle in handles:
            try:
                result = await handle
            except ActivityError as exc:
                # Retries are spent: an incident, until someone asks for a retry.
                self._failed_calls.add(call.task_id)
                self._incident = et.EngineIncidentInfo(
                    message=f"service call {call.operator} failed: {exc.cause or exc}", bpmn_id=call.bpmn_id,
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
        """Complete a user task, step the engine, close the task in the inbox; returns the state
        after the step. Tasks the step opened show in `open_tasks` once `open_human_task` has
        written them (the main loop does that next): read the inbox or the `state` query."""
        # Validators do not run on replay, and two updates can pass theirs in one activation:
        # check again. Everything up to the first await is atomic, so the first handler to get
        # here takes the task, and no timer can fire between the check and the completion.
        self._refuse_completion(input)
        task = self._inbox.pop(input.task_id)
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
        try:
            await workflow.execute_local_activity(
                et.CLOSE_HUMAN_TASK_ACTIVITY,
                et.CloseHumanTaskInput(business_key=self._input.business_key, task_id=input.task_id,
                                       actor_username=input.actor_username, data=input.data),
                start_to_close_timeout=INBOX_TIMEOUT, retry_policy=INBOX_RETRY)
        except ActivityError as exc:
            # Retries are unlimited, so only a non-retryable refusal gets here; the completion
            # itself stands.
            self._incident = et.EngineIncidentInfo(message=f"the inbox refused to close task {input.task_id}: "
                                                           f"{exc.cause or exc}", task_id=input.task_id)
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
