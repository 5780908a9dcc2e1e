"""Roles and their menus (PERM-04): the list, a custom role's create / edit / delete (it may
inherit a system role's permissions), and each role's menu entries as a checkbox tree saved in
one go. System roles keep their code and permissions and cannot be deleted; their names,
descriptions and menus can change. People who may only read roles see the same pages without
the buttons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.services import AppServices
from core.authz import SystemRole
from core.errors import HotlineError
from core.models.access import MenuPublic, RoleCreate, RolePublic, RoleUpdate
from core.services import access
from core.services.actor import Actor
from ui.forms import failed_fields, invalid_fields, read_form
from ui.i18n import N_, gettext_for, menu_label, page_locale, role_label
from ui.pages.admin_people_common import Option, path_id, ticked_ids
from ui.pages.common import page_router, render_signed_in, see_other

router = page_router()

DONE = {
    "created": N_("The role was created. Now choose the menu entries it opens."),
    "saved": N_("The role was saved."),
    "menus": N_("The role's menu was saved. People with this role see it from their next page."),
    "deleted": N_("The role was deleted."),
}


@dataclass
class MenuBranch:
    """A menu entry with its children, for the checkbox tree."""

    menu: MenuPublic
    label: str
    children: list[MenuBranch]


def menu_tree(menus: list[MenuPublic], locale: str) -> list[MenuBranch]:
    nodes = {m.id: MenuBranch(m, menu_label(m.code, m.name, locale), []) for m in menus}
    roots: list[MenuBranch] = []
    for m in sorted(menus, key=lambda m: (m.sort_order, m.id)):
        parent = nodes.get(m.parent_id) if m.parent_id is not None else None
        (parent.children if parent else roots).append(nodes[m.id])
    return roots


def _can_write(services: AppServices, actor: Actor) -> bool:
    return services.authorizer.decide(actor.roles, "roles", "write").allowed


def _after_change(services: AppServices) -> None:
    """Roles are Casbin subjects and part of every signed-in snapshot: reload both."""
    services.authorizer.reload()
    services.auth_cache.clear()


def system_role_options(roles: list[RolePublic], locale: str) -> list[Option]:
    """The roles a custom role may inherit: the system roles Casbin knows (value: the code)."""
    known = {r.value for r in SystemRole}
    return [Option(r.code, role_label(r.code, r.name, locale), hint=r.code) for r in roles if r.is_system and r.code in known]


async def _role_or_404(session: SessionDep, role_id: str) -> RolePublic:
    return await access.get_role(session, path_id(role_id, "Role"))


@router.get("/admin/roles")
async def role_list(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                    actor: Allowed("roles", "read")) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    roles = await access.list_roles(session)
    inherits = {r.code: await access.inherited_role(session, r.code) for r in roles if not r.is_system}
    system_names = {o.value: o.label for o in system_role_options(roles, locale)}
    done = request.query_params.get("done")
    return await render_signed_in(
        request, session, signed_in, "admin/people/roles.html", title=_("Roles and menus"), roles=roles,
        inherits=inherits, can_write=_can_write(services, actor), label=lambda r: role_label(r.code, r.name, locale),
        system_label=lambda code: system_names.get(code, code), notice=_(DONE[done]) if done in DONE else None)


async def _form_page(request: Request, session: SessionDep, signed_in: SignedInDep, status_code: int = 200,
                     **context: Any) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    role = context.get("role")
    context.setdefault("values", {})
    context.setdefault("can_write", True)
    title = _("Role {name}", name=role_label(role.code, role.name, locale)) if role else _("New role")
    return await render_signed_in(request, session, signed_in, "admin/people/role_form.html", status_code,
                                  title=title, system_roles=system_role_options(await access.list_roles(session), locale),
                                  tab="role", **context)


@router.get("/admin/roles/new")
async def new_role_form(request: Request, session: SessionDep, signed_in: SignedInDep,
                        actor: Allowed("roles", "write")) -> Response:
    return await _form_page(request, session, signed_in, role=None)


def _role_values(form: dict[str, str]) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name in ("code", "name", "description", "inherits")}


@router.post("/admin/roles/new")
async def new_role_submit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                          actor: Allowed("roles", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    values = _role_values(form)
    try:
        data = RoleCreate.model_validate({k: v or None for k, v in values.items()})
        role = await access.create_role(session, actor, data)
        await session.commit()
    except ValidationError as exc:
        return await _form_page(request, session, signed_in, 422, role=None, values=values,
                                errors=invalid_fields(exc, locale))
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, signed_in, exc.status_code, role=None, values=values, errors=errors,
                                error=general)
    _after_change(services)
    return see_other(f"/admin/roles/{role.id}/menus?done=created")


async def _values_of(session: SessionDep, role: RolePublic) -> dict[str, str]:
    return {"code": role.code, "name": role.name, "description": role.description or "",
            "inherits": await access.inherited_role(session, role.code) or ""}


@router.get("/admin/roles/{role_id}")
async def edit_role_form(role_id: str, request: Request, session: SessionDep, services: ServicesDep,
                         signed_in: SignedInDep, actor: Allowed("roles", "read")) -> Response:
    role = await _role_or_404(session, role_id)
    _ = gettext_for(page_locale(request))
    done = request.query_params.get("done")
    return await _form_page(request, session, signed_in, role=role, values=await _values_of(session, role),
                            can_write=_can_write(services, actor), notice=_(DONE[done]) if done in DONE else None)


@router.post("/admin/roles/{role_id}")
async def edit_role_submit(role_id: str, request: Request, session: SessionDep, services: ServicesDep,
                           signed_in: SignedInDep, actor: Allowed("roles", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    role = await _role_or_404(session, role_id)
    values = {**_role_values(form), "code": role.code}
    changes: dict[str, Any] = {"name": values["name"], "description": values["description"] or None}
    if not role.is_system:
        changes["inherits"] = values["inherits"] or None
    try:
        await access.update_role(session, actor, role.id, RoleUpdate.model_validate(changes))
        await session.commit()
    except ValidationError as exc:
        return await _form_page(request, session, signed_in, 422, role=role, values=values,
                                errors=invalid_fields(exc, locale))
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, signed_in, exc.status_code, role=role, values=values, errors=errors,
                                error=general)
    _after_change(services)
    return see_other(f"/admin/roles/{role.id}?done=saved")


@router.get("/admin/roles/{role_id}/menus")
async def role_menus_form(role_id: str, request: Request, session: SessionDep, services: ServicesDep,
                          signed_in: SignedInDep, actor: Allowed("roles", "read")) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    role = await _role_or_404(session, role_id)
    done = request.query_params.get("done")
    return await render_signed_in(
        request, session, signed_in, "admin/people/role_menus.html",
        title=_("Menu of the role {name}", name=role_label(role.code, role.name, locale)), role=role,
        tree=menu_tree(await access.list_menus(session), locale), ticked=set(role.menu_ids),
        is_admin=role.code == SystemRole.admin, can_write=_can_write(services, actor), tab="menus",
        notice=_(DONE[done]) if done in DONE else None)


@router.post("/admin/roles/{role_id}/menus")
async def role_menus_submit(role_id: str, request: Request, session: SessionDep, services: ServicesDep,
                            signed_in: SignedInDep, actor: Allowed("roles", "write")) -> Response:
    await read_form(request)
    role = await _role_or_404(session, role_id)
    await access.update_role(session, actor, role.id, RoleUpdate(menu_ids=await ticked_ids(request, "menu_ids")))
    await session.commit()
    _after_change(services)
    return see_other(f"/admin/roles/{role.id}/menus?done=menus")


@router.get("/admin/roles/{role_id}/delete")
async def delete_role_confirm(role_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                              actor: Allowed("roles", "write")) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    role = await _role_or_404(session, role_id)
    return await render_signed_in(
        request, session, signed_in, "admin/people/confirm.html",
        title=_("Delete the role {name}?", name=role_label(role.code, role.name, locale)),
        message=_("Permission groups lose this role, and the people in them lose its menu and permissions. "
                  "This cannot be undone."),
        action=f"/admin/roles/{role.id}/delete", button=_("Delete"), back="/admin/roles")


@router.post("/admin/roles/{role_id}/delete")
async def delete_role(role_id: str, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Allowed("roles", "write")) -> Response:
    await read_form(request)
    role = await _role_or_404(session, role_id)
    await access.delete_role(session, actor, role.id)  # a system role: a 422 page that says so
    await session.commit()
    _after_change(services)
    return see_other("/admin/roles?done=deleted")
