"""The audit trail, for auditors and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Allowed, PageDep, QueryId, SessionDep
from api.schemas import ERROR_RESPONSES, PageOut
from core.models.audit import AuditLogPublic
from core.services import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("", response_model=PageOut[AuditLogPublic])
async def list_audit(_: Allowed("audit", "read"), session: SessionDep, page: PageDep,
                     entity: Annotated[str | None, Query(max_length=50)] = None,
                     entity_id: Annotated[str | None, Query(max_length=64)] = None,
                     actor_id: QueryId = None) -> PageOut[AuditLogPublic]:
    return PageOut.of(await audit.search(session, page, entity, entity_id, actor_id))
