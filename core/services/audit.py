"""Append-only audit trail: every admin change, with before/after snapshots."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import AuditLog
from core.models.audit import AuditLogPublic
from core.services.actor import Actor
from core.services.crud import Page, PageResult, paged

SECRET_FIELDS = frozenset({"password", "password_hash", "token", "token_hash", "secret", "new_password",
                           "current_password", "new_password_confirm"})


def snapshot(obj: SQLModel | dict[str, Any] | None) -> dict[str, Any] | None:
    """JSON-safe copy of a row without secrets."""
    if obj is None:
        return None
    data = obj if isinstance(obj, dict) else obj.model_dump(mode="json", warnings=False)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECRET_FIELDS:
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Enum):
            value = value.value
        out[key] = value
    return out


async def record(session: AsyncSession, actor: Actor, action: str, entity: str, entity_id: object = None,
                 before: SQLModel | dict[str, Any] | None = None, after: SQLModel | dict[str, Any] | None = None) -> None:
    session.add(AuditLog(
        actor_id=actor.user_id, actor_name=actor.username[:64], action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), before=snapshot(before), after=snapshot(after),
        request_id=actor.request_id, ip=actor.ip,
    ))


async def search(session: AsyncSession, page: Page, entity: str | None = None, entity_id: str | None = None,
                 actor_id: int | None = None) -> PageResult[AuditLogPublic]:
    stmt = select(AuditLog).order_by(col(AuditLog.id).desc())
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    total, rows = await paged(session, stmt, page)
    return PageResult(total, page.page, page.per_page, [AuditLogPublic.model_validate(r) for r in rows])
