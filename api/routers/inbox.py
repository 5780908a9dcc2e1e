"""My tasks and my unit's tasks (the BPMN user tasks waiting for a person): list, counts,
claim and release. Completing a task goes through the ticket's workflow (its own route)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api import lifecycle
from api.deps import Allowed, PageDep, PathId, ServicesDep, SessionDep
from api.schemas import ERROR_RESPONSES, PageOut
from core.services import inbox

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"], responses=ERROR_RESPONSES)


class InboxItem(BaseModel):
    id: int
    ticket_code: str
    ticket_description: str
    name: str
    bpmn_id: str
    spiff_task_id: str
    lane: str
    status: str
    assignee_id: int | None
    candidate_unit_id: int | None
    form_schema: dict[str, Any] | None
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    version: int


class InboxCounts(BaseModel):
    mine: int
    waiting: int
    overdue: int


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any] = Field(default_factory=dict, description="the task's form, as its form_schema declares")


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=2_147_483_647, description="the version you saw: a stale one gets 409")


@router.get("", response_model=PageOut[InboxItem])
async def list_inbox(actor: Allowed("inbox", "read"), session: SessionDep, page: PageDep, mine: bool = False) -> PageOut[InboxItem]:
    return PageOut.of(await inbox.list_inbox(session, actor, page, mine_only=mine))  # type: ignore[arg-type]


@router.get("/counts", response_model=InboxCounts)
async def counts(actor: Allowed("inbox", "read"), session: SessionDep) -> InboxCounts:
    return InboxCounts(**await inbox.inbox_counts(session, actor))


@router.post("/{task_id}/claim", response_model=dict[str, int])
async def claim(task_id: PathId, body: VersionIn, actor: Allowed("inbox", "write"), session: SessionDep) -> dict[str, int]:
    task = await inbox.claim(session, actor, task_id, body.version)
    await session.commit()
    return {"id": task.id, "version": task.version}  # type: ignore[dict-item]


@router.post("/{task_id}/release", response_model=dict[str, int])
async def release(task_id: PathId, body: VersionIn, actor: Allowed("inbox", "write"), session: SessionDep) -> dict[str, int]:
    task = await inbox.release(session, actor, task_id, body.version)
    await session.commit()
    return {"id": task.id, "version": task.version}  # type: ignore[dict-item]


@router.post("/{task_id}/complete", response_model=dict[str, Any],
             summary="Complete a task with its form: the ticket's workflow checks and records it")
async def complete(task_id: PathId, body: CompleteIn, actor: Allowed("inbox", "write"), session: SessionDep,
                   services: ServicesDep) -> dict[str, Any]:
    state = await lifecycle.complete_inbox_task(session, services, actor, task_id, body.data)
    return {"completed": task_id, "process_completed": state.completed,
            "incident": state.incident.message if state.incident else None}
