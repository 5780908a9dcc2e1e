"""Public look-up of the knowledge base, without signing in (KB-21 procedures, KB-22 events and
announcements): a search box (fuzzy by default: accents, typos and unfinished words forgiven; or
the words as an exact phrase), an area picker, short results with the matched words marked,
pages, suggestions while typing, and a question's page with its published answers and files.

Only what is published is ever shown here, whoever looks: the search asks the index for
published documents, the page and its files go through core.services.kb with
`published_only=True` (a draft, a hidden question or a hidden answer is a 404). The search form
and its results are shared with the desk's look-up (ui.pages.kb_desk)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from markupsafe import escape
from sqlmodel.ext.asyncio.session import AsyncSession

from api import uploads
from api.deps import ServicesDep, SessionDep
from api.ratelimit import check_rate
from api.routers.attachments import get_store
from api.search import get_search_index
from api.services import AppServices
from core.errors import HotlineError, NotFound, ValidationFailed
from core.models.kb import KbDocType, KbQuestionPublic
from core.services import kb, kb_search
from core.services.crud import Page
from ui.i18n import N_, Gettext, gettext_for, page_locale
from ui.pages import kb_admin_view as view
from ui.pages.common import page_router, see_other
from ui.pages.kb_admin_view import EVENTS, PROCEDURES, PublicSection
from ui.pages.work import page_numbers
from ui.templating import render

router = page_router()

PER_PAGE = 10
NEWEST = 10
RESULTS_ID = "kb-results"
BAD_QUERY = N_("Type a few words (letters or numbers) to search for, for example: khai sinh.")
TOO_LONG = N_("The search is too long: at most {limit} characters.")
BAD_AREA = N_("Choose one of the listed areas.")


class KbPageNotFound(HotlineError):
    status_code = 404
    error_id = "not_found"
    message = N_("This page does not exist or is no longer published.")


@dataclass(frozen=True)
class ResultItem:
    """A search hit or one of the newest items. `title_html` and `snippet` are HTML: escaped text
    with <mark> around the matched words (the index makes them; the newest items are escaped here)."""

    id: int
    title_html: str
    type_doc: str
    snippet: str = ""
    status: str = "published"


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    exact: bool = False
    area: int | None = None
    type_doc: KbDocType | None = None
    page: int = 1

    def values(self) -> dict[str, str]:
        """As the address keeps them (page aside)."""
        out = {"q": self.q} if self.q else {}
        if self.exact:
            out["exact"] = "1"
        if self.area:
            out["area"] = str(self.area)
        if self.type_doc:
            out["type"] = self.type_doc.value
        return out


@dataclass
class SearchOutcome:
    items: list[ResultItem] = field(default_factory=list)
    total: int = 0
    pages: int = 1
    newest: bool = False  # no words typed: the newest items instead of hits
    message: str | None = None  # why nothing was searched, in the page's language
    field: str = "q"  # the field the message is about


def read_search(params: Mapping[str, str], types: tuple[KbDocType, ...]) -> SearchForm:
    wanted = view.as_enum(KbDocType, params.get("type"))
    return SearchForm(q=(params.get("q") or "").strip(), exact=params.get("exact") == "1",
                      area=view.as_id(params.get("area")), type_doc=wanted if wanted in types else None,
                      page=min(view.as_id(params.get("page")) or 1, kb_search.MAX_PAGE))


async def _newest(session: AsyncSession, form: SearchForm, types: tuple[KbDocType, ...],
                  published_only: bool) -> list[ResultItem]:
    """The newest items of these types that apply in the chosen area (as the search filters areas),
    from the 50 newest of each type: a first look before anything is typed, not a full list."""
    areas = set(await kb_search.area_filter(session, form.area)) if form.area else None
    found = []
    for type_doc in (form.type_doc,) if form.type_doc else types:
        result = await kb.list_questions(session, kb.QuestionFilters(type_doc=type_doc, published_only=published_only),
                                         Page(1, 50))
        found += [q for q in result.items if areas is None or ("" if q.area_id is None else str(q.area_id)) in areas]
    found.sort(key=lambda q: (q.updated_at, q.id), reverse=True)
    return [ResultItem(q.id, str(escape(q.title)), str(q.type_doc), status=str(q.status)) for q in found[:NEWEST]]


async def run_search(session: AsyncSession, services: AppServices, form: SearchForm, types: tuple[KbDocType, ...],
                     published_only: bool, _: Gettext) -> SearchOutcome:
    """The hits of a search, or the newest items when no words were typed; a query the search
    cannot use (punctuation only, too long, an unknown area) is a message, never an error page."""
    if len(form.q) > kb_search.MAX_QUERY_CHARS:
        return SearchOutcome(message=_(TOO_LONG, limit=kb_search.MAX_QUERY_CHARS))
    try:
        if not form.q:
            return SearchOutcome(items=await _newest(session, form, types, published_only), newest=True)
        result = await kb_search.search(session, await get_search_index(services), kb_search.KbSearch(
            q=form.q, mode="exact" if form.exact else "fuzzy", type_docs=(form.type_doc,) if form.type_doc else types,
            area_id=form.area, page=form.page, per_page=PER_PAGE, published_only=published_only))
    except ValidationFailed as exc:
        fields = {d.get("field") for d in exc.details if isinstance(d, dict)} if isinstance(exc.details, list) else set()
        if "area" in fields:
            return SearchOutcome(message=_(BAD_AREA), field="area")
        return SearchOutcome(message=_(BAD_QUERY))
    items = [ResultItem(h.id, h.title_html or str(escape(h.title)), h.type_doc, h.snippet) for h in result.hits]
    return SearchOutcome(items=items, total=result.total,
                         pages=min(page_numbers(result.total, PER_PAGE), kb_search.MAX_PAGE))


def wants_fragment(request: Request, target: str) -> bool:
    """An htmx request that replaces only `target` (not a history restore, which needs the page)."""
    return (request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == target
            and request.headers.get("hx-history-restore-request") != "true")


# ---- the public search pages ----

def check_public_rate(request: Request, services: AppServices) -> None:
    """Anyone may search without signing in: one address may not take the search engine for itself."""
    check_rate(services, "public_search_rate", request.client.host if request.client else None,
               services.settings.public_search_per_minute)


async def _search_page(request: Request, session: AsyncSession, services: AppServices,
                       section: PublicSection) -> Response:
    _ = gettext_for(page_locale(request))
    check_public_rate(request, services)
    form = read_search(request.query_params, section.types)
    outcome = await run_search(session, services, form, section.types, True, _)
    values = form.values()
    context: dict[str, Any] = dict(
        title=_(section.title), section=section, form=form, values=values,
        outcome=outcome, results_id=RESULTS_ID, page_href=f"{section.path}?{urlencode({**values, 'page': ''})}",
        detail_base=section.path, areas=await view.area_choices(session, services),
        type_options=[(t.value, _(view.TYPE_LABELS[t])) for t in section.types], **view.helpers(_))
    fragment = wants_fragment(request, RESULTS_ID)
    response = render(request, "kb/_results.html" if fragment else "kb/public_search.html", **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@router.get(PROCEDURES.path)
async def procedures(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    return await _search_page(request, session, services, PROCEDURES)


@router.get(EVENTS.path)
async def events(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    return await _search_page(request, session, services, EVENTS)


@router.get("/tra-cuu/goi-y")
async def suggestions(request: Request, services: ServicesDep) -> Response:
    """Titles completing what is being typed (published only), for the search box's list."""
    check_public_rate(request, services)
    params = request.query_params
    q = (params.get("q") or "").strip()[:200]
    section = view.SECTIONS.get(params.get("kind") or "")
    wanted = view.as_enum(KbDocType, params.get("type"))
    types = (wanted,) if wanted else (section.types if section else ())
    titles = await kb_search.suggest(await get_search_index(services), q, types, published_only=True) if q else []
    return render(request, "kb/_suggestions.html", titles=titles)


