"""Administration of fields (lĩnh vực, CRM-20…25): tree and table, create plain or from the default catalogue, edit, icon, delete (twice confirmed for a parent), CSV import, SLA hours per field (PERM-11).

Every page and action needs `fields: write` (administrators); all changes go through
core.services.catalog, which validates and writes the audit log (an SLA change is logged as
`sla.update` with the hours before and after)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import col, func, select

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from core.errors import Conflict, InUse, NotFound, ValidationFailed
from core.i18n import translate
from core.models import TicketField
from core.models.catalog import TicketFieldCreate, TicketFieldPublic, TicketFieldUpdate
from core.services import catalog, work_queue
from core.services.crud import get_or_404
from core.services.field_import import CODE_PATTERN
from ui.forms import failed_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages import admin_fields_catalogue, admin_fields_import
from ui.pages.admin_fields_view import (
    FieldView,
    area_index,
    build_rows,
    field_data,
    form_values,
    icon_choices,
    matches,
)
from ui.pages.admin_org_tree import TreeNode, build_tree, path_ids
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.work import page_numbers
from ui.templating import render

router = page_router()
router.include_router(admin_fields_import.router)  # before /admin/fields/{field_id}/…
router.include_router(admin_fields_catalogue.router)

PER_PAGE = 50
WRITE = ("fields", "write")
CODE_TAKEN = N_("This code is already used by another field.")
NOTICES = {
    "created": N_("Field {code} was created."),
    "saved": N_("Field {code} was saved."),
    "deleted": N_("Field {code} was deleted."),
    "deleted_tree": N_("Field {code} and the fields under it were deleted ({count} in all)."),
    "catalogue": N_("{count} fields were added from the default catalogue."),
}


def _notice(kind: str | None, code: str | None, count: str | None, locale: str) -> str | None:
    if kind not in NOTICES or (code and not CODE_PATTERN.fullmatch(code)):
        return None
    return translate(NOTICES[kind], locale, code=code or "", count=int(count) if (count or "").isdigit() else 0)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


async def _field(session: SessionDep, field_id: str) -> TicketField:
    """The field of the address, or the 404 page (also for an address that is not a number)."""
    ident = _int(field_id)
    if not ident:
        raise NotFound("Field")
    return await get_or_404(session, TicketField, ident, "Field")


@router.get("/admin/fields")
async def fields_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                      actor: Allowed(*WRITE), q: str = "", area: str = "", under: str = "", page: str = "",
                      notice: str | None = None, code: str | None = None, count: str | None = None,
                      imported: str | None = None) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    q = q.strip()[:100]
    areas = await area_index(session)
    rows = build_rows(await catalog.list_fields(session), areas)
    area_row = areas.get(_int(area) or 0)
    under_row = next((r for r in rows if r.item.id == _int(under)), None)
    found = [r for r in rows if matches(r, q, area_row, under_row.item if under_row else None, areas)]
    job = admin_fields_import.job_of(services, imported, actor.user_id) if imported else None
    if job:  # "OK" after an import: the fields it created or updated
        touched = set(job.outcome.created + job.outcome.updated) if job.outcome else set()
        found = [r for r in found if r.item.id in touched]
    pages = page_numbers(len(found), PER_PAGE)
    shown = next((i for i, r in enumerate(found) if r.item.code == code), None) if notice and code else None
    if shown is not None and page == "":  # after a change: the page that has the field changed
        page = str(shown // PER_PAGE + 1)
    current = min(max(_int(page) or 1, 1), pages)
    filters = {k: v for k, v in (("q", q), ("area", str(area_row.id) if area_row else ""),
                                 ("under", str(under_row.item.id) if under_row else ""),
                                 ("imported", job.id if job else "")) if v}
    return await render_signed_in(
        request, session, signed_in, "admin/fields/list.html", title=_("Fields"),
        tree=_tree(rows, under_row.item if under_row else None),
        rows=found[(current - 1) * PER_PAGE:current * PER_PAGE], total=len(rows), found=len(found), page=current,
        pages=pages, q=q, area=area_row, under=under_row,
        area_choices=await work_queue.area_choices(session, str(services.settings.area_scheme.value)),
        page_href="/admin/fields?" + urlencode({**filters, "page": ""}), filtered=bool(filters),
        imported_ids=set(job.outcome.created if job and job.outcome else []), imported=job,
        changed_code=code if notice in ("created", "saved", "catalogue") else None,
        notice=_notice(notice, code, count, locale))


def _tree(rows: list[FieldView], under: TicketFieldPublic | None) -> list[TreeNode]:
    """The whole tree for admin/_tree.html; the chosen field's branch open and marked."""
    def node(row: FieldView) -> TreeNode:
        return TreeNode(row.item.id, row.item.name, f"/admin/fields?under={row.item.id}", meta=row.item.code,
                        current=under is not None and row.item.id == under.id, inactive=not row.item.active)

    return build_tree(rows, node, lambda r: r.parent.id if r.parent else None,
                      set(path_ids(under.path)) if under else set())


# ---- create (CRM-22) and edit (CRM-24, PERM-11) ----


async def _form_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     status_code: int = 200, current: TicketField | None = None, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    rows = build_rows(await catalog.list_fields(session), {})
    parents = [work_queue.Choice(str(r.item.id), f"{r.item.name} ({r.item.code})", r.depth) for r in rows
               if current is None]
    title = _("Edit field {name}", name=current.name) if current else _("New field")
    return await render_signed_in(
        request, session, signed_in, "admin/fields/form.html", status_code, title=title, current=current,
        parent_choices=parents, icons=icon_choices(),
        area_choices=await work_queue.area_choices(session, str(services.settings.area_scheme.value)), **context)


