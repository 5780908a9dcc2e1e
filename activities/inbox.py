"""Projections of the BPMN engine's user tasks into the inbox (`human_task` rows), run by the
worker as the `sync_process_step` local activity: one transaction per engine step, then the
SMS / email notices of the tasks it opened (PERM-10), each sent at most once. Idempotent: a
retried activity writes nothing twice (rows, events and messages are keyed by the Spiff task id)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from core.db import unit_of_work
from core.engine_types import SYNC_STEP_ACTIVITY, SyncStepInput, SyncStepResult
from core.ports import Notifier
from core.services import delivery, inbox


class InboxActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier | None = None) -> None:
        self.sessions = sessions
        self.notifier = notifier  # None: in-app notices only (tests that play the engine's part)

    @activity.defn(name=SYNC_STEP_ACTIVITY)
    async def sync_process_step(self, input: SyncStepInput) -> SyncStepResult:
        """Close, then open, the step's tasks; echo the state digest (the replay checkpoint)."""
        if not input.closes and not input.opens:
            return SyncStepResult(digest=input.digest, digest_version=input.digest_version)
        async with unit_of_work(self.sessions) as session:
            for close in input.closes:
                await inbox.close_task(session, close.business_key, close.task_id, close.actor_username or None,
                                       close.outcome, close.data)
            for task in input.opens:
                await inbox.open_task(session, inbox.OpenTask(
                    ticket_code=task.business_key, spiff_task_id=task.task_id, bpmn_id=task.bpmn_id,
                    name=task.name, lane=task.lane, candidate_unit_path=task.candidate_unit,
                    form_schema=task.form_schema), outside=self.notifier is not None)
            # read in the same transaction; a retried step finds what an earlier attempt left unsent
            to_send = await delivery.pending_ids(session, [f"task:{task.task_id}:" for task in input.opens])
        if self.notifier is not None and to_send:  # after the commit: never a message for a row rolled back
            await delivery.send_ids(self.sessions, self.notifier, to_send)
        return SyncStepResult(digest=input.digest, digest_version=input.digest_version)
