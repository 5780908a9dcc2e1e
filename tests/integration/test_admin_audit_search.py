"""Browsing the system log (core.services.audit): a date range found as an id range by binary
search gives exactly the entries a plain filter on `at` gives (a row written late by a skewed
clock included); keyset pages walk every entry once in both directions; the other filters; and
a search past its time limit is a clear refusal, not a held connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import make_async_engine, make_sessionmaker
from core.models import AuditLog
from core.services import audit

START = datetime(2024, 3, 1, tzinfo=UTC)
HOURS = 240  # ten days of one entry an hour


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    """Ten days of hourly entries (the template's log is empty; ids grow with time), and after
    hour 100 one entry written by a machine whose clock is 30 minutes behind."""
    engine = make_async_engine(database_url, pool_size=2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        for n in range(HOURS):
            s.add(AuditLog(at=START + timedelta(hours=n), actor_id=None, actor_name=f"job{n % 3}",
                           action="update" if n % 2 else "pii.read", entity="org_unit" if n % 4 else "ticket",
                           entity_id=str(n), before={"name": f"cũ {n}"},
                           after={"name": f"mới {n}", "note": "50%_off" if n == 7 else ""}))
            if n == 100:
                await s.flush()  # ids in this order
                s.add(AuditLog(at=START + timedelta(hours=100, minutes=-30), actor_name="skewed", action="update",
                               entity="org_unit", entity_id="late"))
                await s.flush()
        await s.commit()
    async with sessions() as s:
        yield s
    await engine.dispose()


async def _all_pages(session: AsyncSession, filters: audit.AuditFilters, per_page: int = 7) -> list[int]:
    ids: list[int] = []
    page = await audit.browse(session, filters, per_page=per_page)
    ids += [e.id for e in page.entries]
    while page.next_after is not None:
        page = await audit.browse(session, filters, per_page=per_page, after=page.next_after)
        ids += [e.id for e in page.entries]
    return ids


async def _expected(session: AsyncSession, *conditions: object) -> list[int]:
    stmt = select(AuditLog.id).where(*conditions).order_by(col(AuditLog.id).desc())  # type: ignore[arg-type]
    return list((await session.exec(stmt)).all())


async def test_a_date_range_gives_exactly_the_entries_written_in_it(session: AsyncSession) -> None:
    at_from, at_to = START + timedelta(hours=50), START + timedelta(hours=120)
    filters = audit.AuditFilters(at_from=at_from, at_to=at_to)
    expected = await _expected(session, col(AuditLog.at) >= at_from, col(AuditLog.at) < at_to)
    assert len(expected) == 71  # 70 hourly entries and the late one
    assert await _all_pages(session, filters) == expected
    # ranges outside the log: before it, after it, and an empty gap inside it
    assert await _all_pages(session, audit.AuditFilters(at_to=START - timedelta(days=1))) == []
    assert await _all_pages(session, audit.AuditFilters(at_from=datetime.now(UTC) + timedelta(days=1))) == []
    late = audit.AuditFilters(at_from=START + timedelta(hours=150))
    assert await _all_pages(session, late) == await _expected(session, col(AuditLog.at) >= START + timedelta(hours=150))
    gap = audit.AuditFilters(at_from=START + timedelta(hours=10, minutes=10), at_to=START + timedelta(hours=10, minutes=50))
    assert await _all_pages(session, gap) == []


async def test_the_binary_search_finds_the_first_entry_at_or_after_any_moment(session: AsyncSession) -> None:
    rows = list((await session.exec(select(AuditLog.id, AuditLog.at).where(AuditLog.actor_name != "skewed")
                                    .order_by(col(AuditLog.id)))).all())
    moments = [START - timedelta(hours=1), START, START + timedelta(seconds=1), START + timedelta(hours=37),
               START + timedelta(hours=37, seconds=1), START + timedelta(hours=150), START + timedelta(hours=239),
               START + timedelta(hours=240)]
    for moment in moments:
        expected = min((i for i, at in rows if at >= moment), default=None)
        assert await audit._first_id_at(session, moment) == expected, moment


async def test_keyset_pages_walk_back_and_forth_without_gaps(session: AsyncSession) -> None:
    filters = audit.AuditFilters(actions=("update",), at_from=START)
    first = await audit.browse(session, filters, per_page=10)
    assert first.prev_before is None and first.next_after is not None
    second = await audit.browse(session, filters, per_page=10, after=first.next_after)
    assert second.prev_before == second.entries[0].id
    back = await audit.browse(session, filters, per_page=10, before=second.prev_before)
    assert [e.id for e in back.entries] == [e.id for e in first.entries]
    assert back.prev_before is None  # nothing newer than the first page
    assert [e.id for e in first.entries] == sorted((e.id for e in first.entries), reverse=True)


async def test_filters_by_actor_type_object_and_text(session: AsyncSession) -> None:
    by_name = await _all_pages(session, audit.AuditFilters(actor_ids=(), actor_name="job1", at_from=START))
    assert by_name == await _expected(session, AuditLog.actor_name == "job1")
    assert await _all_pages(session, audit.AuditFilters(actor_ids=())) == []  # nobody matched the name
    # an object id without its type still finds it (and uses the (entity, entity_id) index)
    found = await audit.browse(session, audit.AuditFilters(entity_id="late"))
    assert [e.actor_name for e in found.entries] == ["skewed"]
    assert {"org_unit", "ticket"} <= set(await audit.entity_types(session))
    # text: the data before/after; LIKE's wildcards are literal
    assert len((await audit.browse(session, audit.AuditFilters(text="50%_off"))).entries) == 1
    assert (await audit.browse(session, audit.AuditFilters(text="5_%off"))).entries == []
    assert [e.entity_id for e in (await audit.browse(session, audit.AuditFilters(text="MỚI 123"))).entries] == ["123"]
    pii = await _all_pages(session, audit.AuditFilters(actions=audit.PII_ACTIONS, entity="ticket", at_from=START))
    assert pii == await _expected(session, AuditLog.action == "pii.read", AuditLog.entity == "ticket",
                                  col(AuditLog.at) >= START)


async def test_exports_read_every_entry_in_chunks_and_know_when_there_are_too_many(session: AsyncSession) -> None:
    filters = audit.AuditFilters(entity="org_unit", at_from=START)
    chunks = [chunk async for chunk in audit.export_entries(session, filters, chunk=50)]
    assert [e.id for chunk in chunks for e in chunk] == await _expected(
        session, AuditLog.entity == "org_unit", col(AuditLog.at) >= START)
    assert max(len(c) for c in chunks) == 50
    assert await audit.export_too_large(session, filters, limit=100)
    assert not await audit.export_too_large(session, filters, limit=1_000)


async def test_a_search_past_its_time_limit_is_refused_clearly(session: AsyncSession) -> None:
    await audit._statement_timeout(session, 50)
    with pytest.raises(audit.SearchTooSlow):
        await audit._guarded(session, select(sa.func.pg_sleep(1)))
    await session.rollback()
    assert (await session.exec(select(sa.literal(1)))).one() == 1  # the session is usable again
