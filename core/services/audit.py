"""Append-only audit trail: every admin change, with before/after snapshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import or_
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import HotlineError, NotFound
from core.models import AuditLog, User
from core.models.audit import AuditLogPublic
from core.services.actor import Actor
from core.services.crud import Page, PageResult, paged

SECRET_FIELDS = frozenset({"password", "password_hash", "token", "token_hash", "secret", "new_password",
                           "current_password", "new_password_confirm"})


def snapshot(obj: SQLModel | dict[str, Any] | None) -> dict[str, Any] | None:
    """JSON-safe copy of a row without secrets."""
    if obj is None:
        return None
    data = obj if isinstance(obj, dict) else obj.model_dump(mode="json", warnings=False)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECRET_FIELDS:
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Enum):
            value = value.value
        out[key] = value
    return out


async def record(session: AsyncSession, actor: Actor, action: str, entity: str, entity_id: object = None,
                 before: SQLModel | dict[str, Any] | None = None, after: SQLModel | dict[str, Any] | None = None) -> None:
    session.add(AuditLog(
        actor_id=actor.user_id, actor_name=actor.username[:64], action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), before=snapshot(before), after=snapshot(after),
        request_id=actor.request_id, ip=actor.ip,
    ))


async def search(session: AsyncSession, page: Page, entity: str | None = None, entity_id: str | None = None,
                 actor_id: int | None = None) -> PageResult[AuditLogPublic]:
    stmt = select(AuditLog).order_by(col(AuditLog.id).desc())
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    total, rows = await paged(session, stmt, page)
    return PageResult(total, page.page, page.per_page, [AuditLogPublic.model_validate(r) for r in rows])


# ---- browsing the log (the system log screen): keyset pages and bounded searches ----
#
# The log grows by every admin change and every unmasked read of personal data: millions of
# rows. Its indexes are the primary key, actor_id and (entity, entity_id); there is none on `at`.
# Pages are keyset pages by id (newest first), never counted; a date range becomes an id range
# found by binary search on the primary key (ids grow with time); searches over columns without
# an index (action, text) run under a statement timeout and ask for narrower filters instead of
# holding a connection for minutes.

SEARCH_TIMEOUT_MS = 5_000
EXPORT_TIMEOUT_MS = 60_000
EXPORT_MAX_ROWS = 100_000
EXPORT_CHUNK = 2_000
# How far `at` may run behind the id order (rows written by machines with skewed clocks, or a
# long transaction): the id range is widened by this much and `at` is then compared exactly.
CLOCK_SKEW = timedelta(hours=1)
PII_ACTIONS = ("pii.read", "pii.list", "attachment.read")


class SearchTooSlow(HotlineError):
    status_code = 422
    error_id = "audit_search_too_slow"
    message = "The search took too long. Narrow the date range or add filters, then try again."


@dataclass(frozen=True)
class AuditFilters:
    """What the system log may be narrowed by. `actor_ids` are the people whose entries to show
    (indexed); `actor_name` matches entries of actors without an account (system jobs)."""

    actor_ids: tuple[int, ...] | None = None
    actor_name: str | None = None
    actions: tuple[str, ...] = ()
    entity: str | None = None
    entity_id: str | None = None
    at_from: datetime | None = None  # included
    at_to: datetime | None = None  # excluded
    text: str | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditLogPublic]
    next_after: int | None  # pass as `after` for the next (older) page
    prev_before: int | None  # pass as `before` for the previous (newer) page


async def find_actor_ids(session: AsyncSession, who: str, limit: int = 200) -> tuple[int, ...]:
    """Accounts whose username or full name contains `who` (case-insensitive)."""
    pattern = f"%{_escape_like(who.strip())}%"
    stmt = (select(User.id).where(or_(col(User.username).ilike(pattern, escape="\\"),
                                      col(User.full_name).ilike(pattern, escape="\\")))
            .order_by(col(User.id)).limit(limit))
    return tuple(int(i) for i in (await session.exec(stmt)).all())


async def actor_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (await session.exec(select(User.id, User.full_name).where(col(User.id).in_(sorted(ids))))).all()
    return {int(i): name for i, name in rows}


async def entity_types(session: AsyncSession) -> list[str]:
    """The distinct entity types in the log, read as a loose index scan of (entity, entity_id):
    one index probe per type, however many rows each has."""
    sql = sa.text("""
        WITH RECURSIVE types(entity) AS (
            (SELECT entity FROM audit_log ORDER BY entity LIMIT 1)
            UNION ALL
            SELECT (SELECT a.entity FROM audit_log a WHERE a.entity > t.entity ORDER BY a.entity LIMIT 1)
            FROM types t WHERE t.entity IS NOT NULL)
        SELECT entity FROM types WHERE entity IS NOT NULL""")
    return [str(r[0]) for r in (await session.exec(sql)).all()]  # type: ignore[call-overload]


async def get_entry(session: AsyncSession, entry_id: int) -> AuditLogPublic:
    entry = await session.get(AuditLog, entry_id)
    if entry is None:
        raise NotFound("Log entry")
    return AuditLogPublic.model_validate(entry)


async def browse(session: AsyncSession, filters: AuditFilters, *, per_page: int = 50, after: int | None = None,
                 before: int | None = None) -> AuditPage:
    """One page, newest first: the entries older than `after`, or the page just newer than
    `before`, or the first page."""
    await _statement_timeout(session, SEARCH_TIMEOUT_MS)
    stmt = await _filtered(session, filters, select(AuditLog))
    if stmt is None:
        return AuditPage([], None, None)
    if before is not None:
        stmt = stmt.where(col(AuditLog.id) > before).order_by(col(AuditLog.id).asc())
    else:
        if after is not None:
            stmt = stmt.where(col(AuditLog.id) < after)
        stmt = stmt.order_by(col(AuditLog.id).desc())
    rows = await _guarded(session, stmt.limit(per_page + 1))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if before is not None:
        rows.reverse()
        has_newer, has_older = more, bool(rows)
    else:
        has_older, has_newer = more, False
        if after is not None and rows:
            newer = await _filtered(session, filters, select(AuditLog.id))
            newer_row = await _guarded(session, newer.where(col(AuditLog.id) > rows[0].id).limit(1))  # type: ignore[union-attr]
            has_newer = bool(newer_row)
    entries = [AuditLogPublic.model_validate(r) for r in rows]
    return AuditPage(entries, entries[-1].id if has_older and entries else None,
                     entries[0].id if has_newer and entries else None)


async def export_too_large(session: AsyncSession, filters: AuditFilters, limit: int = EXPORT_MAX_ROWS) -> bool:
    """Whether more than `limit` entries match (reads at most limit + 1 index entries)."""
    await _statement_timeout(session, EXPORT_TIMEOUT_MS)
    stmt = await _filtered(session, filters, select(AuditLog.id))
    if stmt is None:
        return False
    return bool(await _guarded(session, stmt.order_by(col(AuditLog.id).desc()).offset(limit).limit(1)))


async def export_entries(session: AsyncSession, filters: AuditFilters, limit: int = EXPORT_MAX_ROWS,
                         chunk: int = EXPORT_CHUNK) -> AsyncIterator[list[AuditLogPublic]]:
    """Every matching entry (at most `limit`), newest first, in chunks from a server-side
    cursor so memory stays flat. The caller logs the export (`record`) in the same transaction."""
    await _statement_timeout(session, EXPORT_TIMEOUT_MS)
    stmt = await _filtered(session, filters, select(AuditLog))
    if stmt is None:
        return
    stmt = stmt.order_by(col(AuditLog.id).desc()).limit(limit).execution_options(yield_per=chunk)
    try:
        result = await session.stream(stmt)
        async for partition in result.partitions(chunk):
            yield [AuditLogPublic.model_validate(r[0]) for r in partition]
    except DBAPIError as exc:
        _raise_if_cancelled(exc)
        raise


async def _filtered(session: AsyncSession, filters: AuditFilters, stmt: Any) -> Any | None:
    """`stmt` narrowed by the filters, or None when nothing can match."""
    if filters.actor_ids is not None:
        if not filters.actor_ids and not filters.actor_name:
            return None
        if filters.actor_ids:
            stmt = stmt.where(col(AuditLog.actor_id).in_(filters.actor_ids))
        else:
            stmt = stmt.where(AuditLog.actor_name == filters.actor_name)
    elif filters.actor_name:
        stmt = stmt.where(AuditLog.actor_name == filters.actor_name)
    if filters.actions:
        stmt = stmt.where(col(AuditLog.action).in_(filters.actions))
    if filters.entity:
        stmt = stmt.where(AuditLog.entity == filters.entity)
    if filters.entity_id:
        if not filters.entity:  # the index leads with the type: name every type so it is still used
            stmt = stmt.where(col(AuditLog.entity).in_(await entity_types(session)))
        stmt = stmt.where(AuditLog.entity_id == filters.entity_id)
    if filters.at_from is not None:
        low = await _first_id_at(session, filters.at_from - CLOCK_SKEW)
        if low is None:
            return None
        stmt = stmt.where(col(AuditLog.id) >= low, col(AuditLog.at) >= filters.at_from)
    if filters.at_to is not None:
        high = await _first_id_at(session, filters.at_to + CLOCK_SKEW)
        if high is not None:
            stmt = stmt.where(col(AuditLog.id) < high)
        stmt = stmt.where(col(AuditLog.at) < filters.at_to)
    if filters.text:
        pattern = f"%{_escape_like(filters.text.strip())}%"
        searched = sa.func.concat_ws(" ", col(AuditLog.entity_id), col(AuditLog.actor_name), col(AuditLog.ip),
                                     sa.cast(col(AuditLog.before), sa.Text), sa.cast(col(AuditLog.after), sa.Text))
        stmt = stmt.where(searched.ilike(pattern, escape="\\"))
    return stmt


# Binary search for the first id written at or after :moment, in one statement (one round trip):
# invariant: every id below `lo` is older than :moment, and the first id >= `hi` is not.
_FIRST_ID_AT = sa.text("""
    WITH RECURSIVE search(lo, hi) AS (
        SELECT b.lo, b.hi FROM (SELECT min(id) AS lo, max(id) AS hi FROM audit_log) AS b
        WHERE b.hi IS NOT NULL AND (SELECT at FROM audit_log WHERE id = b.hi) >= :moment
        UNION ALL
        SELECT CASE WHEN p.at >= :moment THEN s.lo ELSE p.id + 1 END,
               CASE WHEN p.at >= :moment THEN (s.lo + s.hi) / 2 ELSE s.hi END
        FROM search AS s
        CROSS JOIN LATERAL (SELECT a.id, a.at FROM audit_log AS a WHERE a.id >= (s.lo + s.hi) / 2
                            ORDER BY a.id LIMIT 1) AS p
        WHERE s.lo < s.hi)
    SELECT (SELECT a.id FROM audit_log AS a WHERE a.id >= s.lo ORDER BY a.id LIMIT 1)
    FROM search AS s WHERE s.lo >= s.hi""")


async def _first_id_at(session: AsyncSession, moment: datetime) -> int | None:
    """The smallest id written at or after `moment` (None: every entry is older), by binary
    search on the primary key: ~40 index probes in one statement, whatever the size of the log."""
    found = (await session.exec(_FIRST_ID_AT.bindparams(moment=moment))).first()  # type: ignore[call-overload]
    return int(found[0]) if found and found[0] is not None else None


async def _statement_timeout(session: AsyncSession, milliseconds: int) -> None:
    await session.exec(sa.text(f"SET LOCAL statement_timeout = {int(milliseconds)}"))  # type: ignore[call-overload]


async def _guarded(session: AsyncSession, stmt: Any) -> list[Any]:
    try:
        return list((await session.exec(stmt)).all())
    except DBAPIError as exc:
        _raise_if_cancelled(exc)
        raise


def _raise_if_cancelled(exc: DBAPIError) -> None:
    if isinstance(exc.orig, psycopg.errors.QueryCanceled):
        raise SearchTooSlow() from exc


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
