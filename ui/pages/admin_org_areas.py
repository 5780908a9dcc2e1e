"""Areas (khu vực, CRM-26…29): the map as a tree (province → commune on the map in force since
1 July 2025, province → district → commune on the legacy one; the `area_scheme` setting says
which is in force, the administrator may look at either) beside a table with national
administrative codes, search and paging; create, edit, delete after a confirmation. The tree
opens with the provinces and loads a node's children when it is opened (a province has around a
hundred communes). Every change goes through core.services.catalog, as the JSON API's does."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import Allowed, PathId, ServicesDep, SessionDep, SignedInDep
from core.errors import HotlineError
from core.models import AreaLevel
from core.models.catalog import AreaCreate, AreaPublic, AreaUpdate
from core.services import catalog
from core.services.crud import Page
from core.services.work_queue import Choice
from ui.forms import failed_fields, invalid_fields, read_form, refusal
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.admin_org_tree import (
    TreeNode,
    confirmation,
    is_fragment,
    merge_errors,
    path_ids,
    query_id,
    query_page,
    required_errors,
)
from ui.pages.common import page_router, render_signed_in, see_other
from ui.templating import render

router = page_router()

BASE = "/admin/areas"
TREE_ID = "area-tree"
RESULTS_ID = "area-results"
PER_PAGE = 50
ALL = 10_000  # one node's children, or a map's provinces: never paged
SCHEMES = {"2025": N_("Two levels (from 1 July 2025)"), "legacy": N_("Three levels (before 1 July 2025)")}
LEVELS = {AreaLevel.province: N_("Province or city"), AreaLevel.district: N_("District"),
          AreaLevel.commune: N_("Commune or ward")}
SCHEME_LEVELS = {"2025": (AreaLevel.province, AreaLevel.commune), "legacy": tuple(AreaLevel)}
# What the name of an area starts with, as the national list writes it (offered while typing).
AREA_KINDS = ("Tỉnh", "Thành phố", "Quận", "Huyện", "Thị xã", "Phường", "Xã", "Thị trấn", "Đặc khu")
NOTICES = {"created": N_("The area was created."), "saved": N_("The area was saved."),
           "deleted": N_("The area was deleted.")}
CREATE_FIELDS = ("code", "name", "kind", "level", "parent_id")
REQUIRED = ("code", "name", "level")

Areas = Allowed("areas", "write")  # the administration screen is for those who may change areas


def _scheme(value: str | None, services: ServicesDep) -> str:
    return value if value in SCHEMES else str(services.settings.area_scheme.value)


def _list_url(**params: object) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{BASE}?{query}" if query else BASE


def _node(area: AreaPublic, current_id: int | None) -> TreeNode:
    has_children = area.level is not AreaLevel.commune
    url = _list_url(scheme=area.scheme, parent=area.id) if has_children else f"{BASE}/{area.id}/edit"
    return TreeNode(area.id, area.name, url, meta=area.code, has_children=has_children,
                    load_url=f"{BASE}/{area.id}/children" if has_children else None,
                    current=area.id == current_id, inactive=not area.active)


# ---- the tree and the table ----


@router.get(BASE)
async def areas_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Areas, scheme: str | None = None, parent: str | None = None, q: str = "",
                     level: str = "", page: str | None = None, done: str | None = None) -> Response:
    _ = gettext_for(page_locale(request))
    notice = _(NOTICES[done]) if done in NOTICES else None
    return await _areas_page(request, session, services, signed_in, scheme, query_id(parent), q[:100], level,
                             query_page(page), notice=notice)


async def _areas_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                      scheme: str | None, parent_id: int | None, q: str = "", level: str = "", page: int = 1,
                      status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    parent = await catalog.get_area(session, parent_id) if parent_id else None
    scheme = parent.scheme if parent else _scheme(scheme, services)
    level_filter = AreaLevel(level) if level in SCHEME_LEVELS[scheme] else None
    q = q.strip()
    result = await catalog.list_areas(session, Page(page, PER_PAGE), scheme, parent_id, level_filter, q or None)
    filters = {"scheme": scheme, "parent": parent_id, "q": q, "level": level_filter.value if level_filter else ""}
    results = {
        "rows": result.items, "total": result.total, "page": page, "pages": max(1, -(-result.total // PER_PAGE)),
        "page_href": _list_url(**filters) + "&page=", "parent": parent, "filters": filters,
        "parent_names": await _names(session, {a.parent_id for a in result.items if a.parent_id} - {parent_id}),
        "level_label": lambda value: _(LEVELS[AreaLevel(value)]), "results_id": RESULTS_ID,
    }
    if is_fragment(request, RESULTS_ID):
        return render(request, "admin/org/_area_results.html", status_code=status_code, **results)
    return await render_signed_in(
        request, session, signed_in, "admin/org/areas.html", status_code, title=_("Areas"), scheme=scheme,
        schemes={key: _(label) for key, label in SCHEMES.items()}, scheme_in_force=str(services.settings.area_scheme.value),
        levels=[Choice(lv.value, _(LEVELS[lv])) for lv in SCHEME_LEVELS[scheme]], tree=await _tree(session, scheme, parent),
        tree_id=TREE_ID, list_url=_list_url, **results, **context)


async def _tree(session: SessionDep, scheme: str, selected: AreaPublic | None) -> list[TreeNode]:
    """The map's provinces; the path down to the selected area is open, with its siblings loaded."""
    roots = [_node(a, selected.id if selected else None)
             for a in (await catalog.list_areas(session, Page(1, ALL), scheme, level=AreaLevel.province)).items]
    level = roots
    for ancestor_id in path_ids(selected.path) if selected else []:
        node = next((n for n in level if n.id == ancestor_id), None)
        if node is None or not node.has_children:
            break
        children = (await catalog.list_areas(session, Page(1, ALL), scheme, parent_id=ancestor_id)).items
        node.children, node.expanded = [_node(a, selected.id if selected else None) for a in children], True
        level = node.children
    return roots


