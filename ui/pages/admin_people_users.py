"""Users (PERM-08) and system accounts (PERM-09): the list with its filters, create, edit,
deactivate / reactivate, unlock, and a new password set by the administrator.

The whole screen needs `users:write`: reading users is also granted to the desk and the units
(scope all / unit) for their pickers, but administering accounts is not theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from core.errors import HotlineError
from core.i18n import translate
from core.models import User
from core.models.base import utcnow
from core.models.users import UserCreate, UserPublic, UserUpdate
from core.security import MIN_PASSWORD_LENGTH
from core.services import access, org_units, users
from core.services.actor import Actor
from core.services.crud import Page, get_or_404
from ui.forms import FieldErrors, failed_fields, invalid_fields, merge, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.admin_people_common import (
    group_options,
    names_by_id,
    path_id,
    query_id,
    ticked_ids,
    unit_options,
)
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.work import local_time, page_numbers
from ui.templating import render

router = page_router()

PER_PAGE = 25
RESULTS_ID = "user-results"
TEXT_FIELDS = ("username", "code", "full_name", "phone", "email", "address", "unit_id")
OPTIONAL_FIELDS = ("code", "phone", "email", "address")
KINDS = {"staff": N_("Staff accounts"), "system": N_("System accounts")}
STATUSES = {"active": N_("Active"), "inactive": N_("Deactivated"), "locked": N_("Locked")}
DONE = {
    "created": N_("The account was created."),
    "saved": N_("The account was saved."),
    "deactivated": N_("The account was deactivated: it can no longer sign in."),
    "activated": N_("The account was reactivated."),
    "unlocked": N_("The account was unlocked."),
    "password": N_("The new password was set. Give it to the person through a safe channel."),
}
PASSWORDS_DIFFER = N_("The two passwords do not match.")
MAX_PASSWORD_LENGTH = 256  # core.types.Password
WhoCanAdminister = Allowed("users", "write")


@dataclass(frozen=True)
class UserRow:
    user: UserPublic
    unit_name: str | None
    group_names: list[str]
    state: str  # active | locked | inactive

    @property
    def locked(self) -> bool:
        return self.state == "locked"


def state_of(user: UserPublic | User, now: datetime) -> str:
    if not user.active:
        return "inactive"
    return "locked" if user.locked_until is not None and user.locked_until > now else "active"


def _filters(request: Request) -> dict[str, str]:
    params = request.query_params
    values = {"q": params.get("q", "").strip()[:100]}
    for name in ("unit", "group"):
        values[name] = str(query_id(params.get(name)) or "")
    values["kind"] = params.get("kind", "") if params.get("kind") in KINDS else ""
    values["status"] = params.get("status", "") if params.get("status") in STATUSES else ""
    return values


async def _rows(session: SessionDep, actor: Actor, values: dict[str, str], page: int,
                units: dict[int, str], groups: dict[int, str]) -> tuple[int, list[UserRow]]:
    status = values["status"]
    result = await users.list_users(
        session, actor, Page(page, PER_PAGE), q=values["q"] or None, unit_id=query_id(values["unit"]),
        active={"active": True, "inactive": False}.get(status), group_id=query_id(values["group"]),
        is_system={"staff": False, "system": True}.get(values["kind"]), locked=True if status == "locked" else None)
    now = utcnow()
    rows = [UserRow(u, units.get(u.unit_id) if u.unit_id else None, [groups[g] for g in u.group_ids if g in groups],
                    state_of(u, now)) for u in result.items]
    return result.total, rows


@router.get("/admin/users")
async def user_list(request: Request, session: SessionDep, signed_in: SignedInDep, actor: WhoCanAdminister) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    values = _filters(request)
    page = int(request.query_params["page"]) if request.query_params.get("page", "").isdigit() else 1
    page = min(max(page, 1), 10_000)
    unit_choices = await unit_options(session, actor)
    group_choices = group_options(await access.list_groups(session))
    unit_names = {u.id: u.name for u in await org_units.list_units(session)}  # inactive units too
    total, rows = await _rows(session, actor, values, page, unit_names, names_by_id(group_choices))
    query = urlencode({k: v for k, v in values.items() if v})
    done = request.query_params.get("done")
    context: dict[str, Any] = dict(
        rows=rows, total=total, page=page, pages=page_numbers(total, PER_PAGE), values=values,
        pager_href=f"/admin/users?{query}&page=" if query else "/admin/users?page=", results_id=RESULTS_ID,
        local_time=local_time, notice=_(DONE[done]) if done in DONE else None)
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == RESULTS_ID:
        response = render(request, "admin/people/_user_results.html", **context)
    else:
        response = await render_signed_in(
            request, session, signed_in, "admin/people/users.html", title=_("Users"), kinds=KINDS, statuses=STATUSES,
            unit_choices=unit_choices, group_choices=group_choices, **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _account_values(form: dict[str, str]) -> dict[str, str]:
    values = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    values["is_system"] = "1" if form.get("is_system") else ""
    return values


def _account_data(values: dict[str, str], group_ids: list[int]) -> dict[str, Any]:
    """The form as the service's input: blanks of optional fields are "none"."""
    data: dict[str, Any] = {name: values[name] or None for name in OPTIONAL_FIELDS}
    data["full_name"] = values["full_name"]
    data["unit_id"] = query_id(values["unit_id"])
    data["group_ids"] = group_ids
    data["is_system"] = bool(values["is_system"])
    return data


