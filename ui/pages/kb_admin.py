"""The knowledge base's administration (KB-12…20): the list of questions with filters and pages
(a badge on those the search does not hold yet), adding a question with its first answer, and
deleting one after a confirmation. The question's own page is ui.pages.kb_admin_question.

Every change goes through core.services.kb, as the JSON API's (api/routers/kb.py) does — the
same validation and audit entries — is committed, then handed to the worker for indexing
(api.search.request_indexing). Casbin: `kb` write (the desk's coordinators; administrators)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.search import request_indexing
from core.errors import HotlineError
from core.models.kb import KbDocType, KbStatus
from core.services import kb
from core.services.crud import Page
from ui.forms import failed_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages import kb_admin_view as view
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.kb_admin_forms import read_new_question
from ui.pages.work import page_numbers

router = page_router()

BASE = "/admin/kb"
PER_PAGE = 25
MAX_PAGE = 10_000
DONE = {"deleted": N_("The question was deleted. It leaves the public search within seconds.")}

Editor = Allowed("kb", "write")


def _filters(params: Any) -> dict[str, str]:
    """The list's filters as the form shows them back (only valid values)."""
    values: dict[str, str] = {}
    q = (params.get("q") or "").strip()[:200]
    if q:
        values["q"] = q
    if view.as_enum(KbDocType, params.get("type")):
        values["type"] = params["type"]
    if view.as_enum(KbStatus, params.get("status")):
        values["status"] = params["status"]
    if view.as_id(params.get("area")):
        values["area"] = params["area"]
    return values


@router.get(BASE)
async def question_list(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                        actor: Editor) -> Response:
    _ = gettext_for(page_locale(request))
    values = _filters(request.query_params)
    page = min(view.as_id(request.query_params.get("page")) or 1, MAX_PAGE)
    result = await kb.list_questions(session, kb.QuestionFilters(
        type_doc=view.as_enum(KbDocType, values.get("type")), status=view.as_enum(KbStatus, values.get("status")),
        area_id=view.as_id(values.get("area")), title=values.get("q")), Page(page, PER_PAGE))
    done = request.query_params.get("done")
    names = await view.kb_names(session, [q.area_id for q in result.items], [q.field_id for q in result.items])
    return await render_signed_in(
        request, session, signed_in, "kb/admin_list.html", title=_("Knowledge base"), questions=result.items,
        names=names, total=result.total, page=page, pages=page_numbers(result.total, PER_PAGE), values=values,
        page_href=f"{BASE}?{urlencode({**values, 'page': ''})}", filtered=bool(values), base=BASE,
        areas=await view.area_choices(session, services), types=list(KbDocType), statuses=list(KbStatus),
        notice=_(DONE[done]) if done in DONE else None, **view.helpers(_))


# ---- a new question ----

async def _new_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                    values: dict[str, str], status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    return await render_signed_in(
        request, session, signed_in, "kb/admin_new.html", status_code, title=_("Add a question"), values=values,
        base=BASE, areas=await view.area_choices(session, services), fields=await view.field_choices(session),
        **view.helpers(_), **context)


@router.get(BASE + "/new")
async def new_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                   actor: Editor) -> Response:
    wanted = view.as_enum(KbDocType, request.query_params.get("type")) or KbDocType.procedure
    return await _new_page(request, session, services, signed_in, {"type_doc": str(wanted), "status": "draft"})


@router.post(BASE + "/new")
async def new_submit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Editor) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    areas = {c.value for c in await view.area_choices(session, services)}
    fields = {c.value for c in await view.field_choices(session)}
    body, errors = read_new_question(form, areas, fields, locale)
    values = {k: form.get(k, "") for k in ("title", "type_doc", "status", "area_id", "field_id", "source", "agency",
                                           "heading", "content")}
    if body is None:
        return await _new_page(request, session, services, signed_in, values, 422, errors=errors)
    try:
        question = await kb.create_question(session, actor, body)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _new_page(request, session, services, signed_in, values, exc.status_code,
                               errors=field_errors, error=general)
    await request_indexing(services, question)
    return see_other(f"{BASE}/{question.id}?done=created")


# ---- delete a question ----

@router.get(BASE + "/{question_id}/delete")
async def delete_confirm(question_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                         actor: Editor) -> Response:
    """The confirmation as a page (the question page asks in a dialog when JavaScript runs)."""
    _ = gettext_for(page_locale(request))
    question = await kb.get_question(session, view.path_id(question_id))
    return await render_signed_in(
        request, session, signed_in, "kb/confirm.html", title=_("Delete the question?"),
        heading=_("Delete the question?"), back=f"{BASE}/{question.id}", action=f"{BASE}/{question.id}/delete",
        text=_("Question “{title}” and all its answers and files will be deleted and leave the public search. "
               "This cannot be undone.", title=question.title))


@router.post(BASE + "/{question_id}/delete")
async def delete_submit(question_id: str, request: Request, session: SessionDep, services: ServicesDep,
                        actor: Editor) -> Response:
    await read_form(request)
    question = await kb.delete_question(session, actor, view.path_id(question_id))
    await session.commit()
    await request_indexing(services, question)
    return see_other(f"{BASE}?done=deleted")