async def _names(session: SessionDep, ids: set[int]) -> dict[int, str]:
    return {area_id: (await catalog.get_area(session, area_id)).name for area_id in sorted(ids)}


@router.get(f"{BASE}/{{area_id}}/children")
async def area_children(area_id: PathId, request: Request, session: SessionDep, actor: Areas) -> Response:
    """The <li> items under one node of the tree, loaded when it is first opened."""
    area = await catalog.get_area(session, area_id)
    children = (await catalog.list_areas(session, Page(1, ALL), area.scheme, parent_id=area_id)).items
    return render(request, "admin/org/_area_children.html", nodes=[_node(a, None) for a in children], tree_id=TREE_ID)


# ---- create and edit ----


@router.get(f"{BASE}/new")
async def new_area_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                        actor: Areas, scheme: str | None = None, parent: str | None = None) -> Response:
    parent_area = await catalog.get_area(session, query_id(parent)) if query_id(parent) else None
    scheme_name = parent_area.scheme if parent_area else _scheme(scheme, services)
    if parent_area is None:  # a map of one province (the usual case): new areas go under it
        provinces = (await catalog.list_areas(session, Page(1, 2), scheme_name, level=AreaLevel.province)).items
        parent_area = provinces[0] if len(provinces) == 1 else None
    level = AreaLevel.province
    if parent_area is not None:
        level = AreaLevel.district if scheme_name == "legacy" and parent_area.level is AreaLevel.province else AreaLevel.commune
    values = {"parent_id": str(parent_area.id) if parent_area else "", "level": level.value}
    return await _form_page(request, session, signed_in, None, scheme_name, values)


@router.post(f"{BASE}/new")
async def create_area(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                      actor: Areas) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    scheme = _scheme(form.get("scheme"), services)
    values = {name: form.get(name, "").strip() for name in CREATE_FIELDS}
    errors = required_errors(values, REQUIRED, locale)
    data = {name: value or None for name, value in values.items() if value or name not in REQUIRED}
    try:
        body = AreaCreate.model_validate({**data, "scheme": scheme})
    except ValidationError as exc:
        errors = merge_errors(errors, invalid_fields(exc, locale))
    if errors:
        return await _form_page(request, session, signed_in, None, scheme, values, 422, errors=errors)
    try:
        area = await catalog.create_area(session, actor, body)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, signed_in, None, scheme, values, exc.status_code, errors=field_errors,
                                error=general)
    return see_other(_list_url(scheme=area.scheme, parent=area.parent_id, q=area.code, done="created"))


