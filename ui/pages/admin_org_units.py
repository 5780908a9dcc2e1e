"""Units (đơn vị): organizations (PERM-06: code, name, the permission groups they manage, their
manager) and departments (PERM-07: code, name, parent) as one tree beside the selected unit and
the units under it; create under a parent, edit, deactivate, delete after a confirmation. Every
change goes through core.services.org_units, as the JSON API's does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import Allowed, PathId, ServicesDep, SessionDep, SignedInDep
from core.errors import HotlineError, NotFound
from core.models.access import GroupPublic, GroupUpdate
from core.models.org import OrgUnitCreate, OrgUnitKind, OrgUnitPublic, OrgUnitUpdate
from core.services import access, catalog, org_units, users, work_queue
from core.services.actor import Actor
from core.services.crud import Page
from core.services.work_queue import Choice
from ui.forms import failed_fields, invalid_fields, read_form, refusal
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.admin_org_tree import (
    TreeNode,
    build_tree,
    confirmation,
    merge_errors,
    path_ids,
    query_id,
    required_errors,
)
from ui.pages.common import page_router, render_signed_in, see_other

router = page_router()

BASE = "/admin/units"
KIND_LABELS = {
    OrgUnitKind.organization: N_("Organization"),
    OrgUnitKind.department: N_("Department"),
    OrgUnitKind.sub_unit: N_("Sub-unit"),
    OrgUnitKind.commune: N_("Commune or ward people's committee"),
}
NOTICES = {
    "created": N_("The unit was created."),
    "saved": N_("The unit was saved."),
    "deleted": N_("The unit was deleted."),
    "deactivated": N_("The unit was deactivated: it stays in the records but is no longer offered for new work."),
    "activated": N_("The unit is active again."),
}
FORM_FIELDS = ("code", "name", "kind", "parent_id", "manager_id", "area_id", "phone", "description")
REQUIRED = ("code", "name", "kind")
MAX_MANAGER_CHOICES = 500

Units = Allowed("org_units", "write")  # the administration screen is for those who may change units


@dataclass(frozen=True)
class UnitDetails:
    """What the selected unit's panel shows beyond its own row."""

    parent: OrgUnitPublic | None
    sub_units: int
    users: int
    groups: list[GroupPublic]


# ---- the tree and the table ----


@router.get(BASE)
async def units_page(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Units,
                     unit: str | None = None, q: str = "", done: str | None = None) -> Response:
    _ = gettext_for(page_locale(request))
    notice = _(NOTICES[done]) if done in NOTICES else None
    return await _units_page(request, session, signed_in, actor, query_id(unit), q[:100], notice=notice)


async def _units_page(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Actor, selected_id: int | None,
                      q: str = "", status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    units = await org_units.list_units(session)
    by_id = {u.id: u for u in units}
    selected = by_id.get(selected_id) if selected_id else None
    if selected_id and selected is None:
        raise NotFound("Unit")
    open_ids = {u.id for u in units if u.parent_id is None} | set(path_ids(selected.path if selected else None))
    tree = build_tree(units, lambda u: _node(u, selected), lambda u: u.parent_id, open_ids)
    q = q.strip()
    if q:
        needle = q.casefold()
        rows = [u for u in units if needle in u.name.casefold() or needle in u.code.casefold()]
        table_title = _("Units matching “{q}”", q=q)
    else:
        rows = [u for u in units if u.parent_id == (selected.id if selected else None)]
        table_title = _("Units under {name}", name=selected.name) if selected else _("Top-level units")
    shown = [*rows, *([selected] if selected else [])]
    return await render_signed_in(
        request, session, signed_in, "admin/org/units.html", status_code, title=_("Units"), tree=tree,
        selected=selected, details=await _details(session, actor, selected, units) if selected else None,
        rows=rows, table_title=table_title, q=q, kind_label=lambda kind: _(KIND_LABELS[OrgUnitKind(kind)]),
        managers=await _user_names(session, actor, {u.manager_id for u in shown if u.manager_id}),
        areas=await _area_names(session, {u.area_id for u in shown if u.area_id}), **context)


def _node(unit: OrgUnitPublic, selected: OrgUnitPublic | None) -> TreeNode:
    return TreeNode(unit.id, unit.name, f"{BASE}?unit={unit.id}", meta=unit.code,
                    current=selected is not None and unit.id == selected.id, inactive=not unit.active)


async def _details(session: SessionDep, actor: Actor, unit: OrgUnitPublic, units: list[OrgUnitPublic]) -> UnitDetails:
    parent = next((u for u in units if u.id == unit.parent_id), None)
    members = await users.list_users(session, actor, Page(1, 1), unit_id=unit.id)
    groups = [g for g in await access.list_groups(session) if g.unit_id == unit.id]
    return UnitDetails(parent, sum(1 for u in units if u.parent_id == unit.id), members.total, groups)


async def _user_names(session: SessionDep, actor: Actor, ids: set[int]) -> dict[int, str]:
    names = {}
    for user_id in sorted(ids):
        try:
            names[user_id] = (await users.get_user(session, actor, user_id)).full_name
        except NotFound:  # a manager outside the actor's reach is shown as a number
            names[user_id] = f"#{user_id}"
    return names


async def _area_names(session: SessionDep, ids: set[int]) -> dict[int, str]:
    return {area_id: (await catalog.get_area(session, area_id)).name for area_id in sorted(ids)}


# ---- create and edit ----


@router.get(f"{BASE}/new")
async def new_unit_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                        actor: Units, parent: str | None = None) -> Response:
    parent_id = query_id(parent)
    values = {"parent_id": str(parent_id or ""), "kind": OrgUnitKind.department if parent_id else OrgUnitKind.organization}
    return await _form_page(request, session, services, signed_in, actor, None, values)


