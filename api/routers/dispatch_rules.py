"""Auto-dispatch rules (CRM-37): which unit receives a ticket of given fields in a given area."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import Allowed, PageDep, PathId, QueryId, SessionDep
from api.schemas import ERROR_RESPONSES, PageOut
from core.models.tickets import AutoDispatchRuleCreate, AutoDispatchRulePublic, AutoDispatchRuleUpdate
from core.services import dispatch_rules

router = APIRouter(prefix="/api/v1/dispatch-rules", tags=["dispatch-rules"], responses=ERROR_RESPONSES)
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.get("", response_model=PageOut[AutoDispatchRulePublic],
            summary="Rules in the order they are tried (priority, then id); field_id finds the rules naming a field")
async def list_rules(_: Allowed("dispatch_rules", "read"), session: SessionDep, page: PageDep, field_id: QueryId = None,
                     area_id: QueryId = None, unit_id: QueryId = None, active: bool | None = None,
                     q: Annotated[str | None, Query(max_length=100)] = None) -> PageOut[AutoDispatchRulePublic]:
    return PageOut.of(await dispatch_rules.list_rules(session, page, field_id, area_id, unit_id, active, q))


@router.post("", response_model=AutoDispatchRulePublic, status_code=status.HTTP_201_CREATED)
async def create_rule(body: AutoDispatchRuleCreate, actor: Allowed("dispatch_rules", "write"),
                      session: SessionDep) -> AutoDispatchRulePublic:
    out = await dispatch_rules.create_rule(session, actor, body)
    await session.commit()
    return out


@router.get("/{rule_id}", response_model=AutoDispatchRulePublic)
async def get_rule(rule_id: PathId, _: Allowed("dispatch_rules", "read"), session: SessionDep) -> AutoDispatchRulePublic:
    return await dispatch_rules.get_rule(session, rule_id)


@router.patch("/{rule_id}", response_model=AutoDispatchRulePublic)
async def update_rule(rule_id: PathId, body: AutoDispatchRuleUpdate, actor: Allowed("dispatch_rules", "write"),
                      session: SessionDep) -> AutoDispatchRulePublic:
    out = await dispatch_rules.update_rule(session, actor, rule_id, body)
    await session.commit()
    return out


@router.delete("/{rule_id}", status_code=NO_CONTENT)
async def delete_rule(rule_id: PathId, actor: Allowed("dispatch_rules", "write"), session: SessionDep) -> Response:
    await dispatch_rules.delete_rule(session, actor, rule_id)
    await session.commit()
    return Response(status_code=NO_CONTENT)
