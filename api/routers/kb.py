"""The knowledge base API (KB-01…11): questions about procedures, FAQs, events and
announcements with their answers and attachments, and the search over them.

Staff tokens and outside systems' API tokens (`X-API-Key`, KB-01) alike are checked by Casbin
(`kb` read / write) and, for a token, its scopes. Whoever may not write the knowledge base sees
only what is published. Every change is committed first, then indexed by the worker; a search
sees it a moment later (`indexed` in the question says whether it is searchable yet)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api import uploads
from api.deps import Allowed, PathId, ServicesDep, SessionDep
from api.routers.attachments import StoreDep
from api.schemas import ERROR_RESPONSES, ErrorOut
from api.search import SearchIndexDep, request_indexing
from core.models.kb import (
    KbAnswerCreate,
    KbAnswerPublic,
    KbAnswerUpdate,
    KbAttachmentPublic,
    KbDocType,
    KbQuestionCreate,
    KbQuestionPublic,
    KbQuestionSummary,
    KbQuestionUpdate,
    KbStatus,
)
from core.services import kb, kb_search
from core.services.actor import Actor
from core.services.crud import Page
from core.types import MAX_DB_ID

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"], responses=ERROR_RESPONSES)

AreaParam = Annotated[int | None, Query(ge=1, le=MAX_DB_ID, description="area id: documents that apply there")]
FieldParam = Annotated[int | None, Query(ge=1, le=MAX_DB_ID)]
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "PDF, image, audio or video"}}}}}}}


def published_only(request: Request, actor: Actor) -> bool:
    """Drafts and hidden items are for those who maintain the knowledge base."""
    services = request.app.state.services
    signed_in_scopes = getattr(request.state, "token_scopes", None)
    may_write = services.authorizer.decide(actor.roles, "kb", "write").allowed
    return not may_write or (signed_in_scopes is not None and "kb:write" not in signed_in_scopes)


class SearchHitOut(BaseModel):
    id: int
    title: str
    type_doc: KbDocType
    snippet: str = Field(description="HTML-escaped text with <mark> around the matched words")
    score: float
    title_html: str = Field(description="the title, HTML-escaped, with <mark> around the matched words")


class SearchOut(BaseModel):
    total: int
    page: int
    per_page: int
    hits: list[SearchHitOut]


class QuestionPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[KbQuestionSummary]


@router.get("/search", response_model=SearchOut,
            summary="Search the knowledge base (KB-11): fuzzy (accents, typos and unfinished words forgiven) or "
                    "exact (the words as a phrase); filters by type and area; matches highlighted")
async def search(request: Request, actor: Allowed("kb", "read"), session: SessionDep, index: SearchIndexDep,
                 q: Annotated[str, Query(max_length=kb_search.MAX_QUERY_CHARS, description="what to look for")],
                 mode: Literal["fuzzy", "exact"] = "fuzzy",
                 type_doc: Annotated[list[KbDocType] | None, Query()] = None,
                 area: AreaParam = None, field: FieldParam = None, status_: Annotated[
                     KbStatus | None, Query(alias="status", description="only for those who maintain the KB")] = None,
                 page: Annotated[int, Query(ge=1, le=kb_search.MAX_PAGE)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=50)] = 10) -> SearchOut:
    result = await kb_search.search(session, index, kb_search.KbSearch(
        q=q, mode=mode, type_docs=tuple(type_doc or ()), area_id=area, field_id=field, status=status_, page=page,
        per_page=per_page, published_only=published_only(request, actor)))
    return SearchOut(total=result.total, page=page, per_page=per_page, hits=[
        SearchHitOut(id=h.id, title=h.title, type_doc=KbDocType(h.type_doc), snippet=h.snippet, score=round(h.score, 4),
                     title_html=h.title_html) for h in result.hits])


@router.get("/suggest", response_model=list[str], summary="Titles completing what is being typed")
async def suggest(request: Request, actor: Allowed("kb", "read"), index: SearchIndexDep,
                  q: Annotated[str, Query(max_length=200)],
                  type_doc: Annotated[list[KbDocType] | None, Query()] = None) -> list[str]:
    return await kb_search.suggest(index, q, tuple(type_doc or ()), published_only=published_only(request, actor))


@router.get("/questions", response_model=QuestionPage, summary="List questions, newest change first (KB-10)")
async def list_questions(request: Request, actor: Allowed("kb", "read"), session: SessionDep,
                         type_doc: KbDocType | None = None, status_: Annotated[KbStatus | None, Query(alias="status")] = None,
                         area: AreaParam = None, field: FieldParam = None,
                         title: Annotated[str | None, Query(max_length=200)] = None,
                         page: Annotated[int, Query(ge=1, le=100000)] = 1,
                         per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> QuestionPage:
    only_published = published_only(request, actor)
    result = await kb.list_questions(session, kb.QuestionFilters(
        type_doc=type_doc, status=None if only_published else status_, area_id=area, field_id=field, title=title,
        published_only=only_published), Page(page, per_page))
    return QuestionPage(total=result.total, page=result.page, per_page=result.per_page, items=result.items)


@router.post("/questions", response_model=KbQuestionPublic, status_code=status.HTTP_201_CREATED,
             summary="Create a question with its answers (KB-02); it is searchable a moment later")
async def create_question(body: KbQuestionCreate, actor: Allowed("kb", "write"), session: SessionDep,
                          services: ServicesDep) -> KbQuestionPublic:
    question = await kb.create_question(session, actor, body)
    await session.commit()
    await request_indexing(services, question)
    return await kb.question_detail(session, question.id)  # type: ignore[arg-type]


@router.get("/questions/{question_id}", response_model=KbQuestionPublic,
            summary="A question with its answers and their attachments (KB-08)")
async def get_question(question_id: PathId, request: Request, actor: Allowed("kb", "read"),
                       session: SessionDep) -> KbQuestionPublic:
    return await kb.question_detail(session, question_id, published_only=published_only(request, actor))


@router.patch("/questions/{question_id}", response_model=KbQuestionPublic,
              summary="Change a question's title, status, type, area, field or source (KB-05)")
async def update_question(question_id: PathId, body: KbQuestionUpdate, actor: Allowed("kb", "write"),
                          session: SessionDep, services: ServicesDep) -> KbQuestionPublic:
    question = await kb.update_question(session, actor, question_id, body)
    await session.commit()
    await request_indexing(services, question)
    return await kb.question_detail(session, question_id)


@router.delete("/questions/{question_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a question with all its answers (KB-03); it leaves the search within seconds")
async def delete_question(question_id: PathId, actor: Allowed("kb", "write"), session: SessionDep,
                          services: ServicesDep) -> Response:
    question = await kb.delete_question(session, actor, question_id)
    await session.commit()
    await request_indexing(services, question)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/questions/{question_id}/answers", response_model=KbAnswerPublic, status_code=status.HTTP_201_CREATED,
             summary="Add an answer (KB-07); attach files to it next")
async def add_answer(question_id: PathId, body: KbAnswerCreate, actor: Allowed("kb", "write"), session: SessionDep,
                     services: ServicesDep) -> KbAnswerPublic:
    answer = await kb.add_answer(session, actor, question_id, body)
    await session.commit()
    await request_indexing(services, await kb.get_question(session, question_id))
    return KbAnswerPublic.model_validate(answer)


@router.get("/questions/{question_id}/answers/{answer_id}", response_model=KbAnswerPublic,
            summary="One answer with its attachments (KB-09)")
async def get_answer(question_id: PathId, answer_id: PathId, request: Request, actor: Allowed("kb", "read"),
                     session: SessionDep) -> KbAnswerPublic:
    only_published = published_only(request, actor)
    await kb.get_answer(session, question_id, answer_id, published_only=only_published)
    answers = (await kb.answers_of(session, [question_id], published_only=only_published))[question_id]
    return next(a for a in answers if a.id == answer_id)


@router.patch("/questions/{question_id}/answers/{answer_id}", response_model=KbAnswerPublic,
              summary="Change an answer's text, heading, status or place (KB-06)")
async def update_answer(question_id: PathId, answer_id: PathId, body: KbAnswerUpdate, actor: Allowed("kb", "write"),
                        session: SessionDep, services: ServicesDep) -> KbAnswerPublic:
    answer = await kb.update_answer(session, actor, question_id, answer_id, body)
    await session.commit()
    await request_indexing(services, await kb.get_question(session, question_id))
    return KbAnswerPublic.model_validate(answer)


@router.delete("/questions/{question_id}/answers/{answer_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete one answer and its attachments (KB-04)")
async def delete_answer(question_id: PathId, answer_id: PathId, actor: Allowed("kb", "write"), session: SessionDep,
                        services: ServicesDep) -> Response:
    await kb.delete_answer(session, actor, question_id, answer_id)
    await session.commit()
    await request_indexing(services, await kb.get_question(session, question_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/questions/{question_id}/answers/{answer_id}/attachments", response_model=KbAttachmentPublic,
             status_code=status.HTTP_201_CREATED, openapi_extra=_UPLOAD_BODY, responses={413: {"model": ErrorOut}},
             summary="Attach a file to an answer (multipart field `file`; type read from the bytes, size limited); "
                     "the same file again returns the same attachment with 200")
async def upload_attachment(question_id: PathId, answer_id: PathId, request: Request, response: Response,
                            actor: Allowed("kb", "write"), session: SessionDep, services: ServicesDep,
                            store: StoreDep) -> KbAttachmentPublic:
    max_bytes = services.settings.attachment_max_bytes
    await kb.get_answer(session, question_id, answer_id)
    await session.commit()
    incoming = await uploads.single_file(request, "file", max_bytes)
    attachment, created = await kb.add_attachment(session, actor, store, question_id, answer_id, incoming.filename,
                                                  incoming.chunks, max_bytes=max_bytes)
    await session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return KbAttachmentPublic.model_validate(attachment)


@router.get("/questions/{question_id}/answers/{answer_id}/attachments/{attachment_id}",
            response_class=StreamingResponse, summary="Download an answer's attachment")
async def download_attachment(question_id: PathId, answer_id: PathId, attachment_id: PathId, request: Request,
                              actor: Allowed("kb", "read"), session: SessionDep, store: StoreDep) -> StreamingResponse:
    attachment, chunks = await kb.open_attachment(session, store, question_id, answer_id, attachment_id,
                                                  published_only=published_only(request, actor))
    response = uploads.file_download(chunks, attachment.content_type, attachment.filename, attachment.size_bytes,
                                     attachment.sha256)
    await session.rollback()  # no pooled connection waits while the bytes go out
    return response


@router.delete("/questions/{question_id}/answers/{answer_id}/attachments/{attachment_id}",
               status_code=status.HTTP_204_NO_CONTENT, summary="Remove an attachment from an answer")
async def delete_attachment(question_id: PathId, answer_id: PathId, attachment_id: PathId,
                            actor: Allowed("kb", "write"), session: SessionDep) -> Response:
    await kb.delete_attachment(session, actor, question_id, answer_id, attachment_id)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
