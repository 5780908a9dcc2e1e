"""Sign-in, sign-out, forgotten password (CRM-01, CRM-02) and password reset pages."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from api.deps import SESSION_COOKIE, ServicesDep, SessionDep
from api.notifications import send_password_reset
from api.ratelimit import check_login_rate
from api.routers.auth import sign_in
from core.errors import HotlineError, ServiceUnavailable, ValidationFailed
from core.i18n import translate
from core.models import SessionKind
from core.security import MIN_PASSWORD_LENGTH
from core.services import auth
from ui.forms import failed_fields, read_form, safe_next
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import OptionalSignedInDep, page_router, see_other
from ui.templating import render

router = page_router()

# Notices the login page may show, by key (never text from the address bar).
LOGIN_NOTICES = {
    "logged_out": N_("You have signed out."),
    "reset": N_("Your password was reset. Sign in with the new password."),
}
REQUIRED = "This field is required."


def _login_page(request: Request, status_code: int = 200, **context: object) -> Response:
    _ = gettext_for(page_locale(request))
    return render(request, "login.html", status_code=status_code, title=_("Sign in"), **context)


@router.get("/login")
async def login_form(request: Request, signed_in: OptionalSignedInDep, next: str | None = None,
                     notice: str | None = None) -> Response:
    if signed_in is not None:
        return see_other(safe_next(next))
    message = LOGIN_NOTICES.get(notice or "")
    _ = gettext_for(page_locale(request))
    return _login_page(request, next=safe_next(next), notice=_(message) if message else None)


@router.post("/login")
async def login_submit(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    username, password, target = form.get("username", "").strip(), form.get("password", ""), safe_next(form.get("next"))
    values = {"username": username}
    if not username or not password:
        errors = {name: [translate(REQUIRED, locale)] for name in ("username", "password") if not form.get(name, "").strip()}
        return _login_page(request, 422, next=target, values=values, errors=errors)
    try:
        token, ttl = await sign_in(request, services, session, username[:64], password[:256], SessionKind.cookie)
    except HotlineError as exc:
        return _login_page(request, exc.status_code, next=target, values=values,
                           error=translate(exc.message, locale, **exc.params))
    response = see_other(target)
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl, path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, services: ServicesDep, signed_in: OptionalSignedInDep) -> Response:
    await read_form(request)
    if signed_in is not None:
        await auth.end_session(session, signed_in.session_id)
        await session.commit()
        services.auth_cache.forget_user(signed_in.user.id)
    response = see_other("/login?notice=logged_out")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def _forgot_page(request: Request, status_code: int = 200, **context: object) -> Response:
    _ = gettext_for(page_locale(request))
    return render(request, "forgot_password.html", status_code=status_code, title=_("Forgot password"), **context)


@router.get("/forgot-password")
async def forgot_form(request: Request) -> Response:
    return _forgot_page(request)


@router.post("/forgot-password")
async def forgot_submit(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    _ = gettext_for(locale)
    login = form.get("login", "").strip()[:254]
    values = {"login": login}
    if not login:
        return _forgot_page(request, 422, values=values, errors={"login": [_(REQUIRED)]})
    try:
        check_login_rate(services, request.client.host if request.client else None)
        if services.temporal is None:  # refuse up front, whether or not the account exists
            raise ServiceUnavailable(component="Temporal")
        found = await auth.request_password_reset(session, login, timedelta(minutes=services.settings.reset_token_ttl_minutes))
        await session.commit()
        if found is not None:
            await send_password_reset(services, *found)
    except ServiceUnavailable as exc:
        message = translate(exc.message, locale, component=_("The message service"))
        return _forgot_page(request, exc.status_code, values=values, error=message)
    except HotlineError as exc:
        return _forgot_page(request, exc.status_code, values=values, error=translate(exc.message, locale, **exc.params))
    return _forgot_page(request, sent=True, values=values)


def _reset_page(request: Request, status_code: int = 200, **context: object) -> Response:
    _ = gettext_for(page_locale(request))
    return render(request, "reset_password.html", status_code=status_code, title=_("Set a new password"),
                  min_length=MIN_PASSWORD_LENGTH, **context)


@router.get("/reset-password")
async def reset_form(request: Request, token: str | None = None) -> Response:
    if not token:
        message = translate("The reset link is invalid or has expired. Request a new one.", page_locale(request))
        return _reset_page(request, 400, token="", error=message)
    return _reset_page(request, token=token[:128])


@router.post("/reset-password")
async def reset_submit(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    form = await read_form(request)
    token = form.get("token", "")[:128]
    try:
        user = await auth.reset_password(session, token, form.get("new_password", ""), form.get("new_password_confirm", ""))
        await session.commit()
        services.auth_cache.forget_user(user.id)
    except ValidationFailed as exc:
        errors, general = failed_fields(exc, page_locale(request))
        errors.pop("token", None)
        return _reset_page(request, exc.status_code, token=token, errors=errors, error=general)
    return see_other("/login?notice=reset")
