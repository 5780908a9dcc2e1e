"""Roles and menus (PERM-04) and permission groups (PERM-05)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import Allowed, PathId, ServicesDep, SessionDep
from api.schemas import ERROR_RESPONSES
from core.models.access import (
    GroupCreate,
    GroupPublic,
    GroupUpdate,
    MenuCreate,
    MenuPublic,
    MenuUpdate,
    RoleCreate,
    RolePublic,
    RoleUpdate,
)
from core.services import access

roles = APIRouter(prefix="/api/v1/roles", tags=["roles"], responses=ERROR_RESPONSES)
menus = APIRouter(prefix="/api/v1/menus", tags=["menus"], responses=ERROR_RESPONSES)
groups = APIRouter(prefix="/api/v1/groups", tags=["groups"], responses=ERROR_RESPONSES)
NO_CONTENT = status.HTTP_204_NO_CONTENT


@roles.get("", response_model=list[RolePublic])
async def list_roles(_: Allowed("roles", "read"), session: SessionDep) -> list[RolePublic]:
    return await access.list_roles(session)


@roles.post("", response_model=RolePublic, status_code=status.HTTP_201_CREATED)
async def create_role(body: RoleCreate, actor: Allowed("roles", "write"), session: SessionDep, services: ServicesDep) -> RolePublic:
    out = await access.create_role(session, actor, body)
    await session.commit()
    services.authorizer.reload()
    services.auth_cache.clear()
    return out


@roles.get("/{role_id}", response_model=RolePublic)
async def get_role(role_id: PathId, _: Allowed("roles", "read"), session: SessionDep) -> RolePublic:
    return await access.get_role(session, role_id)


@roles.patch("/{role_id}", response_model=RolePublic)
async def update_role(role_id: PathId, body: RoleUpdate, actor: Allowed("roles", "write"), session: SessionDep,
                      services: ServicesDep) -> RolePublic:
    out = await access.update_role(session, actor, role_id, body)
    await session.commit()
    services.authorizer.reload()
    services.auth_cache.clear()
    return out


@roles.delete("/{role_id}", status_code=NO_CONTENT)
async def delete_role(role_id: PathId, actor: Allowed("roles", "write"), session: SessionDep, services: ServicesDep) -> Response:
    await access.delete_role(session, actor, role_id)
    await session.commit()
    services.authorizer.reload()
    services.auth_cache.clear()
    return Response(status_code=NO_CONTENT)


@menus.get("", response_model=list[MenuPublic])
async def list_menus(_: Allowed("menus", "read"), session: SessionDep) -> list[MenuPublic]:
    return await access.list_menus(session)


@menus.post("", response_model=MenuPublic, status_code=status.HTTP_201_CREATED)
async def create_menu(body: MenuCreate, actor: Allowed("menus", "write"), session: SessionDep) -> MenuPublic:
    out = await access.create_menu(session, actor, body)
    await session.commit()
    return out


@menus.patch("/{menu_id}", response_model=MenuPublic)
async def update_menu(menu_id: PathId, body: MenuUpdate, actor: Allowed("menus", "write"), session: SessionDep) -> MenuPublic:
    out = await access.update_menu(session, actor, menu_id, body)
    await session.commit()
    return out


@menus.delete("/{menu_id}", status_code=NO_CONTENT)
async def delete_menu(menu_id: PathId, actor: Allowed("menus", "write"), session: SessionDep) -> Response:
    await access.delete_menu(session, actor, menu_id)
    await session.commit()
    return Response(status_code=NO_CONTENT)


@groups.get("", response_model=list[GroupPublic])
async def list_groups(_: Allowed("groups", "read"), session: SessionDep) -> list[GroupPublic]:
    return await access.list_groups(session)


@groups.post("", response_model=GroupPublic, status_code=status.HTTP_201_CREATED)
async def create_group(body: GroupCreate, actor: Allowed("groups", "write"), session: SessionDep) -> GroupPublic:
    out = await access.create_group(session, actor, body)
    await session.commit()
    return out


@groups.get("/{group_id}", response_model=GroupPublic)
async def get_group(group_id: PathId, _: Allowed("groups", "read"), session: SessionDep) -> GroupPublic:
    return await access.get_group(session, group_id)


@groups.patch("/{group_id}", response_model=GroupPublic)
async def update_group(group_id: PathId, body: GroupUpdate, actor: Allowed("groups", "write"), session: SessionDep,
                       services: ServicesDep) -> GroupPublic:
    out = await access.update_group(session, actor, group_id, body)
    await session.commit()
    services.auth_cache.clear()
    return out


@groups.delete("/{group_id}", status_code=NO_CONTENT)
async def delete_group(group_id: PathId, actor: Allowed("groups", "write"), session: SessionDep,
                       services: ServicesDep) -> Response:
    await access.delete_group(session, actor, group_id)
    await session.commit()
    services.auth_cache.clear()
    return Response(status_code=NO_CONTENT)
