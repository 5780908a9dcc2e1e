"""Projections of the BPMN engine's user tasks into the inbox (`human_task` rows), run by the
worker. Idempotent: a retried activity writes nothing twice."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from core.db import unit_of_work
from core.engine_types import (
    CLOSE_HUMAN_TASK_ACTIVITY,
    OPEN_HUMAN_TASK_ACTIVITY,
    CloseHumanTaskInput,
    OpenHumanTaskInput,
)
from core.services import inbox


class InboxActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn(name=OPEN_HUMAN_TASK_ACTIVITY)
    async def open_human_task(self, input: OpenHumanTaskInput) -> None:
        async with unit_of_work(self.sessions) as session:
            await inbox.open_task(session, inbox.OpenTask(
                ticket_code=input.business_key, spiff_task_id=input.task_id, bpmn_id=input.bpmn_id, name=input.name,
                lane=input.lane, candidate_unit_path=input.candidate_unit, form_schema=input.form_schema,
            ))

    @activity.defn(name=CLOSE_HUMAN_TASK_ACTIVITY)
    async def close_human_task(self, input: CloseHumanTaskInput) -> None:
        async with unit_of_work(self.sessions) as session:
            await inbox.close_task(session, input.business_key, input.task_id, input.actor_username or None,
                                   input.outcome, input.data)
