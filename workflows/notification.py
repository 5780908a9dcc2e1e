"""Durable delivery of one notification: retried with backoff until the gateway takes it."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import core.commands
    import core.ports


@workflow.defn(name=core.commands.DELIVER_NOTIFICATION_WORKFLOW)
class DeliverNotificationWorkflow:
    @workflow.run
    async def run(self, input: core.ports.Notification) -> str:
        return await workflow.execute_activity(
            core.commands.DELIVER_NOTIFICATION_ACTIVITY,
            input,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                                     maximum_interval=timedelta(minutes=5), maximum_attempts=20,
                                     non_retryable_error_types=["PermanentDeliveryError"]),
        )
