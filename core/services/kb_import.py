"""Importing procedures from the national public-service portal into the knowledge base
(`hotline kb import FILE`, and the demo data of `hotline up`). Idempotent: a procedure is
found again by its source key; one unchanged is left alone (no new revision, nothing to
re-index), one changed at the source has its title and answers replaced, one an administrator
deleted stays deleted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models.kb import KbAnswer, KbAnswerCreate, KbDocType, KbQuestion, KbQuestionCreate, KbStatus
from core.services import audit
from core.services.actor import Actor
from core.services.kb import ENTITY, create_question
from core.services.kb_procedures import AGENCY, DOCUMENTS, METHODS, SOURCE, STEPS, ImportedProcedure

# answers under these headings come from the source and are replaced when it changes; answers an
# administrator added under other headings are kept
SECTIONS = (STEPS, METHODS, DOCUMENTS, AGENCY)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted_kept: int = 0  # deleted by an administrator: not brought back

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.deleted_kept


def _answers(procedure: ImportedProcedure) -> list[KbAnswerCreate]:
    return [KbAnswerCreate(heading=a.heading, content=a.content, status=KbStatus.published, position=i)
            for i, a in enumerate(procedure.answers)]


async def import_procedures(session: AsyncSession, actor: Actor, procedures: Sequence[ImportedProcedure],
                            progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Create or update each procedure (the caller commits, then asks for indexing)."""
    report = ImportReport()
    refs = [p.source_ref for p in procedures]
    existing = {q.source_ref: q for q in (await session.exec(
        select(KbQuestion).where(col(KbQuestion.source_ref).in_(refs)))).all()}
    answers: dict[int, list[KbAnswer]] = {}
    if existing:
        for a in (await session.exec(select(KbAnswer).where(col(KbAnswer.question_id).in_(
                [q.id for q in existing.values()])).order_by(col(KbAnswer.position), col(KbAnswer.id)))).all():
            answers.setdefault(a.question_id, []).append(a)
    for done, procedure in enumerate(procedures, 1):
        question = existing.get(procedure.source_ref)
        wanted = _answers(procedure)
        if question is None:
            await create_question(session, actor, KbQuestionCreate(
                title=procedure.title, type_doc=KbDocType.procedure, status=KbStatus.published, source=SOURCE,
                agency=procedure.agency or None, answers=wanted), source_ref=procedure.source_ref)
            report.created += 1
        elif question.deleted_at is not None:
            report.deleted_kept += 1
        elif _same(question, answers.get(question.id, []), procedure, wanted):  # type: ignore[arg-type]
            report.unchanged += 1
        else:
            await _replace(session, actor, question, procedure, wanted)
            report.updated += 1
        if progress is not None:
            progress(done, len(procedures))
    return report


def _same(question: KbQuestion, answers: list[KbAnswer], procedure: ImportedProcedure,
          wanted: list[KbAnswerCreate]) -> bool:
    return (question.title == procedure.title and (question.agency or "") == procedure.agency
            and [(a.heading, a.content) for a in answers if a.heading in SECTIONS]
            == [(w.heading, w.content) for w in wanted])


async def _replace(session: AsyncSession, actor: Actor, question: KbQuestion, procedure: ImportedProcedure,
                   wanted: list[KbAnswerCreate]) -> None:
    before = {"title": question.title, "agency": question.agency}
    table = KbAnswer.__table__  # type: ignore[attr-defined]
    await session.exec(sa.delete(table).where(table.c.question_id == question.id,  # type: ignore[call-overload]
                                              table.c.heading.in_(SECTIONS)))
    for w in wanted:
        session.add(KbAnswer(question_id=question.id, heading=w.heading, content=w.content,  # type: ignore[arg-type]
                             status=w.status, position=w.position or 0, created_by_id=actor.user_id))
    question.title = procedure.title
    question.agency = procedure.agency or None
    question.revision += 1
    question.updated_by_id = actor.user_id
    session.add(question)
    await audit.record(session, actor, "kb.import_update", ENTITY, question.id, before=before,
                       after={"title": question.title, "agency": question.agency, "answers": len(wanted)})
