"""My in-app notifications (a task waits for me, a ticket reached my unit, a ticket is overdue)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Allowed, PageDep, PathId, SessionDep
from api.schemas import ERROR_RESPONSES, PageOut
from core.services import notifications

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"], responses=ERROR_RESPONSES)


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str | None
    ticket_code: str | None
    created_at: datetime
    read_at: datetime | None


@router.get("", response_model=PageOut[NotificationOut], summary="My notifications, unread first")
async def list_mine(actor: Allowed("notifications", "read"), session: SessionDep, page: PageDep,
                    unread: bool = False) -> PageOut[NotificationOut]:
    return PageOut.of(await notifications.list_mine(session, actor, page, unread))  # type: ignore[arg-type]


@router.get("/unread-count", response_model=dict[str, int])
async def unread_count(actor: Allowed("notifications", "read"), session: SessionDep) -> dict[str, int]:
    return {"unread": await notifications.unread_count(session, actor)}


@router.post("/{notification_id}/read", response_model=dict[str, int])
async def mark_read(notification_id: PathId, actor: Allowed("notifications", "read"), session: SessionDep) -> dict[str, int]:
    changed = await notifications.mark_read(session, actor, notification_id)
    await session.commit()
    return {"marked": changed}


@router.post("/read-all", response_model=dict[str, int])
async def mark_all_read(actor: Allowed("notifications", "read"), session: SessionDep) -> dict[str, int]:
    changed = await notifications.mark_read(session, actor)
    await session.commit()
    return {"marked": changed}
