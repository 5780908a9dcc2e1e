"""Create fields from the default catalogue (CRM-23): the seeded Vietnamese catalogue of a
provincial 1022 hotline (core.seed.fields_catalog) offers the entries this system does not have
yet; the administrator picks one or several. A picked child whose parent is missing brings its
parent along, and all picked fields are created in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import select

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from core.errors import HotlineError
from core.i18n import translate
from core.models import TicketField
from core.models.catalog import TicketFieldCreate
from core.seed.fields_catalog import FieldSeed, iter_fields
from core.services import catalog, work_queue
from ui.forms import read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other

router = page_router()
WRITE = ("fields", "write")
PICK_ONE = N_("Choose at least one field of the catalogue.")
NOT_LISTED = N_("Choose one of the listed options.")


@dataclass(frozen=True)
class Entry:
    seed: FieldSeed
    parent_code: str | None
    order: int
    depth: int
    present: bool  # already in the system: shown (for context) but not offered


def catalogue_entries(present_codes: set[str]) -> list[Entry]:
    depth: dict[str, int] = {}
    entries = []
    for order, (seed, parent_code) in enumerate(iter_fields()):
        depth[seed.code] = depth[parent_code] + 1 if parent_code else 0
        entries.append(Entry(seed, parent_code, order, depth[seed.code], seed.code.upper() in present_codes))
    return entries


def offered(entries: list[Entry]) -> list[Entry]:
    """Missing entries, each with its parent for context (a present parent is shown, not offered)."""
    missing_parents = {e.parent_code for e in entries if not e.present and e.parent_code}
    return [e for e in entries if not e.present or e.seed.code in missing_parents]


async def _present_codes(session: SessionDep) -> set[str]:
    return {code.upper() for code in (await session.exec(select(TicketField.code))).all()}


async def _page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                status_code: int = 200, **context: object) -> Response:
    _ = gettext_for(page_locale(request))
    entries = catalogue_entries(await _present_codes(session))
    return await render_signed_in(
        request, session, signed_in, "admin/fields/catalogue.html", status_code,
        title=_("Add fields from the default catalogue"), entries=offered(entries),
        missing=sum(1 for e in entries if not e.present), total=len(entries),
        area_choices=await work_queue.area_choices(session, str(services.settings.area_scheme.value)), **context)


@router.get("/admin/fields/catalogue")
async def catalogue_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                         actor: Allowed(*WRITE)) -> Response:
    return await _page(request, session, services, signed_in, chosen=set())


@router.post("/admin/fields/catalogue")
async def catalogue_add(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                        actor: Allowed(*WRITE)) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    chosen = {str(c) for c in (await request.form()).getlist("code")}
    area_value = form.get("area_id", "")
    areas = {a.value for a in await work_queue.area_choices(session, str(services.settings.area_scheme.value))}
    errors: dict[str, list[str]] = {}
    if area_value and area_value not in areas:
        errors["area_id"] = [translate(NOT_LISTED, locale)]
    entries = catalogue_entries(await _present_codes(session))
    by_code = {e.seed.code: e for e in entries}
    picked = {code for code in chosen if code in by_code and not by_code[code].present}
    if not picked:
        errors["code"] = [translate(PICK_ONE, locale)]
    if errors:
        return await _page(request, session, services, signed_in, 422, errors=errors, chosen=chosen,
                           values={"area_id": area_value})
    for code in list(picked):  # a child brings its missing ancestors
        parent = by_code[code].parent_code
        while parent and not by_code[parent].present:
            picked.add(parent)
            parent = by_code[parent].parent_code
    ids = {f.code: f.id for f in (await session.exec(select(TicketField))).all()}
    try:
        for entry in (e for e in entries if e.seed.code in picked):  # catalogue order: parents first
            seed = entry.seed
            created = await catalog.create_field(session, actor, TicketFieldCreate(
                code=seed.code, name=seed.name, description=seed.description, icon=seed.icon,
                sla_hours=seed.sla_hours, parent_id=ids.get(entry.parent_code) if entry.parent_code else None,
                area_id=int(area_value) if area_value else None, sort_order=entry.order))
            ids[seed.code] = created.id
        await session.commit()
    except HotlineError as exc:  # e.g. someone added the same code meanwhile: nothing was created
        await session.rollback()
        return await _page(request, session, services, signed_in, exc.status_code, chosen=chosen,
                           values={"area_id": area_value}, error=translate(exc.message, locale, **{
                               k: translate(v, locale) if isinstance(v, str) else v for k, v in exc.params.items()}))
    first = next(e.seed.code for e in entries if e.seed.code in picked)
    return see_other("/admin/fields?" + urlencode({"notice": "catalogue", "count": len(picked), "code": first}))
