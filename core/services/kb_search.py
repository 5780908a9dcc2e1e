"""Searching the knowledge base (KB-11, KB-21/22, CRM-10) through the search port: the request
as people give it (validated at the edge) becomes a `SearchQuery` with its filters resolved."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ValidationFailed
from core.models import Area
from core.models.kb import KbDocType, KbStatus
from core.ports import SearchIndex, SearchMode, SearchPage, SearchQuery
from core.text import folded_words

MAX_QUERY_CHARS = 1000
MAX_QUERY_WORDS = 32  # a pasted paragraph still searches, on its first words
MAX_PAGE = 100  # deeper than 100 pages, people refine the query


@dataclass(frozen=True)
class KbSearch:
    q: str
    mode: SearchMode = "fuzzy"
    type_docs: tuple[KbDocType, ...] = ()
    area_id: int | None = None
    field_id: int | None = None
    status: KbStatus | None = None
    page: int = 1
    per_page: int = 10
    published_only: bool = True


async def area_filter(session: AsyncSession, area_id: int) -> tuple[str, ...]:
    """Documents that apply in an area: its own, its parents' (a province-wide procedure applies
    in every commune), its children's, and those with no area."""
    area = await session.get(Area, area_id)
    if area is None:
        raise ValidationFailed(details=[{"field": "area", "message": f"{area_id} does not exist"}])
    ancestors = [int(x) for x in area.path.strip("/").split("/") if x]
    below = (await session.exec(select(Area.id).where(col(Area.path).startswith(area.path), Area.id != area_id))).all()
    return ("", *sorted({str(a) for a in (*ancestors, area_id, *below)}))


def check_query(q: str) -> str:
    if not q or not q.strip() or not folded_words(q):
        raise ValidationFailed(details=[{"field": "q", "message": "type some words to search for"}])
    if len(q) > MAX_QUERY_CHARS:
        raise ValidationFailed(details=[{"field": "q", "message": f"at most {MAX_QUERY_CHARS} characters"}])
    return " ".join(q.split()[:MAX_QUERY_WORDS])


async def search(session: AsyncSession, index: SearchIndex, request: KbSearch) -> SearchPage:
    text = check_query(request.q)
    if request.page > MAX_PAGE:
        raise ValidationFailed(details=[{"field": "page", "message": f"at most {MAX_PAGE}"}])
    statuses: tuple[str, ...] = (KbStatus.published.value,) if request.published_only else \
        ((request.status.value,) if request.status else ())
    query = SearchQuery(
        text=text, mode=request.mode, type_docs=tuple(t.value for t in request.type_docs), statuses=statuses,
        areas=await area_filter(session, request.area_id) if request.area_id else (),
        fields=(str(request.field_id),) if request.field_id else (),
        offset=(request.page - 1) * request.per_page, limit=request.per_page)
    return await index.search(query)


async def suggest(index: SearchIndex, prefix: str, type_docs: tuple[KbDocType, ...] = (), *,
                  published_only: bool = True, limit: int = 8) -> list[str]:
    if not prefix.strip() or len(prefix) > 200 or not folded_words(prefix):
        return []
    return await index.suggest(prefix, limit=limit, type_docs=[t.value for t in type_docs],
                               statuses=[KbStatus.published.value] if published_only else [])
