"""User administration (PERM-08, PERM-09), scoped to the caller's unit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict

from api.deps import Allowed, PageDep, PathId, QueryId, ServicesDep, SessionDep
from api.schemas import ERROR_RESPONSES, PageOut
from core.models import User
from core.models.users import UserCreate, UserPublic, UserUpdate
from core.services import users
from core.services.crud import get_or_404
from core.types import Password

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=ERROR_RESPONSES)


class PasswordSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password


@router.get("", response_model=PageOut[UserPublic])
async def list_users(actor: Allowed("users", "read"), session: SessionDep, page: PageDep,
                     q: Annotated[str | None, Query(max_length=100)] = None, unit_id: QueryId = None,
                     active: bool | None = None, group_id: QueryId = None, is_system: bool | None = None,
                     locked: bool | None = None) -> PageOut[UserPublic]:
    return PageOut.of(await users.list_users(session, actor, page, q, unit_id, active, group_id, is_system, locked))


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, actor: Allowed("users", "write"), session: SessionDep) -> UserPublic:
    out = await users.create_user(session, actor, body)
    await session.commit()
    return out


@router.get("/{user_id}", response_model=UserPublic)
async def get_user(user_id: PathId, actor: Allowed("users", "read"), session: SessionDep) -> UserPublic:
    return await users.get_user(session, actor, user_id)


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(user_id: PathId, body: UserUpdate, actor: Allowed("users", "write"), session: SessionDep,
                      services: ServicesDep) -> UserPublic:
    out = await users.update_user(session, actor, user_id, body)
    await session.commit()
    services.auth_cache.forget_user(user_id)
    return out


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Deactivate a user (users are never erased)")
async def deactivate_user(user_id: PathId, actor: Allowed("users", "write"), session: SessionDep,
                      services: ServicesDep) -> Response:
    await users.deactivate_user(session, actor, user_id)
    await session.commit()
    services.auth_cache.forget_user(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT, summary="Set a user's password")
async def set_password(user_id: PathId, body: PasswordSet, actor: Allowed("users", "write"), session: SessionDep,
                      services: ServicesDep) -> Response:
    await users.get_user(session, actor, user_id)  # scope check
    await users.set_password(session, actor, await get_or_404(session, User, user_id, "User"), body.password)
    await session.commit()
    services.auth_cache.forget_user(user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{user_id}/unlock", response_model=UserPublic, summary="Lift a lock left by failed sign-ins")
async def unlock_user(user_id: PathId, actor: Allowed("users", "write"), session: SessionDep,
                      services: ServicesDep) -> UserPublic:
    out = await users.unlock_user(session, actor, user_id)
    await session.commit()
    services.auth_cache.forget_user(user_id)
    return out