@router.get(f"{BASE}/{{area_id}}/edit")
async def edit_area_form(area_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                         actor: Areas) -> Response:
    area = await catalog.get_area(session, area_id)
    values = {"code": area.code, "name": area.name, "kind": area.kind or "", "active": "1" if area.active else ""}
    return await _form_page(request, session, signed_in, area, area.scheme, values)


@router.post(f"{BASE}/{{area_id}}/edit")
async def update_area(area_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                      actor: Areas) -> Response:
    area = await catalog.get_area(session, area_id)
    form = await read_form(request)
    locale = page_locale(request)
    values = {name: form.get(name, "").strip() for name in ("code", "name", "kind", "active")}
    errors = required_errors(values, ("code", "name"), locale)
    data = {"code": values["code"] or None, "name": values["name"] or None, "kind": values["kind"] or None,
            "active": values["active"] == "1"}
    try:
        body = AreaUpdate.model_validate({k: v for k, v in data.items() if v is not None or k == "kind"})
    except ValidationError as exc:
        errors = merge_errors(errors, invalid_fields(exc, locale))
    if errors:
        return await _form_page(request, session, signed_in, area, area.scheme, values, 422, errors=errors)
    try:
        await catalog.update_area(session, actor, area_id, body)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, signed_in, area, area.scheme, values, exc.status_code,
                                errors=field_errors, error=general)
    return see_other(_list_url(scheme=area.scheme, parent=area.parent_id, q=body.code or area.code, done="saved"))




async def _form_page(request: Request, session: SessionDep, signed_in: SignedInDep, area: AreaPublic | None, scheme: str,
                     values: dict[str, str], status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    parents: list[Choice] = []
    if area is None:  # a new area sits under a province (or, on the legacy map, a district)
        candidates = (await catalog.list_areas(session, Page(1, ALL), scheme, level=AreaLevel.province)).items
        if scheme == "legacy":
            candidates += (await catalog.list_areas(session, Page(1, ALL), scheme, level=AreaLevel.district)).items
        candidates.sort(key=lambda a: a.path)
        parents = [Choice(str(a.id), f"{a.name} ({a.code})", len(path_ids(a.path)) - 1) for a in candidates]
    parent = await catalog.get_area(session, area.parent_id) if area and area.parent_id else None
    title = _("Edit area {name}", name=area.name) if area else _("New area")
    back = _list_url(scheme=scheme, parent=area.parent_id if area else query_id(values.get("parent_id")))
    return await render_signed_in(
        request, session, signed_in, "admin/org/area_form.html", status_code, title=title, area=area, parent=parent,
        scheme=scheme, scheme_label=_(SCHEMES[scheme]), values=values, parent_choices=parents, kinds=AREA_KINDS,
        levels=[Choice(lv.value, _(LEVELS[lv])) for lv in SCHEME_LEVELS[scheme]],
        level_label=lambda value: _(LEVELS[AreaLevel(value)]), back=back, **context)


# ---- delete ----


@router.get(f"{BASE}/{{area_id}}/delete")
async def confirm_delete(area_id: PathId, request: Request, session: SessionDep, signed_in: SignedInDep,
                         actor: Areas) -> Response:
    _ = gettext_for(page_locale(request))
    area = await catalog.get_area(session, area_id)
    return await confirmation(
        request, session, signed_in, title=_("Delete area {name}?", name=area.name),
        message=_("{name} (code {code}) will be deleted for good. An area that has areas under it, or that reports, "
                  "units, fields or dispatch rules name, cannot be deleted: deactivate it instead.",
                  name=area.name, code=area.code),
        action=f"{BASE}/{area_id}/delete", button=_("Delete"), back=_list_url(scheme=area.scheme, parent=area.parent_id))


@router.post(f"{BASE}/{{area_id}}/delete")
async def delete_area(area_id: PathId, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Areas) -> Response:
    await read_form(request)
    locale = page_locale(request)
    area = await catalog.get_area(session, area_id)
    try:
        await catalog.delete_area(session, actor, area_id)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        _ = gettext_for(locale)
        message = _("{name} was not deleted: {reason}", name=area.name, reason=refusal(exc, locale))
        return await _areas_page(request, session, services, signed_in, area.scheme, area.parent_id, q=area.code,
                                 status_code=exc.status_code, error=message)
    return see_other(_list_url(scheme=area.scheme, parent=area.parent_id, done="deleted"))
