"""Notification settings (PERM-10): my own, and (for administrators) any user's in their scope,
as the customer's document describes it: pick a user, open "Cấu hình gửi SMS", save."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActorDep, Allowed, PathId, SessionDep, SignedInDep
from api.schemas import ERROR_RESPONSES
from core.models import User
from core.models.notifications import NotificationSettingsIn, NotificationSettingsOut
from core.services import notification_settings, users
from core.services.crud import get_or_404

me = APIRouter(prefix="/api/v1/me/notification-settings", tags=["me"], responses=ERROR_RESPONSES)
admin = APIRouter(prefix="/api/v1/users/{user_id}/notification-settings", tags=["users"], responses=ERROR_RESPONSES)


@me.get("", response_model=NotificationSettingsOut, summary="How I am told about each event (defaults included)")
async def my_settings(signed_in: SignedInDep, session: SessionDep) -> NotificationSettingsOut:
    user = await get_or_404(session, User, signed_in.user.id, "User")  # type: ignore[arg-type]
    return await notification_settings.get_settings(session, user)


@me.put("", response_model=NotificationSettingsOut, summary="Change how I am told about the events listed")
async def update_my_settings(body: NotificationSettingsIn, signed_in: SignedInDep, actor: ActorDep,
                             session: SessionDep) -> NotificationSettingsOut:
    user = await get_or_404(session, User, signed_in.user.id, "User")  # type: ignore[arg-type]
    out = await notification_settings.update_settings(session, actor, user, body)
    await session.commit()
    return out


@admin.get("", response_model=NotificationSettingsOut, summary="A user's notification settings")
async def user_settings(user_id: PathId, actor: Allowed("users", "read"), session: SessionDep) -> NotificationSettingsOut:
    await users.get_user(session, actor, user_id)  # scope check: another unit's user is not found
    return await notification_settings.get_settings(session, await get_or_404(session, User, user_id, "User"))


@admin.put("", response_model=NotificationSettingsOut, summary="Change a user's notification settings")
async def update_user_settings(user_id: PathId, body: NotificationSettingsIn, actor: Allowed("users", "write"),
                               session: SessionDep) -> NotificationSettingsOut:
    await users.get_user(session, actor, user_id)
    out = await notification_settings.update_settings(session, actor, await get_or_404(session, User, user_id, "User"), body)
    await session.commit()
    return out
