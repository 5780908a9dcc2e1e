"""Areas (CRM-26…29) and ticket fields with SLA hours (CRM-20…25, PERM-11)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import Allowed, PageDep, PathId, QueryId, SessionDep
from api.schemas import ERROR_RESPONSES, PageOut
from core.models import AreaLevel
from core.models.catalog import (
    AreaCreate,
    AreaPublic,
    AreaUpdate,
    TicketFieldCreate,
    TicketFieldPublic,
    TicketFieldUpdate,
)
from core.services import catalog

areas = APIRouter(prefix="/api/v1/areas", tags=["areas"], responses=ERROR_RESPONSES)
fields = APIRouter(prefix="/api/v1/fields", tags=["fields"], responses=ERROR_RESPONSES)
NO_CONTENT = status.HTTP_204_NO_CONTENT


@areas.get("", response_model=PageOut[AreaPublic])
async def list_areas(_: Allowed("areas", "read"), session: SessionDep, page: PageDep,
                     scheme: Annotated[str | None, Query(pattern="^(2025|legacy)$")] = None,
                     parent_id: QueryId = None, level: AreaLevel | None = None,
                     q: Annotated[str | None, Query(max_length=100)] = None) -> PageOut[AreaPublic]:
    return PageOut.of(await catalog.list_areas(session, page, scheme, parent_id, level, q))


@areas.post("", response_model=AreaPublic, status_code=status.HTTP_201_CREATED)
async def create_area(body: AreaCreate, actor: Allowed("areas", "write"), session: SessionDep) -> AreaPublic:
    out = await catalog.create_area(session, actor, body)
    await session.commit()
    return out


@areas.get("/{area_id}", response_model=AreaPublic)
async def get_area(area_id: PathId, _: Allowed("areas", "read"), session: SessionDep) -> AreaPublic:
    return await catalog.get_area(session, area_id)


@areas.patch("/{area_id}", response_model=AreaPublic)
async def update_area(area_id: PathId, body: AreaUpdate, actor: Allowed("areas", "write"), session: SessionDep) -> AreaPublic:
    out = await catalog.update_area(session, actor, area_id, body)
    await session.commit()
    return out


@areas.delete("/{area_id}", status_code=NO_CONTENT)
async def delete_area(area_id: PathId, actor: Allowed("areas", "write"), session: SessionDep) -> Response:
    await catalog.delete_area(session, actor, area_id)
    await session.commit()
    return Response(status_code=NO_CONTENT)


@fields.get("", response_model=list[TicketFieldPublic])
async def list_fields(_: Allowed("fields", "read"), session: SessionDep, active: bool | None = None,
                      parent_id: QueryId = None) -> list[TicketFieldPublic]:
    return await catalog.list_fields(session, active, parent_id)


@fields.post("", response_model=TicketFieldPublic, status_code=status.HTTP_201_CREATED)
async def create_field(body: TicketFieldCreate, actor: Allowed("fields", "write"), session: SessionDep) -> TicketFieldPublic:
    out = await catalog.create_field(session, actor, body)
    await session.commit()
    return out


@fields.get("/{field_id}", response_model=TicketFieldPublic)
async def get_field(field_id: PathId, _: Allowed("fields", "read"), session: SessionDep) -> TicketFieldPublic:
    return await catalog.get_field(session, field_id)


@fields.patch("/{field_id}", response_model=TicketFieldPublic)
async def update_field(field_id: PathId, body: TicketFieldUpdate, actor: Allowed("fields", "write"),
                       session: SessionDep) -> TicketFieldPublic:
    out = await catalog.update_field(session, actor, field_id, body)
    await session.commit()
    return out


@fields.delete("/{field_id}", status_code=NO_CONTENT,
               summary="Delete a field; a parent needs with_children=true (the second confirmation)")
async def delete_field(field_id: PathId, actor: Allowed("fields", "write"), session: SessionDep,
                       with_children: bool = False) -> Response:
    await catalog.delete_field(session, actor, field_id, with_children)
    await session.commit()
    return Response(status_code=NO_CONTENT)
