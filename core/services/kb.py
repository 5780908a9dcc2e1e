"""Knowledge-base use cases (KB-02…10): questions with their answers and attachments.

Every change bumps the question's `revision` in the same transaction; the caller then asks the
worker to index it (`activities.kb_index`), which reads the committed state and records the
revision it indexed. A deleted question is kept as a tombstone (`deleted_at`): it leaves the
search index and every list, while the audit log keeps what it said."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core import filetypes
from core.errors import NotFound, TooManyAttachments
from core.models import Area, TicketField
from core.models.base import utcnow
from core.models.kb import (
    KbAnswer,
    KbAnswerCreate,
    KbAnswerPublic,
    KbAnswerUpdate,
    KbAttachment,
    KbAttachmentPublic,
    KbDocType,
    KbQuestion,
    KbQuestionCreate,
    KbQuestionPublic,
    KbQuestionSummary,
    KbQuestionUpdate,
    KbStatus,
)
from core.ports import AttachmentStore, SearchDocument
from core.services import audit
from core.services.actor import Actor
from core.services.attachments import receive
from core.services.crud import Page, PageResult, ensure_exists

ENTITY = "kb_question"
MAX_ATTACHMENTS_PER_ANSWER = 10


@dataclass(frozen=True)
class QuestionFilters:
    type_doc: KbDocType | None = None
    status: KbStatus | None = None
    area_id: int | None = None
    field_id: int | None = None
    title: str | None = None  # words of the title, in order, accents as typed
    published_only: bool = False


def _visible(published_only: bool) -> list[sa.ColumnElement[bool]]:
    where = [col(KbQuestion.deleted_at).is_(None)]
    if published_only:
        where.append(col(KbQuestion.status) == KbStatus.published)
    return where


async def get_question(session: AsyncSession, question_id: int, *, published_only: bool = False,
                       for_update: bool = False) -> KbQuestion:
    stmt = select(KbQuestion).where(KbQuestion.id == question_id, *_visible(published_only))
    if for_update:
        stmt = stmt.with_for_update()
    question = (await session.exec(stmt)).first()
    if question is None:
        raise NotFound("Question")
    return question


async def get_answer(session: AsyncSession, question_id: int, answer_id: int, *, published_only: bool = False) -> KbAnswer:
    await get_question(session, question_id, published_only=published_only)
    stmt = select(KbAnswer).where(KbAnswer.id == answer_id, KbAnswer.question_id == question_id)
    if published_only:
        stmt = stmt.where(KbAnswer.status == KbStatus.published)
    answer = (await session.exec(stmt)).first()
    if answer is None:
        raise NotFound("Answer")
    return answer


def summary(question: KbQuestion) -> KbQuestionSummary:
    return KbQuestionSummary.model_validate(question, update={"indexed": question.indexed_revision == question.revision})


async def list_questions(session: AsyncSession, filters: QuestionFilters, page: Page) -> PageResult[KbQuestionSummary]:
    """Newest change first (KB-10); `title` narrows by the words of the title (accents ignored)."""
    where = _visible(filters.published_only)
    for column, value in ((KbQuestion.type_doc, filters.type_doc), (KbQuestion.status, filters.status),
                          (KbQuestion.area_id, filters.area_id), (KbQuestion.field_id, filters.field_id)):
        if value is not None:
            where.append(col(column) == value)
    if filters.title and filters.title.strip():
        pattern = "%" + "%".join(w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                                 for w in filters.title.split()) + "%"
        where.append(func.unaccent(col(KbQuestion.title)).ilike(func.unaccent(pattern), escape="\\"))
    total = (await session.exec(select(func.count()).select_from(KbQuestion).where(*where))).one()
    rows = (await session.exec(select(KbQuestion).where(*where)
                               .order_by(col(KbQuestion.updated_at).desc(), col(KbQuestion.id).desc())
                               .offset(page.offset).limit(page.per_page))).all()
    return PageResult(total, page.page, page.per_page, [summary(q) for q in rows])


async def answers_of(session: AsyncSession, question_ids: Sequence[int], *,
                     published_only: bool = False) -> dict[int, list[KbAnswerPublic]]:
    if not question_ids:
        return {}
    stmt = select(KbAnswer).where(col(KbAnswer.question_id).in_(question_ids))
    if published_only:
        stmt = stmt.where(KbAnswer.status == KbStatus.published)
    answers = (await session.exec(stmt.order_by(col(KbAnswer.position), col(KbAnswer.id)))).all()
    files: dict[int, list[KbAttachmentPublic]] = {}
    if answers:
        for a in (await session.exec(select(KbAttachment).where(col(KbAttachment.answer_id).in_([x.id for x in answers]))
                                     .order_by(col(KbAttachment.id)))).all():
            files.setdefault(a.answer_id, []).append(KbAttachmentPublic.model_validate(a))
    out: dict[int, list[KbAnswerPublic]] = {}
    for answer in answers:
        out.setdefault(answer.question_id, []).append(
            KbAnswerPublic.model_validate(answer, update={"attachments": files.get(answer.id, [])}))  # type: ignore[arg-type]
    return out


async def question_detail(session: AsyncSession, question_id: int, *, published_only: bool = False) -> KbQuestionPublic:
    """A question with its answers and their attachments (KB-08); the public sees only what is published."""
    question = await get_question(session, question_id, published_only=published_only)
    answers = (await answers_of(session, [question_id], published_only=published_only)).get(question_id, [])
    return KbQuestionPublic.model_validate(
        question, update={"answers": answers, "indexed": question.indexed_revision == question.revision})


async def _check_references(session: AsyncSession, area_id: int | None, field_id: int | None) -> None:
    await ensure_exists(session, Area, area_id, "area_id")
    await ensure_exists(session, TicketField, field_id, "field_id")


def _touch(question: KbQuestion, actor: Actor) -> None:
    question.revision += 1
    question.updated_by_id = actor.user_id
    question.updated_at = utcnow()


async def create_question(session: AsyncSession, actor: Actor, data: KbQuestionCreate, *,
                          source_ref: str | None = None) -> KbQuestion:
    """KB-02: a question and its first answers. The caller commits, then asks for indexing."""
    await _check_references(session, data.area_id, data.field_id)
    question = KbQuestion(**data.model_dump(exclude={"answers"}), source_ref=source_ref,
                          created_by_id=actor.user_id, updated_by_id=actor.user_id)
    session.add(question)
    await session.flush()
    for position, answer in enumerate(data.answers):
        session.add(_new_answer(question, actor, answer, position))
    await session.flush()
    await audit.record(session, actor, "kb.create", ENTITY, question.id,
                       after={**data.model_dump(exclude={"answers"}), "answers": len(data.answers)})
    return question


def _new_answer(question: KbQuestion, actor: Actor, data: KbAnswerCreate, position: int) -> KbAnswer:
    return KbAnswer(question_id=question.id, heading=data.heading, content=data.content, status=data.status,  # type: ignore[arg-type]
                    position=data.position if data.position is not None else position, created_by_id=actor.user_id)


async def update_question(session: AsyncSession, actor: Actor, question_id: int, data: KbQuestionUpdate) -> KbQuestion:
    """KB-05: title, status, type, area, field, source."""
    question = await get_question(session, question_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    await _check_references(session, changes.get("area_id"), changes.get("field_id"))
    before = {k: getattr(question, k) for k in changes}
    for key, value in changes.items():
        setattr(question, key, value)
    _touch(question, actor)
    session.add(question)
    await audit.record(session, actor, "kb.update", ENTITY, question.id, before=before, after=changes)
    return question


async def delete_question(session: AsyncSession, actor: Actor, question_id: int) -> KbQuestion:
    """KB-03: the question and all its answers leave every list and the search index."""
    question = await get_question(session, question_id, for_update=True)
    question.deleted_at = utcnow()
    _touch(question, actor)
    session.add(question)
    await audit.record(session, actor, "kb.delete", ENTITY, question.id,
                       before={"title": question.title, "type_doc": question.type_doc, "status": question.status})
    return question


async def add_answer(session: AsyncSession, actor: Actor, question_id: int, data: KbAnswerCreate) -> KbAnswer:
    """KB-07 (attachments follow through `add_attachment`)."""
    question = await get_question(session, question_id, for_update=True)
    last = (await session.exec(select(func.max(KbAnswer.position)).where(KbAnswer.question_id == question_id))).one()
    answer = _new_answer(question, actor, data, 0 if last is None else last + 1)
    session.add(answer)
    _touch(question, actor)
    session.add(question)
    await session.flush()
    await audit.record(session, actor, "kb.answer_create", ENTITY, question.id,
                       after={"answer_id": answer.id, "heading": answer.heading, "status": answer.status})
    return answer


async def update_answer(session: AsyncSession, actor: Actor, question_id: int, answer_id: int,
                        data: KbAnswerUpdate) -> KbAnswer:
    """KB-06: an answer's text, heading, status or place."""
    question = await get_question(session, question_id, for_update=True)
    answer = await get_answer(session, question_id, answer_id)
    changes = data.model_dump(exclude_unset=True)
    before = {k: getattr(answer, k) for k in changes}
    for key, value in changes.items():
        setattr(answer, key, value)
    answer.updated_at = utcnow()
    session.add(answer)
    _touch(question, actor)
    session.add(question)
    await audit.record(session, actor, "kb.answer_update", ENTITY, question.id,
                       before={"answer_id": answer_id, **before}, after={"answer_id": answer_id, **changes})
    return answer


