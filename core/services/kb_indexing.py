"""Keeping the search index in step with the knowledge base.

Each question carries `revision` (bumped by every change) and `indexed_revision` (what the
index holds). `sync_pending` indexes every question whose two differ and records what it
indexed, compare-and-set on the revision it read, so a change committed meanwhile stays
pending for the next run. Runs hold a PostgreSQL advisory lock: two workers never interleave
their writes (an older read can never overwrite a newer one in the index). Whatever is lost on
the way (Temporal down when a change was made, a killed worker), the next run picks it up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import unit_of_work
from core.models.kb import KbAnswer, KbQuestion
from core.ports import SearchIndex
from core.services.kb import search_document

log = logging.getLogger(__name__)

_LOCK_KEY = 1022_0005  # pg_advisory_xact_lock: one index writer at a time, across processes
BATCH = 500


@dataclass(frozen=True)
class SyncReport:
    indexed: int = 0
    removed: int = 0


async def pending_count(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(KbQuestion).where(
        col(KbQuestion.indexed_revision) != col(KbQuestion.revision)))).one()


async def mark_all_pending(session: AsyncSession) -> int:
    """For a rebuild: every question is to be indexed again (the caller commits)."""
    table = KbQuestion.__table__  # type: ignore[attr-defined]
    result = await session.exec(sa.update(table).values(indexed_revision=0))  # type: ignore[call-overload]
    return result.rowcount or 0


async def _batch(session: AsyncSession, index: SearchIndex) -> SyncReport | None:
    await session.exec(select(func.pg_advisory_xact_lock(_LOCK_KEY)))  # type: ignore[call-overload]
    questions = (await session.exec(select(KbQuestion).where(
        col(KbQuestion.indexed_revision) != col(KbQuestion.revision)).order_by(col(KbQuestion.id)).limit(BATCH))).all()
    if not questions:
        return None
    live = [q for q in questions if q.deleted_at is None]
    gone = [q.id for q in questions if q.deleted_at is not None]
    answers: dict[int, list[KbAnswer]] = {}
    if live:
        for answer in (await session.exec(select(KbAnswer).where(col(KbAnswer.question_id).in_([q.id for q in live]))
                                          .order_by(col(KbAnswer.position), col(KbAnswer.id)))).all():
            answers.setdefault(answer.question_id, []).append(answer)
        await index.upsert([search_document(q, answers.get(q.id, [])) for q in live])  # type: ignore[arg-type]
    if gone:
        await index.delete(gone)  # type: ignore[arg-type]
    table = KbQuestion.__table__  # type: ignore[attr-defined]
    for q in questions:  # compare-and-set: a change committed since the read stays pending
        await session.exec(sa.update(table).where(table.c.id == q.id, table.c.revision == q.revision)  # type: ignore[call-overload]
                           .values(indexed_revision=q.revision))
    return SyncReport(len(live), len(gone))


async def sync_pending(sessions: async_sessionmaker[AsyncSession], index: SearchIndex,
                       progress: Callable[[int], None] | None = None) -> SyncReport:
    """Index every question whose revision the index does not hold yet, in batches (each its own
    transaction under the lock); `progress` gets the running count."""
    indexed = removed = 0
    while True:
        async with unit_of_work(sessions) as session:
            report = await _batch(session, index)
        if report is None:
            break
        indexed += report.indexed
        removed += report.removed
        if progress is not None:
            progress(indexed + removed)
    if indexed or removed:
        log.info("search index: %s questions indexed, %s removed", indexed, removed)
    return SyncReport(indexed, removed)


async def reconcile(sessions: async_sessionmaker[AsyncSession], index: SearchIndex, *, rebuild: bool = False,
                    progress: Callable[[int], None] | None = None) -> SyncReport:
    """At worker start: when the index was rebuilt empty (new schema version, a lost folder) or
    holds a different number of documents than the database says it indexed, index everything
    again; then index what is pending."""
    async with unit_of_work(sessions) as session:
        expected = (await session.exec(select(func.count()).select_from(KbQuestion).where(
            col(KbQuestion.deleted_at).is_(None), col(KbQuestion.indexed_revision) > 0))).one()
        held = await index.count()
        if rebuild or expected != held:
            log.warning("search index holds %s documents, the database says %s: indexing everything again",
                        held, expected)
            await index.rebuild([])
            await mark_all_pending(session)
    return await sync_pending(sessions, index, progress)
