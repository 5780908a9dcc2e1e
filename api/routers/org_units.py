"""Organisation tree (PERM-06, PERM-07)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import Allowed, PathId, QueryId, ServicesDep, SessionDep
from api.schemas import ERROR_RESPONSES
from core.models.org import OrgUnitCreate, OrgUnitPublic, OrgUnitUpdate
from core.services import org_units

router = APIRouter(prefix="/api/v1/org-units", tags=["org-units"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[OrgUnitPublic])
async def list_units(_: Allowed("org_units", "read"), session: SessionDep, parent_id: QueryId = None,
                     under: QueryId = None) -> list[OrgUnitPublic]:
    return await org_units.list_units(session, parent_id, under)


@router.post("", response_model=OrgUnitPublic, status_code=status.HTTP_201_CREATED)
async def create_unit(body: OrgUnitCreate, actor: Allowed("org_units", "write"), session: SessionDep) -> OrgUnitPublic:
    out = await org_units.create_unit(session, actor, body)
    await session.commit()
    return out


@router.get("/{unit_id}", response_model=OrgUnitPublic)
async def get_unit(unit_id: PathId, _: Allowed("org_units", "read"), session: SessionDep) -> OrgUnitPublic:
    return await org_units.get_unit(session, unit_id)


@router.patch("/{unit_id}", response_model=OrgUnitPublic)
async def update_unit(unit_id: PathId, body: OrgUnitUpdate, actor: Allowed("org_units", "write"), session: SessionDep,
                      services: ServicesDep) -> OrgUnitPublic:
    out = await org_units.update_unit(session, actor, unit_id, body)
    await session.commit()
    services.auth_cache.clear()  # users' unit paths may have moved
    return out


@router.delete("/{unit_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_unit(unit_id: PathId, actor: Allowed("org_units", "write"), session: SessionDep) -> Response:
    await org_units.delete_unit(session, actor, unit_id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