async def _form_page(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Actor, template: str,
                     status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    edited = context.get("user")
    context.setdefault("title", _("Edit account {username}", username=edited.username) if edited else _("New account"))
    context.setdefault("values", {})
    context.setdefault("group_ids", [])
    keep = query_id(context["values"].get("unit_id"))
    return await render_signed_in(
        request, session, signed_in, template, status_code, min_length=MIN_PASSWORD_LENGTH,
        unit_choices=await unit_options(session, actor, keep=keep),
        group_choices=group_options(await access.list_groups(session)), **context)


@router.get("/admin/users/new")
async def new_user_form(request: Request, session: SessionDep, signed_in: SignedInDep, actor: WhoCanAdminister) -> Response:
    return await _form_page(request, session, signed_in, actor, "admin/people/user_new.html")


@router.post("/admin/users/new")
async def new_user_submit(request: Request, session: SessionDep, signed_in: SignedInDep,
                          actor: WhoCanAdminister) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    values = _account_values(form)
    group_ids = await ticked_ids(request, "group_ids")
    errors: FieldErrors = {}
    if form.get("password", "") != form.get("password_confirm", ""):
        errors["password_confirm"] = [gettext_for(locale)(PASSWORDS_DIFFER)]
    again = dict(values=values, group_ids=group_ids)
    try:
        data = UserCreate.model_validate({**_account_data(values, group_ids), "username": values["username"],
                                          "password": form.get("password", "")})
    except ValidationError as exc:
        errors = merge(errors, invalid_fields(exc, locale))
        return await _form_page(request, session, signed_in, actor, "admin/people/user_new.html", 422,
                                errors=errors, **again)
    if errors:
        return await _form_page(request, session, signed_in, actor, "admin/people/user_new.html", 422,
                                errors=errors, **again)
    try:
        created = await users.create_user(session, actor, data)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, signed_in, actor, "admin/people/user_new.html", exc.status_code,
                                errors=field_errors, error=general, **again)
    return see_other(f"/admin/users/{created.id}?done=created")