@router.post(f"{BASE}/new")
async def create_unit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                      actor: Units) -> Response:
    values, group_ids = await _submitted(request)
    locale = page_locale(request)
    errors = required_errors(values, REQUIRED, locale)
    try:
        data = OrgUnitCreate.model_validate(_data(values))
    except ValidationError as exc:
        errors = merge_errors(errors, invalid_fields(exc, locale))
    if errors:
        return await _form_page(request, session, services, signed_in, actor, None, values, 422, errors=errors,
                                group_ids=group_ids)
    try:
        unit = await org_units.create_unit(session, actor, data)
        await _save_groups(session, services, actor, unit.id, group_ids)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, services, signed_in, actor, None, values, exc.status_code,
                                errors=field_errors, error=general, group_ids=group_ids)
    return see_other(f"{BASE}?unit={unit.id}&done=created")


@router.get(f"{BASE}/{{unit_id}}/edit")
async def edit_unit_form(unit_id: PathId, request: Request, session: SessionDep, services: ServicesDep,
                         signed_in: SignedInDep, actor: Units) -> Response:
    unit = await org_units.get_unit(session, unit_id)
    values = {name: "" if getattr(unit, name) is None else str(getattr(unit, name)) for name in FORM_FIELDS}
    return await _form_page(request, session, services, signed_in, actor, unit, values)


@router.post(f"{BASE}/{{unit_id}}/edit")
async def update_unit(unit_id: PathId, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Units) -> Response:
    unit = await org_units.get_unit(session, unit_id)
    values, group_ids = await _submitted(request)
    locale = page_locale(request)
    errors = required_errors(values, REQUIRED, locale)
    try:
        data = OrgUnitUpdate.model_validate(_data(values))
    except ValidationError as exc:
        errors = merge_errors(errors, invalid_fields(exc, locale))
    if errors:
        return await _form_page(request, session, services, signed_in, actor, unit, values, 422, errors=errors,
                                group_ids=group_ids)
    try:
        await org_units.update_unit(session, actor, unit_id, data)
        await _save_groups(session, services, actor, unit_id, group_ids)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, services, signed_in, actor, unit, values, exc.status_code,
                                errors=field_errors, error=general, group_ids=group_ids)
    services.auth_cache.clear()  # signed-in users' unit paths may have moved
    return see_other(f"{BASE}?unit={unit_id}&done=saved")


async def _submitted(request: Request) -> tuple[dict[str, str], set[int]]:
    form = await read_form(request)
    values = {name: form.get(name, "").strip() for name in FORM_FIELDS}
    ticked = (await request.form()).getlist("group_ids")  # parsed once: read_form already read it
    return values, {int(v) for v in ticked if isinstance(v, str) and v.isdigit() and len(v) < 10}


def _data(values: dict[str, str]) -> dict[str, Any]:
    """Every field set (a blank optional one clears it); blank required ones are left out so the
    model reports them as missing."""
    return {name: value or None for name, value in values.items() if value or name not in REQUIRED}




def _groups_editable(services: ServicesDep, actor: Actor) -> bool:
    return services.authorizer.decide(actor.roles, "groups", "write").allowed


async def _save_groups(session: SessionDep, services: ServicesDep, actor: Actor, unit_id: int, wanted: set[int]) -> None:
    """The permission groups this unit manages (PERM-06): ticked ones move to it, unticked ones
    it managed are left without a managing unit. Only for those who may change groups."""
    if not _groups_editable(services, actor):
        return
    for group in await access.list_groups(session):
        if group.id in wanted and group.unit_id != unit_id:
            await access.update_group(session, actor, group.id, GroupUpdate(unit_id=unit_id))
        elif group.id not in wanted and group.unit_id == unit_id:
            await access.update_group(session, actor, group.id, GroupUpdate(unit_id=None))


