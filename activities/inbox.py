"""Projections of the BPMN engine's user tasks into the inbox (`human_task` rows), run by the
worker as the `sync_process_step` local activity: one transaction per engine step. Idempotent:
a retried activity writes nothing twice (rows and events are keyed by the Spiff task id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from core.db import unit_of_work
from core.engine_types import SYNC_STEP_ACTIVITY, SyncStepInput, SyncStepResult
from core.services import inbox


class InboxActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=SYNC_STEP_ACTIVITY)
    async def sync_process_step(self, input: SyncStepInput) -> SyncStepResult:
        """Close, then open, the step's tasks; echo the state digest (the replay checkpoint)."""
        if input.closes or input.opens:
            async with unit_of_work(self.sessions) as session:
                for close in input.closes:
                    await inbox.close_task(session, close.business_key, close.task_id, close.actor_username or None,
                                           close.outcome, close.data)
                for task in input.opens:
                    await inbox.open_task(session, inbox.OpenTask(
                        ticket_code=task.business_key, spiff_task_id=task.task_id, bpmn_id=task.bpmn_id,
                        name=task.name, lane=task.lane, candidate_unit_path=task.candidate_unit,
                        form_schema=task.form_schema))
        return SyncStepResult(digest=input.digest, digest_version=input.digest_version)
