"""Durable delivery of one message to a citizen: retried with backoff while the provider cannot
take it, failed at once when it refuses it for good (the activity records either outcome)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import core.commands


@workflow.defn(name=core.commands.SEND_MESSAGE_WORKFLOW)
class SendMessageWorkflow:
    @workflow.run
    async def run(self, input: core.commands.SendMessageInput) -> str:
        return await workflow.execute_activity(
            core.commands.SEND_MESSAGE_ACTIVITY,
            input,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                                     maximum_interval=timedelta(minutes=5), maximum_attempts=core.commands.SEND_MESSAGE_MAX_ATTEMPTS,
                                     non_retryable_error_types=["PermanentSendError"]),
        )
