"""In-app notifications of the signed-in user: list (unread first), mark read."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound
from core.models.base import utcnow
from core.models.tickets import InAppNotification, Ticket
from core.services.actor import Actor
from core.services.crud import Page, PageResult, paged


async def list_mine(session: AsyncSession, actor: Actor, page: Page, unread_only: bool = False) -> PageResult[dict]:
    stmt = (select(InAppNotification, Ticket.code).outerjoin(Ticket, col(Ticket.id) == col(InAppNotification.ticket_id))
            .where(InAppNotification.user_id == actor.user_id)
            .order_by(col(InAppNotification.read_at).is_not(None), col(InAppNotification.id).desc()))
    if unread_only:
        stmt = stmt.where(col(InAppNotification.read_at).is_(None))
    total, rows = await paged(session, stmt, page)
    items = [{"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "ticket_code": code,
              "created_at": n.created_at, "read_at": n.read_at} for n, code in rows]
    return PageResult(total, page.page, page.per_page, items)


async def unread_count(session: AsyncSession, actor: Actor) -> int:
    return (await session.exec(select(func.count()).select_from(InAppNotification).where(
        InAppNotification.user_id == actor.user_id, col(InAppNotification.read_at).is_(None)))).one()


async def mark_read(session: AsyncSession, actor: Actor, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) unread notification of mine as read; returns how many."""
    table = InAppNotification.__table__  # type: ignore[attr-defined]
    stmt = sa.update(table).where(table.c.user_id == actor.user_id, table.c.read_at.is_(None)).values(read_at=utcnow())
    if notification_id is not None:
        stmt = stmt.where(table.c.id == notification_id)
    changed = (await session.exec(stmt)).rowcount  # type: ignore[call-overload]
    if notification_id is not None and changed == 0:
        exists = (await session.exec(select(InAppNotification.id).where(
            InAppNotification.id == notification_id, InAppNotification.user_id == actor.user_id))).first()
        if exists is None:
            raise NotFound("Notification")
    return changed