async def _choices(session: SessionDep, services: ServicesDep) -> tuple[set[int], set[int]]:
    field_ids = set((await session.exec(select(TicketField.id))).all())
    areas = await work_queue.area_choices(session, str(services.settings.area_scheme.value))
    return field_ids, {int(a.value) for a in areas}  # type: ignore[arg-type]


@router.get("/admin/fields/new")
async def new_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                   actor: Allowed(*WRITE), parent: str | None = None) -> Response:
    parent_id = _int(parent)
    values = {"level": "child" if parent_id else "top", "parent_id": str(parent_id or ""), "active": "1"}
    return await _form_page(request, session, services, signed_in, values=values)


@router.post("/admin/fields/new")
async def create(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                 actor: Allowed(*WRITE)) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    values = form_values(form)
    field_ids, area_ids = await _choices(session, services)
    data, errors = field_data(values, locale, field_ids, area_ids, creating=True)
    if errors:
        return await _form_page(request, session, services, signed_in, 422, values=values, errors=errors)
    top = (await session.exec(select(func.max(col(TicketField.sort_order))))).one() or 0
    try:
        created = await catalog.create_field(session, actor, TicketFieldCreate(**data, sort_order=min(top + 1, 10000)))
        await session.commit()
    except Conflict:
        await session.rollback()
        return await _form_page(request, session, services, signed_in, 409, values=values,
                                errors={"code": [translate(CODE_TAKEN, locale)]})
    except ValidationFailed as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, services, signed_in, exc.status_code, values=values,
                                errors=field_errors, error=general)
    return see_other("/admin/fields?" + urlencode({"notice": "created", "code": created.code}))


def _edit_values(current: TicketField) -> dict[str, str]:
    return {"name": current.name, "description": current.description or "", "icon": current.icon or "",
            "sla_hours": str(current.sla_hours or ""), "sla_working_hours": "1" if current.sla_working_hours else "",
            "area_id": str(current.area_id or ""), "active": "1" if current.active else ""}


@router.get("/admin/fields/{field_id}/edit")
async def edit_form(field_id: str, request: Request, session: SessionDep, services: ServicesDep,
                    signed_in: SignedInDep, actor: Allowed(*WRITE)) -> Response:
    current = await _field(session, field_id)
    if request.headers.get("hx-request") == "true":  # the list's dialog (PERM-11: the field's settings in a popup)
        return render(request, "admin/fields/_form.html", current=current, values=_edit_values(current),
                      parent_choices=[], icons=icon_choices(), area_choices=await work_queue.area_choices(
                          session, str(services.settings.area_scheme.value)))
    return await _form_page(request, session, services, signed_in, current=current, values=_edit_values(current))


@router.post("/admin/fields/{field_id}/edit")
async def edit(field_id: str, request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
               actor: Allowed(*WRITE)) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    current = await _field(session, field_id)
    values = form_values(form)
    field_ids, area_ids = await _choices(session, services)
    data, errors = field_data(values, locale, field_ids, area_ids, creating=False)
    if errors:
        return await _form_page(request, session, services, signed_in, 422, current=current, values=values,
                                errors=errors)
    # Only what changed: the audit log then records an SLA change (sla.update) only when the SLA changed.
    changes = {k: v for k, v in data.items() if getattr(current, k) != v}
    if changes:
        try:
            await catalog.update_field(session, actor, current.id, TicketFieldUpdate(**changes))
            await session.commit()
        except ValidationFailed as exc:
            await session.rollback()  # expires `current`: read it again
            field_errors, general = failed_fields(exc, locale)
            current = await _field(session, field_id)
            return await _form_page(request, session, services, signed_in, exc.status_code, current=current,
                                    values=values, errors=field_errors, error=general)
    return see_other("/admin/fields?" + urlencode({"notice": "saved", "code": current.code}))


# ---- delete (CRM-25): confirmed once, and a second time for a parent ----


async def _delete_page(request: Request, session: SessionDep, signed_in: SignedInDep, target: TicketField,
                       status_code: int = 200, second: bool = False, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    subtree = (await session.exec(select(TicketField).where(col(TicketField.path).startswith(target.path),
                                                            TicketField.id != target.id)
                                  .order_by(col(TicketField.path)))).all()
    return await render_signed_in(request, session, signed_in, "admin/fields/delete.html", status_code,
                                  title=_("Delete field {name}", name=target.name), target=target,
                                  descendants=list(subtree), second=second, **context)


@router.get("/admin/fields/{field_id}/delete")
async def delete_form(field_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                      actor: Allowed(*WRITE)) -> Response:
    target = await _field(session, field_id)
    return await _delete_page(request, session, signed_in, target)


@router.post("/admin/fields/{field_id}/delete")
async def delete(field_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                 actor: Allowed(*WRITE)) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    target = await _field(session, field_id)
    code = target.code
    try:
        count = await catalog.delete_field(session, actor, target.id, with_children=form.get("with_children") == "1")
        await session.commit()
    except ValidationFailed as exc:  # a parent: the second confirmation
        await session.rollback()  # expires `target`: read it again
        target = await _field(session, field_id)
        if not any(isinstance(d, dict) and d.get("field") == "with_children" for d in exc.details or []):
            raise
        return await _delete_page(request, session, signed_in, target, second=True)
    except InUse as exc:
        await session.rollback()
        target = await _field(session, field_id)
        params = {k: translate(v, locale) if isinstance(v, str) else v for k, v in exc.params.items()}
        return await _delete_page(request, session, signed_in, target, exc.status_code,
                                  error=translate(exc.message, locale, **params))
    kind = "deleted_tree" if count > 1 else "deleted"
    return see_other("/admin/fields?" + urlencode({"notice": kind, "code": code, "count": count}))
