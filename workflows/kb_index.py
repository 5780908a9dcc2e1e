"""Indexing the knowledge base: one short workflow per change (id `kb-index-<question>-r<revision>-…`),
whose activity indexes whatever is pending (idempotent: a second run finds nothing to do)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import core.commands


@workflow.defn(name=core.commands.SYNC_KB_INDEX_WORKFLOW)
class SyncKbIndexWorkflow:
    @workflow.run
    async def run(self, mode: str = "pending") -> int:
        return await workflow.execute_activity(
            core.commands.SYNC_KB_INDEX_ACTIVITY,
            mode,
            result_type=int,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                                     maximum_interval=timedelta(minutes=1)),
        )
