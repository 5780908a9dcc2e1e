"""The desk's look-up of procedures (CRM-10) at /kb: while on a call, an agent picks the caller's
area, types a few words (or filters by type), reads the passages that match and opens a question
beside the results (htmx side panel; a page of its own without JavaScript).

The same search and rules as the API (api/routers/kb.py): Casbin `kb` read; whoever may not
write the knowledge base sees only what is published (`published_only`)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.routers.kb import published_only
from core.models.kb import KbDocType
from core.services import kb
from ui.i18n import gettext_for, page_locale
from ui.pages import kb_admin_view as view
from ui.pages.common import page_router, render_signed_in
from ui.pages.kb_public import RESULTS_ID, read_search, run_search, wants_fragment
from ui.templating import render

router = page_router()

BASE = "/kb"
PANEL_ID = "kb-panel"
TYPES = tuple(KbDocType)

Reader = Allowed("kb", "read")


def api_file_href(question_id: int, answer_id: int, attachment_id: int) -> str:
    """Staff download through the API (the session cookie signs it in; its rules apply)."""
    return f"/api/v1/kb/questions/{question_id}/answers/{answer_id}/attachments/{attachment_id}"


@router.get(BASE)
async def desk_search(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                      actor: Reader) -> Response:
    _ = gettext_for(page_locale(request))
    form = read_search(request.query_params, TYPES)
    only_published = published_only(request, actor)
    outcome = await run_search(session, services, form, TYPES, only_published, _)
    values = form.values()
    context = dict(may_edit=not only_published,
        form=form, values=values, outcome=outcome, results_id=RESULTS_ID, panel=PANEL_ID, detail_base=BASE,
        page_href=f"{BASE}?{urlencode({**values, 'page': ''})}", action=BASE, suggest_kind="all",
        all_types_label=_("All types"), type_options=[(t.value, _(view.TYPE_LABELS[t])) for t in TYPES],
        areas=await view.area_choices(session, services), **view.helpers(_))
    if wants_fragment(request, RESULTS_ID):
        response = render(request, "kb/_results.html", **context)
    else:
        response = await render_signed_in(request, session, signed_in, "kb/desk_search.html",
                                          title=_("Administrative procedures"), **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get(BASE + "/{question_id}")
async def desk_detail(question_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                      actor: Reader) -> Response:
    """A question beside the results (htmx), or on a page of its own."""
    _ = gettext_for(page_locale(request))
    question = await kb.question_detail(session, view.path_id(question_id),
                                        published_only=published_only(request, actor))
    names = await view.kb_names(session, [question.area_id], [question.field_id])
    context = dict(question=question, names=names, file_href=api_file_href, base=BASE, **view.helpers(_))
    if wants_fragment(request, PANEL_ID):
        response = render(request, "kb/_panel.html", level=2, **context)
    else:
        response = await render_signed_in(request, session, signed_in, "kb/desk_detail.html", title=question.title,
                                          level=1, **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response