async def delete_answer(session: AsyncSession, actor: Actor, question_id: int, answer_id: int) -> None:
    """KB-04: one answer and its attachments' rows (the bytes stay in the content-addressed store)."""
    question = await get_question(session, question_id, for_update=True)
    answer = await get_answer(session, question_id, answer_id)
    await audit.record(session, actor, "kb.answer_delete", ENTITY, question.id,
                       before={"answer_id": answer_id, "heading": answer.heading, "content": answer.content[:2000]})
    await session.delete(answer)
    _touch(question, actor)
    session.add(question)


async def add_attachment(session: AsyncSession, actor: Actor, store: AttachmentStore, question_id: int, answer_id: int,
                         filename: str | None, chunks: AsyncIterable[bytes], *, max_bytes: int) -> tuple[KbAttachment, bool]:
    """A form or guide attached to an answer: size and type checked from the bytes as they come
    (as ticket attachments); the same file twice on one answer is kept once, and the answer is
    checked again under the question's lock once the bytes are in. Returns (attachment, created);
    the caller commits. The caller should find the answer and end its read transaction first
    (a 404 before any byte is read; no pooled connection waits on a slow upload)."""
    received = await receive(store, chunks, filename, max_bytes)
    try:
        await get_question(session, question_id, for_update=True)
        answer = await get_answer(session, question_id, answer_id)
        existing = (await session.exec(select(KbAttachment).where(
            KbAttachment.answer_id == answer.id, KbAttachment.sha256 == received.sha256))).first()
        if existing is not None:
            await received.writer.discard()
            return existing, False
        count = (await session.exec(select(func.count()).select_from(KbAttachment)
                                    .where(KbAttachment.answer_id == answer.id))).one()
        if count >= MAX_ATTACHMENTS_PER_ANSWER:
            raise TooManyAttachments(limit=MAX_ATTACHMENTS_PER_ANSWER)
        key = await received.writer.keep(received.sha256)
    except BaseException:
        await received.writer.discard()
        raise
    attachment = KbAttachment(answer_id=answer.id, filename=filetypes.safe_filename(filename, received.content_type),  # type: ignore[arg-type]
                              content_type=received.content_type, size_bytes=received.size_bytes,
                              sha256=received.sha256, storage_key=key, uploaded_by_id=actor.user_id)
    session.add(attachment)
    await session.flush()
    await audit.record(session, actor, "kb.attachment_create", ENTITY, question_id,
                       after={"answer_id": answer_id, "attachment_id": attachment.id, "filename": attachment.filename,
                              "size_bytes": attachment.size_bytes})
    return attachment, True


