"""The signed-in user's own account: profile (PERM-02), password (PERM-03), menu (PERM-04)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import ActorDep, ServicesDep, SessionDep, SignedInDep
from core.models import User
from core.models.access import MenuPublic
from core.models.users import PasswordChange, ProfileUpdate, UserPublic
from core.services import access, auth, users
from core.services.crud import get_or_404

router = APIRouter(prefix="/api/v1/me", tags=["me"])


@router.get("", response_model=UserPublic, summary="My profile and roles")
async def me(signed_in: SignedInDep) -> UserPublic:
    user = signed_in.user
    return UserPublic.model_validate(user, update={"roles": sorted(signed_in.roles)})


@router.patch("", response_model=UserPublic, summary="Edit my profile")
async def update_me(body: ProfileUpdate, signed_in: SignedInDep, actor: ActorDep, session: SessionDep,
                    services: ServicesDep) -> UserPublic:
    user = await get_or_404(session, User, signed_in.user.id, "User")  # type: ignore[arg-type]
    out = await users.update_profile(session, actor, user, body)
    await session.commit()
    services.auth_cache.forget_user(user.id)
    return out


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, summary="Change my password")
async def change_password(body: PasswordChange, signed_in: SignedInDep, actor: ActorDep, session: SessionDep,
                          services: ServicesDep) -> Response:
    user = await get_or_404(session, User, signed_in.user.id, "User")  # type: ignore[arg-type]
    await auth.change_password(session, actor, user, body.current_password, body.new_password,
                               body.new_password_confirm, keep_session_id=signed_in.session_id)
    await session.commit()
    services.auth_cache.forget_user(user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/menus", response_model=list[MenuPublic], summary="The menu entries of my roles")
async def my_menus(signed_in: SignedInDep, session: SessionDep) -> list[MenuPublic]:
    return await access.menus_for_roles(session, signed_in.roles)
