"""Permission groups (PERM-05): a code, a name, the unit that manages the group and the roles it
grants; its members are listed on its page. A person gets the roles of every group they are in."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.services import AppServices
from core.errors import HotlineError
from core.models.access import GroupCreate, GroupPublic, GroupUpdate
from core.services import access, users
from core.services.actor import Actor
from core.services.crud import Page
from ui.forms import failed_fields, invalid_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.admin_people_common import (
    Option,
    names_by_id,
    path_id,
    query_id,
    role_options,
    ticked_ids,
    unit_options,
)
from ui.pages.common import page_router, render_signed_in, see_other

router = page_router()

MEMBERS_SHOWN = 200
DONE = {
    "created": N_("The permission group was created."),
    "saved": N_("The permission group was saved."),
    "deleted": N_("The permission group was deleted."),
}


def _can(services: AppServices, actor: Actor, resource: str, action: str) -> bool:
    return services.authorizer.decide(actor.roles, resource, action).allowed


def _member_reader(services: AppServices, actor: Actor) -> Actor | None:
    """Members are users: listed only for someone who may read users, within their scope."""
    decision = services.authorizer.decide(actor.roles, "users", "read")
    return actor.with_scope(decision.scope) if decision.allowed and decision.scope else None


async def _member_counts(session: SessionDep, reader: Actor | None, groups: list[GroupPublic]) -> dict[int, int]:
    if reader is None:
        return {}
    return {g.id: (await users.list_users(session, reader, Page(1, 1), group_id=g.id)).total for g in groups}


@router.get("/admin/groups")
async def group_list(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Allowed("groups", "read")) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    groups = await access.list_groups(session)
    done = request.query_params.get("done")
    return await render_signed_in(
        request, session, signed_in, "admin/people/groups.html", title=_("Permission groups"), groups=groups,
        role_names=names_by_id(role_options(await access.list_roles(session), locale)),
        unit_names=names_by_id(await unit_options(session, actor)),
        members=await _member_counts(session, _member_reader(services, actor), groups),
        can_write=_can(services, actor, "groups", "write"), can_edit_users=_can(services, actor, "users", "write"),
        notice=_(DONE[done]) if done in DONE else None)


async def _form_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Actor, status_code: int = 200, **context: Any) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    group: GroupPublic | None = context.get("group")
    context.setdefault("values", {})
    context.setdefault("role_ids", [])
    context.setdefault("can_write", True)
    members, member_total, reader = [], 0, _member_reader(services, actor)
    if group is not None and reader is not None:
        found = await users.list_users(session, reader, Page(1, MEMBERS_SHOWN), group_id=group.id)
        members, member_total = found.items, found.total
    units: list[Option] = await unit_options(session, actor, keep=query_id(context["values"].get("unit_id")))
    return await render_signed_in(
        request, session, signed_in, "admin/people/group_form.html", status_code,
        title=_("Permission group {name}", name=group.name) if group else _("New permission group"),
        unit_choices=units, unit_names=names_by_id(units),
        role_choices=role_options(await access.list_roles(session), locale), members=members,
        member_total=member_total, members_visible=reader is not None,
        can_edit_users=_can(services, actor, "users", "write"),
        **context)


def _group_values(form: dict[str, str]) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in ("code", "name", "description", "unit_id")}


def _group_data(values: dict[str, str], role_ids: list[int]) -> dict[str, Any]:
    return {"name": values["name"], "description": values["description"] or None,
            "unit_id": query_id(values["unit_id"]), "role_ids": role_ids}


@router.get("/admin/groups/new")
async def new_group_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                         actor: Allowed("groups", "write")) -> Response:
    return await _form_page(request, session, services, signed_in, actor, group=None)


@router.post("/admin/groups/new")
async def new_group_submit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                           actor: Allowed("groups", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    values = _group_values(form)
    role_ids = await ticked_ids(request, "role_ids")
    again = dict(group=None, values=values, role_ids=role_ids)
    try:
        data = GroupCreate.model_validate({**_group_data(values, role_ids), "code": values["code"]})
        group = await access.create_group(session, actor, data)
        await session.commit()
    except ValidationError as exc:
        return await _form_page(request, session, services, signed_in, actor, 422, errors=invalid_fields(exc, locale),
                                **again)
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, services, signed_in, actor, exc.status_code, errors=errors,
                                error=general, **again)
    return see_other(f"/admin/groups/{group.id}?done=created")


@router.get("/admin/groups/{group_id}")
async def edit_group_form(group_id: str, request: Request, session: SessionDep, services: ServicesDep,
                          signed_in: SignedInDep, actor: Allowed("groups", "read")) -> Response:
    group = await access.get_group(session, path_id(group_id, "Group"))
    _ = gettext_for(page_locale(request))
    done = request.query_params.get("done")
    values = {"code": group.code, "name": group.name, "description": group.description or "",
              "unit_id": str(group.unit_id or "")}
    return await _form_page(request, session, services, signed_in, actor, group=group, values=values,
                            role_ids=group.role_ids, can_write=_can(services, actor, "groups", "write"),
                            notice=_(DONE[done]) if done in DONE else None)


@router.post("/admin/groups/{group_id}")
async def edit_group_submit(group_id: str, request: Request, session: SessionDep, services: ServicesDep,
                            signed_in: SignedInDep, actor: Allowed("groups", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    group = await access.get_group(session, path_id(group_id, "Group"))
    values = {**_group_values(form), "code": group.code}
    role_ids = await ticked_ids(request, "role_ids")
    again = dict(group=group, values=values, role_ids=role_ids)
    try:
        await access.update_group(session, actor, group.id, GroupUpdate.model_validate(_group_data(values, role_ids)))
        await session.commit()
    except ValidationError as exc:
        return await _form_page(request, session, services, signed_in, actor, 422, errors=invalid_fields(exc, locale),
                                **again)
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, services, signed_in, actor, exc.status_code, errors=errors,
                                error=general, **again)
    services.auth_cache.clear()  # the members' roles changed
    return see_other(f"/admin/groups/{group.id}?done=saved")


@router.get("/admin/groups/{group_id}/delete")
async def delete_group_confirm(group_id: str, request: Request, session: SessionDep, services: ServicesDep,
                               signed_in: SignedInDep, actor: Allowed("groups", "write")) -> Response:
    _ = gettext_for(page_locale(request))
    group = await access.get_group(session, path_id(group_id, "Group"))
    return await render_signed_in(
        request, session, signed_in, "admin/people/confirm.html",
        title=_("Delete the permission group {name}?", name=group.name),
        message=_("Its members lose the roles it grants (their other groups stay). This cannot be undone."),
        action=f"/admin/groups/{group.id}/delete", button=_("Delete"), back=f"/admin/groups/{group.id}")


@router.post("/admin/groups/{group_id}/delete")
async def delete_group(group_id: str, request: Request, session: SessionDep, services: ServicesDep,
                       signed_in: SignedInDep, actor: Allowed("groups", "write")) -> Response:
    await read_form(request)
    group = await access.get_group(session, path_id(group_id, "Group"))
    await access.delete_group(session, actor, group.id)
    await session.commit()
    services.auth_cache.clear()
    return see_other("/admin/groups?done=deleted")