async def delete_attachment(session: AsyncSession, actor: Actor, question_id: int, answer_id: int,
                            attachment_id: int) -> None:
    attachment = await _attachment(session, question_id, answer_id, attachment_id)
    await audit.record(session, actor, "kb.attachment_delete", ENTITY, question_id,
                       before={"answer_id": answer_id, "attachment_id": attachment_id, "filename": attachment.filename})
    await session.delete(attachment)


async def _attachment(session: AsyncSession, question_id: int, answer_id: int, attachment_id: int, *,
                      published_only: bool = False) -> KbAttachment:
    await get_answer(session, question_id, answer_id, published_only=published_only)
    attachment = (await session.exec(select(KbAttachment).where(
        KbAttachment.id == attachment_id, KbAttachment.answer_id == answer_id))).first()
    if attachment is None:
        raise NotFound("Attachment")
    return attachment


async def open_attachment(session: AsyncSession, store: AttachmentStore, question_id: int, answer_id: int,
                          attachment_id: int, *, published_only: bool = False) -> tuple[KbAttachment, AsyncIterator[bytes]]:
    attachment = await _attachment(session, question_id, answer_id, attachment_id, published_only=published_only)
    try:
        return attachment, await store.open(attachment.storage_key)
    except LookupError as exc:
        raise NotFound("Attachment") from exc


# --- what the search index holds ---------------------------------------------------------------

def search_document(question: KbQuestion, answers: Sequence[KbAnswer | KbAnswerPublic]) -> SearchDocument:
    """The indexed form of a question: its title, and as body its published answers (heading
    and text) and its agency."""
    parts = [f"{a.heading}\n{a.content}" if a.heading else a.content
             for a in answers if a.status == KbStatus.published]
    if question.agency:
        parts.append(question.agency)
    return SearchDocument(
        id=question.id, title=question.title, body="\n".join(parts), type_doc=str(question.type_doc),  # type: ignore[arg-type]
        status=str(question.status), area="" if question.area_id is None else str(question.area_id),
        field="" if question.field_id is None else str(question.field_id),
        updated_at=int(question.updated_at.timestamp()))