async def _form_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep, actor: Actor,
                     unit: OrgUnitPublic | None, values: dict[str, Any], status_code: int = 200,
                     group_ids: set[int] | None = None, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    units = await org_units.list_units(session)
    by_id = {u.id: u for u in units}
    groups = await access.list_groups(session)
    if group_ids is None:
        group_ids = {g.id for g in groups if unit is not None and g.unit_id == unit.id}
    title = _("Edit unit {name}", name=unit.name) if unit else _("New unit")
    return await render_signed_in(
        request, session, signed_in, "admin/org/unit_form.html", status_code, title=title, unit=unit, values=values,
        kinds=[Choice(kind.value, _(label)) for kind, label in KIND_LABELS.items()],
        parent_choices=[Choice(str(u.id), f"{u.name} ({u.code})", len(path_ids(u.path)) - 1) for u in units
                        if unit is None or not u.path.startswith(unit.path)],
        manager_choices=await _manager_choices(session, actor, unit) if unit else [],
        area_choices=await _area_choices(session, services, unit),
        groups=groups, group_ids=group_ids, groups_editable=_groups_editable(services, actor),
        unit_names={u_id: u.name for u_id, u in by_id.items()},
        back=f"{BASE}?unit={unit.id}" if unit else (f"{BASE}?unit={values['parent_id']}" if values.get("parent_id") else BASE),
        **context)


async def _manager_choices(session: SessionDep, actor: Actor, unit: OrgUnitPublic) -> list[Choice]:
    """The unit's own active users; a current manager from elsewhere stays listed so saving keeps them."""
    members = (await users.list_users(session, actor, Page(1, MAX_MANAGER_CHOICES), unit_id=unit.id, active=True)).items
    choices = [Choice(str(u.id), f"{u.full_name} ({u.username})") for u in members]
    if unit.manager_id and all(c.value != str(unit.manager_id) for c in choices):
        try:
            manager = await users.get_user(session, actor, unit.manager_id)
            choices.insert(0, Choice(str(manager.id), f"{manager.full_name} ({manager.username})"))
        except NotFound:
            pass
    return choices


async def _area_choices(session: SessionDep, services: ServicesDep, unit: OrgUnitPublic | None) -> list[Choice]:
    """The areas of the map in force; an area the unit names from elsewhere stays listed."""
    choices = await work_queue.area_choices(session, str(services.settings.area_scheme.value))
    if unit and unit.area_id and all(c.value != str(unit.area_id) for c in choices):
        area = await catalog.get_area(session, unit.area_id)
        choices.insert(0, Choice(str(area.id), area.name))
    return choices


# ---- deactivate, activate, delete ----


@router.get(f"{BASE}/{{unit_id}}/deactivate")
async def confirm_deactivate(unit_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                             actor: Units) -> Response:
    _ = gettext_for(page_locale(request))
    unit = await org_units.get_unit(session, unit_id)
    return await confirmation(
        request, session, signed_in, title=_("Deactivate unit {name}?", name=unit.name),
        message=_("{name} will no longer be offered for new work. Its users, sub-units and records stay; "
                  "you can make it active again later.", name=unit.name),
        action=f"{BASE}/{unit_id}/deactivate", button=_("Deactivate"), back=f"{BASE}?unit={unit_id}")


@router.post(f"{BASE}/{{unit_id}}/deactivate")
async def deactivate_unit(unit_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                          actor: Units) -> Response:
    return await _set_active(unit_id, False, request, session, signed_in, actor)


@router.post(f"{BASE}/{{unit_id}}/activate")
async def activate_unit(unit_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                        actor: Units) -> Response:
    return await _set_active(unit_id, True, request, session, signed_in, actor)


async def _set_active(unit_id: int, active: bool, request: Request, session: SessionDep, signed_in: SignedInDep,
                      actor: Actor) -> Response:
    await read_form(request)
    await org_units.update_unit(session, actor, unit_id, OrgUnitUpdate(active=active))
    await session.commit()
    return see_other(f"{BASE}?unit={unit_id}&done={'activated' if active else 'deactivated'}")


@router.get(f"{BASE}/{{unit_id}}/delete")
async def confirm_delete(unit_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                         actor: Units) -> Response:
    _ = gettext_for(page_locale(request))
    unit = await org_units.get_unit(session, unit_id)
    return await confirmation(
        request, session, signed_in, title=_("Delete unit {name}?", name=unit.name),
        message=_("{name} ({code}) will be deleted for good. A unit that still has sub-units, users, reports "
                  "or dispatch rules cannot be deleted: deactivate it instead.", name=unit.name, code=unit.code),
        action=f"{BASE}/{unit_id}/delete", button=_("Delete"), back=f"{BASE}?unit={unit_id}")


@router.post(f"{BASE}/{{unit_id}}/delete")
async def delete_unit(unit_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                      actor: Units) -> Response:
    await read_form(request)
    locale = page_locale(request)
    unit = await org_units.get_unit(session, unit_id)
    try:
        await org_units.delete_unit(session, actor, unit_id)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        _ = gettext_for(locale)
        message = _("{name} was not deleted: {reason}", name=unit.name, reason=refusal(exc, locale))
        return await _units_page(request, session, signed_in, actor, unit_id, status_code=exc.status_code, error=message)
    return see_other(f"{BASE}?unit={unit.parent_id}&done=deleted" if unit.parent_id else f"{BASE}?done=deleted")
