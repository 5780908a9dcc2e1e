"""DeliverNotification on a local dev server, run by the real worker (cli.worker.build_worker)
with a fake gateway behind the real activity."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState, WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput
from temporalio.worker import Interceptor as WorkerInterceptor

from api.notifications import deliver
from cli.worker import build_worker
from core.commands import DELIVER_NOTIFICATION_WORKFLOW
from core.ports import ConsoleNotifier, Notification
from core.settings import Settings

T = TypeVar("T")

DEADLINE_S = 20.0  # a healthy run needs well under a second per wait


async def within_deadline(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, timeout=DEADLINE_S)


def a_message(**changes: Any) -> Notification:
    fields: dict[str, Any] = dict(key=f"test-{uuid.uuid4().hex[:12]}", recipient_user_id=7, phone="0901234567",
                                  email="citizen@example.vn", subject="Phiếu 1022", body="Đã tiếp nhận phản ánh",
                                  kind="ticket_update")
    return Notification(**{**fields, **changes})


async def start_delivery(client: Client, settings: Settings, message: Notification) -> WorkflowHandle:
    return await client.start_workflow(DELIVER_NOTIFICATION_WORKFLOW, message, id=f"notify-{message.key}",
                                       task_queue=settings.task_queue, result_type=str)


async def activity_attempts(handle: WorkflowHandle) -> list[int]:
    """The attempt number of every activity start in the history (the server records only
    the attempt that ended the activity, so one retried activity shows one start)."""
    history = await handle.fetch_history()
    return [e.activity_task_started_event_attributes.attempt for e in history.events
            if e.HasField("activity_task_started_event_attributes")]


async def scheduled_retry_policy(handle: WorkflowHandle) -> RetryPolicy:
    history = await handle.fetch_history()
    scheduled = [e.activity_task_scheduled_event_attributes for e in history.events
                 if e.HasField("activity_task_scheduled_event_attributes")]
    assert len(scheduled) == 1
    return RetryPolicy.from_proto(scheduled[0].retry_policy)


@dataclass
class FlakyGateway:
    """Fails `failures` times the way a real gateway adapter fails (an ordinary exception),
    then delivers."""

    failures: int
    attempts: int = 0
    sent: list[Notification] = field(default_factory=list)

    async def send(self, message: Notification) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError(f"gateway unreachable (attempt {self.attempts})")
        self.sent.append(message)
        return f"provider-{message.key}"


@dataclass
class RejectingGateway:
    """Refuses the message for good (a number that cannot receive SMS, …)."""

    non_retryable: bool
    attempts: int = 0

    async def send(self, message: Notification) -> str:
        self.attempts += 1
        raise ApplicationError("recipient cannot receive messages", type="PermanentDeliveryError",
                               non_retryable=self.non_retryable)


class ShortRetryDelay(ClientInterceptor, WorkerInterceptor):
    """Test-only: the server waits `delay` before the next attempt instead of the workflow's
    2 s / 4 s backoff (measured: it still waits about 1 s, its floor for a retry). The failure keeps the exception's class name as its type and stays
    retryable, exactly as the SDK reports an ordinary exception, so the workflow's retry
    policy (attempt limit, non-retryable types) still decides whether to retry. The policy's
    backoff itself is checked on the scheduled activity instead of being waited out.

    A client interceptor that is also a worker interceptor applies to every worker built on
    that client, so the worker still comes from the unchanged cli.worker.build_worker."""

    def __init__(self, delay: timedelta = timedelta(milliseconds=100)) -> None:
        self.delay = delay

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ShortRetryDelayInbound(next, self.delay)


class _ShortRetryDelayInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, delay: timedelta) -> None:
        super().__init__(next)
        self.delay = delay

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except FailureError:
            raise  # already a Temporal failure: its own retry semantics apply
        except Exception as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, next_retry_delay=self.delay) from exc


def with_short_retry_delay(client: Client) -> Client:
    config = client.config()
    config["interceptors"] = [*config["interceptors"], ShortRetryDelay()]
    return Client(**config)


async def test_hands_the_message_to_the_gateway_once_and_returns_the_provider_id(
        wf_env: WorkflowEnvironment, wf_settings: Settings) -> None:
    # given a worker whose gateway is the console notifier
    notifier = ConsoleNotifier()
    message = a_message()
    async with build_worker(wf_env.client, wf_settings, notifier):
        # when a delivery runs
        handle = await start_delivery(wf_env.client, wf_settings, message)
        provider_id = await within_deadline(handle.result())

    # then the gateway got the message once and its id is the workflow's result
    assert provider_id == message.key  # the console notifier's provider id is the key
    assert notifier.sent == [Notification(
        key=message.key, recipient_user_id=7, phone="0901234567", email="citizen@example.vn",
        subject="Phiếu 1022", body="Đã tiếp nhận phản ánh", kind="ticket_update", sensitive=False)]
    # (the console notifier ignores repeats itself, so count the activity runs as well)
    assert await activity_attempts(handle) == [1]


@pytest.mark.parametrize("first_delivery", ["running", "completed"])
async def test_the_same_key_is_started_once(wf_env: WorkflowEnvironment, wf_settings: Settings,
                                            first_delivery: str) -> None:
    # given a delivery started the way the API starts it (workflow id notify-<key>)
    notifier = ConsoleNotifier()
    services = SimpleNamespace(temporal=wf_env.client, settings=wf_settings)
    message = a_message()
    await deliver(services, message)  # type: ignore[arg-type]
    handle = wf_env.client.get_workflow_handle(f"notify-{message.key}", result_type=str)
    async with build_worker(wf_env.client, wf_settings, notifier):
        if first_delivery == "completed":
            await within_deadline(handle.result())

        # when the same key is delivered again
        with pytest.raises(WorkflowAlreadyStartedError):
            await deliver(services, message)  # type: ignore[arg-type]

        # then there is one run and one delivery
        await within_deadline(handle.result())
    assert [m.key for m in notifier.sent] == [message.key]
    assert await activity_attempts(handle) == [1]


async def test_a_failing_gateway_is_retried_until_it_delivers_once(
        wf_env: WorkflowEnvironment, wf_settings: Settings) -> None:
    # given a gateway that fails twice with an ordinary exception, then works
    gateway = FlakyGateway(failures=2)
    client = with_short_retry_delay(wf_env.client)
    message = a_message()
    async with build_worker(client, wf_settings, gateway):
        # when a delivery runs
        handle = await start_delivery(client, wf_settings, message)
        provider_id = await within_deadline(handle.result())

    # then the third attempt delivered, once
    assert provider_id == f"provider-{message.key}"
    assert gateway.attempts == 3
    assert [m.key for m in gateway.sent] == [message.key]
    assert await activity_attempts(handle) == [3]
    # and the activity was scheduled with the backoff this test did not wait out
    policy = await scheduled_retry_policy(handle)
    assert policy.initial_interval == timedelta(seconds=2)
    assert policy.backoff_coefficient == 2.0
    assert policy.maximum_attempts == 20
    assert "PermanentDeliveryError" in (policy.non_retryable_error_types or [])


@pytest.mark.parametrize("non_retryable", [True, False], ids=["raised-non-retryable", "listed-in-retry-policy"])
async def test_a_permanent_failure_fails_the_delivery_without_retries(
        wf_env: WorkflowEnvironment, wf_settings: Settings, non_retryable: bool) -> None:
    # given a gateway that refuses the message for good
    gateway = RejectingGateway(non_retryable=non_retryable)
    message = a_message()
    async with build_worker(wf_env.client, wf_settings, gateway):
        # when a delivery runs
        handle = await start_delivery(wf_env.client, wf_settings, message)
        with pytest.raises(WorkflowFailureError) as failed:
            await within_deadline(handle.result())

    # then the workflow failed with the gateway's error after a single attempt
    cause = failed.value.cause
    assert isinstance(cause, ActivityError)
    assert cause.retry_state == RetryState.NON_RETRYABLE_FAILURE
    assert isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "PermanentDeliveryError"
    assert gateway.attempts == 1
    assert await activity_attempts(handle) == [1]