async def _edit_page(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Actor, user: UserPublic,
                     status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    if "values" not in context:
        context["values"] = {name: str(getattr(user, name) or "") for name in TEXT_FIELDS}
        context["values"]["is_system"] = "1" if user.is_system else ""
        context["group_ids"] = user.group_ids
    done = request.query_params.get("done")
    context.setdefault("notice", _(DONE[done]) if done in DONE else None)
    return await _form_page(request, session, signed_in, actor, "admin/people/user_edit.html", status_code,
                            user=user, state=state_of(user, utcnow()), local_time=local_time, tab="account", **context)


@router.get("/admin/users/{user_id}")
async def edit_user_form(user_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                         actor: WhoCanAdminister) -> Response:
    user = await users.get_user(session, actor, path_id(user_id, "User"))
    return await _edit_page(request, session, signed_in, actor, user)


@router.post("/admin/users/{user_id}")
async def edit_user_submit(user_id: str, request: Request, session: SessionDep, services: ServicesDep,
                           signed_in: SignedInDep, actor: WhoCanAdminister) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    user = await users.get_user(session, actor, path_id(user_id, "User"))
    values = _account_values(form)
    values["username"] = user.username
    group_ids = await ticked_ids(request, "group_ids")
    again = dict(values=values, group_ids=group_ids)
    try:
        data = UserUpdate.model_validate(_account_data(values, group_ids))
        await users.update_user(session, actor, user.id, data)
        await session.commit()
    except ValidationError as exc:
        return await _edit_page(request, session, signed_in, actor, user, 422, errors=invalid_fields(exc, locale), **again)
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _edit_page(request, session, signed_in, actor, user, exc.status_code, errors=field_errors,
                                error=general, **again)
    services.auth_cache.forget_user(user.id)
    return see_other(f"/admin/users/{user.id}?done=saved")


@router.get("/admin/users/{user_id}/deactivate")
async def deactivate_confirm(user_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                             actor: WhoCanAdminister) -> Response:
    """The confirmation as a page of its own, for browsers without JavaScript (else a dialog)."""
    user = await users.get_user(session, actor, path_id(user_id, "User"))
    _ = gettext_for(page_locale(request))
    return await render_signed_in(request, session, signed_in, "admin/people/confirm.html",
                                  title=_("Deactivate the account {username}?", username=user.username),
                                  message=_("{name} will no longer be able to sign in. Their history is kept and the "
                                            "account can be reactivated later.", name=user.full_name),
                                  action=f"/admin/users/{user.id}/deactivate", button=_("Deactivate"),
                                  back=f"/admin/users/{user.id}")


async def _status_change(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                         actor: Actor, user_id: str, change: str) -> Response:
    await read_form(request)
    user = await users.get_user(session, actor, path_id(user_id, "User"))
    try:
        if change == "deactivated":
            await users.deactivate_user(session, actor, user.id)
        elif change == "activated":
            await users.update_user(session, actor, user.id, UserUpdate(active=True))
        else:
            await users.unlock_user(session, actor, user.id)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        _errors, general = failed_fields(exc, page_locale(request))
        messages = [m for ms in _errors.values() for m in ms]
        return await _edit_page(request, session, signed_in, actor, user, exc.status_code,
                                error=" ".join(messages) if messages else general)
    services.auth_cache.forget_user(user.id)
    return see_other(f"/admin/users/{user.id}?done={change}")


@router.post("/admin/users/{user_id}/deactivate")
async def deactivate(user_id: str, request: Request, session: SessionDep, services: ServicesDep,
                     signed_in: SignedInDep, actor: WhoCanAdminister) -> Response:
    return await _status_change(request, session, services, signed_in, actor, user_id, "deactivated")


@router.post("/admin/users/{user_id}/activate")
async def activate(user_id: str, request: Request, session: SessionDep, services: ServicesDep,
                   signed_in: SignedInDep, actor: WhoCanAdminister) -> Response:
    return await _status_change(request, session, services, signed_in, actor, user_id, "activated")


@router.post("/admin/users/{user_id}/unlock")
async def unlock(user_id: str, request: Request, session: SessionDep, services: ServicesDep,
                 signed_in: SignedInDep, actor: WhoCanAdminister) -> Response:
    return await _status_change(request, session, services, signed_in, actor, user_id, "unlocked")


async def _password_page(request: Request, session: SessionDep, signed_in: SignedInDep, user: UserPublic,
                         status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    return await render_signed_in(request, session, signed_in, "admin/people/user_password.html", status_code,
                                  title=_("New password for {username}", username=user.username), user=user,
                                  min_length=MIN_PASSWORD_LENGTH, tab="password", **context)


@router.get("/admin/users/{user_id}/password")
async def password_form(user_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                        actor: WhoCanAdminister) -> Response:
    user = await users.get_user(session, actor, path_id(user_id, "User"))
    return await _password_page(request, session, signed_in, user)


@router.post("/admin/users/{user_id}/password")
async def password_submit(user_id: str, request: Request, session: SessionDep, services: ServicesDep,
                          signed_in: SignedInDep, actor: WhoCanAdminister) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    user = await users.get_user(session, actor, path_id(user_id, "User"))
    password = form.get("password", "")
    if len(password) > MAX_PASSWORD_LENGTH:
        return await _password_page(request, session, signed_in, user, 422, errors={"password": [
            translate("Too long (at most {max_length} characters).", locale, max_length=MAX_PASSWORD_LENGTH)]})
    if password != form.get("password_confirm", ""):
        return await _password_page(request, session, signed_in, user, 422,
                                    errors={"password_confirm": [gettext_for(locale)(PASSWORDS_DIFFER)]})
    try:
        await users.set_password(session, actor, await get_or_404(session, User, user.id, "User"), password)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        return await _password_page(request, session, signed_in, user, exc.status_code, errors=errors, error=general)
    services.auth_cache.forget_user(user.id)
    return see_other(f"/admin/users/{user.id}?done=password")
