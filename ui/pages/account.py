"""The signed-in user's own account: profile (PERM-02), password (PERM-03), notification settings
(PERM-10), page language."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import ActorDep, ServicesDep, SessionDep, SignedInDep, get_actor
from core.errors import ValidationFailed
from core.i18n import SUPPORTED_LOCALES
from core.models.users import ProfileUpdate
from core.security import MIN_PASSWORD_LENGTH
from core.services import auth, notification_settings, users
from core.services.notification_settings import SMS_MAX
from ui.forms import failed_fields, invalid_fields, local_path, read_form
from ui.i18n import LANG_COOKIE, gettext_for, page_locale
from ui.pages import admin_people_sms as sms_settings
from ui.pages.common import (
    OptionalSignedInDep,
    own_account,
    page_router,
    render_signed_in,
    see_other,
)

router = page_router()

PROFILE_FIELDS = ("full_name", "phone", "email", "address", "locale")
OPTIONAL_PROFILE_FIELDS = ("phone", "email", "address")
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


async def _password_page(request: Request, session: SessionDep, signed_in: SignedInDep, status_code: int = 200,
                         **context: object) -> Response:
    _ = gettext_for(page_locale(request))
    return await render_signed_in(request, session, signed_in, "change_password.html", status_code,
                                  title=_("Change password"), min_length=MIN_PASSWORD_LENGTH, **context)


@router.get("/change-password")
async def password_form(request: Request, session: SessionDep, signed_in: SignedInDep, done: str | None = None) -> Response:
    _ = gettext_for(page_locale(request))
    notice = _("Your password was changed.") if done else None
    return await _password_page(request, session, signed_in, notice=notice)


@router.post("/change-password")
async def password_submit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                          actor: ActorDep) -> Response:
    form = await read_form(request)
    user = await own_account(session, signed_in)
    try:
        await auth.change_password(session, actor, user, form.get("current_password", ""),
                                   form.get("new_password", ""), form.get("new_password_confirm", ""),
                                   keep_session_id=signed_in.session_id)
        await session.commit()
        services.auth_cache.forget_user(user.id)
    except ValidationFailed as exc:  # raised before anything was changed: nothing to roll back
        errors, general = failed_fields(exc, page_locale(request))
        return await _password_page(request, session, signed_in, exc.status_code, errors=errors, error=general)
    return see_other("/change-password?done=1")


def _profile_values(form: dict[str, str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {name: form.get(name, "").strip() for name in PROFILE_FIELDS}
    for name in OPTIONAL_PROFILE_FIELDS:
        values[name] = values[name] or None
    return values


async def _profile_page(request: Request, session: SessionDep, signed_in: SignedInDep, status_code: int = 200,
                        **context: object) -> Response:
    _ = gettext_for(page_locale(request))
    return await render_signed_in(request, session, signed_in, "profile.html", status_code, title=_("My profile"),
                                  user=signed_in.user, **context)


@router.get("/profile")
async def profile_form(request: Request, session: SessionDep, signed_in: SignedInDep, saved: str | None = None) -> Response:
    user = signed_in.user
    values = {name: getattr(user, name) or "" for name in PROFILE_FIELDS}
    _ = gettext_for(page_locale(request))
    notice = _("Your profile was saved.") if saved else None
    return await _profile_page(request, session, signed_in, values=values, notice=notice)


@router.post("/profile")
async def profile_submit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                         actor: ActorDep) -> Response:
    form = await read_form(request)
    values = _profile_values(form)
    try:
        data = ProfileUpdate.model_validate(values)
        user = await own_account(session, signed_in)
        await users.update_profile(session, actor, user, data)
        await session.commit()
        services.auth_cache.forget_user(user.id)
    except ValidationError as exc:
        return await _profile_page(request, session, signed_in, 422, values=values,
                                   errors=invalid_fields(exc, page_locale(request)))
    except ValidationFailed as exc:  # raised before anything was changed: nothing to roll back
        errors, general = failed_fields(exc, page_locale(request))
        return await _profile_page(request, session, signed_in, exc.status_code, values=values, errors=errors,
                                   error=general)
    return see_other("/profile?saved=1")


@router.post("/language")
async def switch_language(request: Request, session: SessionDep, services: ServicesDep,
                          signed_in: OptionalSignedInDep) -> Response:
    """The header's vi/en switch: a cookie for everyone, and the account's setting when signed in."""
    form = await read_form(request)
    lang = form.get("lang", "")
    response = see_other(local_path(form.get("next")))
    if lang not in SUPPORTED_LOCALES:
        return response
    if signed_in is not None and signed_in.user.locale != lang:
        actor = await get_actor(request, signed_in)
        await users.update_profile(session, actor, await own_account(session, signed_in), ProfileUpdate(locale=lang))
        await session.commit()
        services.auth_cache.forget_user(signed_in.user.id)
    response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, path="/", samesite="lax",
                        secure=request.url.scheme == "https")
    return response


# ---- my notification settings (PERM-10): the administrator's SMS form, for my own account ----

async def _notifications_page(request: Request, session: SessionDep, signed_in: SignedInDep, status_code: int = 200,
                              **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    user = await own_account(session, signed_in)
    settings = await notification_settings.get_settings(session, user)
    context.setdefault("values", sms_settings.values_from(settings))
    context.setdefault("errors", {})
    return await render_signed_in(request, session, signed_in, "my_notifications.html", status_code,
                                  title=_("My notification settings"), settings=settings,
                                  event_labels=sms_settings.EVENT_LABELS, sms_max=SMS_MAX, **context)


@router.get("/profile/notifications")
async def my_notifications(request: Request, session: SessionDep, signed_in: SignedInDep,
                           saved: str | None = None) -> Response:
    _ = gettext_for(page_locale(request))
    return await _notifications_page(request, session, signed_in, notice=_("The SMS settings were saved.") if saved else None)


@router.post("/profile/notifications")
async def my_notifications_submit(request: Request, session: SessionDep, signed_in: SignedInDep,
                                  actor: ActorDep) -> Response:
    values = sms_settings.submitted(await read_form(request))
    user = await own_account(session, signed_in)
    errors, general, status = await sms_settings.save_settings(session, actor, user, values, page_locale(request))
    if status != 303:
        return await _notifications_page(request, session, signed_in, status, values=values, errors=errors,
                                         error=general)
    return see_other("/profile/notifications?saved=1")