# ---- a question's public page and its files ----

async def published_question(session: AsyncSession, question_id: str) -> KbQuestionPublic:
    try:
        return await kb.question_detail(session, view.path_id(question_id), published_only=True)
    except NotFound as exc:
        raise KbPageNotFound() from exc


async def _detail_page(request: Request, session: AsyncSession, services: AppServices, section: PublicSection,
                       question_id: str) -> Response:
    _ = gettext_for(page_locale(request))
    question = await published_question(session, question_id)
    home = view.section_of(question.type_doc)
    if home is not section:
        return see_other(f"{home.path}/{question.id}")
    names = await view.kb_names(session, [question.area_id], [question.field_id])
    return render(request, "kb/public_detail.html", title=question.title, question=question, names=names,
                  section=section, file_href=public_file_href, **view.helpers(_))


def public_file_href(question_id: int, answer_id: int, attachment_id: int) -> str:
    return f"/tra-cuu/tep/{question_id}/{answer_id}/{attachment_id}"


@router.get(PROCEDURES.path + "/{question_id}")
async def procedure_detail(question_id: str, request: Request, session: SessionDep, services: ServicesDep) -> Response:
    return await _detail_page(request, session, services, PROCEDURES, question_id)


@router.get(EVENTS.path + "/{question_id}")
async def event_detail(question_id: str, request: Request, session: SessionDep, services: ServicesDep) -> Response:
    return await _detail_page(request, session, services, EVENTS, question_id)


@router.get("/tra-cuu/tep/{question_id}/{answer_id}/{attachment_id}")
async def public_file(question_id: str, answer_id: str, attachment_id: str, session: SessionDep,
                      services: ServicesDep) -> Response:
    """A file of a published answer of a published question, as the API sends it (never rendered as our page)."""
    try:
        attachment, chunks = await kb.open_attachment(
            session, await get_store(services), view.path_id(question_id), view.path_id(answer_id, "Answer"),
            view.path_id(attachment_id, "Attachment"), published_only=True)
    except NotFound as exc:
        raise KbPageNotFound() from exc
    response = uploads.file_download(chunks, attachment.content_type, attachment.filename, attachment.size_bytes,
                                     attachment.sha256)
    await session.rollback()  # no pooled connection waits while the bytes go out
    return response
