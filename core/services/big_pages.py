"""Pages with a total over tables of millions of rows (the message log, the call history).

A "page 1 of N" needs a total, and counting 5 million rows exactly costs seconds that nobody
needs: nobody pages that far. So the total is exact up to COUNT_CAP (10,000); beyond that, or
when the planner already expects many more rows than that, it is the planner's estimate and says
so (`is_estimate`). One person's rows (a phone number, a ticket) are one index range and are
counted exactly up to PERSON_COUNT_CAP. A count that takes longer than COUNT_TIMEOUT_MS gives
way to the estimate; a page query no index serves is cancelled after SEARCH_TIMEOUT_MS and
refused with the caller's own "search too slow" error instead of holding a connection.

Pages are offset pages up to MAX_OFFSET rows deep. On the last page the total is known without
counting (`page_total`)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import HotlineError

COUNT_CAP = 10_000
PERSON_COUNT_CAP = 100_000  # one phone number or one ticket: an index range, counted exactly this far
MAX_OFFSET = 10_000  # deeper than this, a history needs a keyset (`after`) or narrower filters
ESTIMATE_TRUSTED_ABOVE = 4 * COUNT_CAP  # the planner expects this many or more: do not count at all
SEARCH_TIMEOUT_MS = 5_000  # a filter no index serves is refused instead of holding a connection
COUNT_TIMEOUT_MS = 25  # a count that takes longer gives way to the estimate (cheap counts take < 5 ms)


async def set_timeout(session: AsyncSession, milliseconds: int) -> None:
    """The statement timeout for the rest of the transaction (SET LOCAL)."""
    await session.exec(sa.text(f"SET LOCAL statement_timeout = {int(milliseconds)}"))  # type: ignore[call-overload]


async def estimate(session: AsyncSession, stmt: Any) -> int:
    """The planner's row estimate for `stmt` (EXPLAIN, no rows read)."""
    conn = await session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    plan = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params)).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


async def capped_count(session: AsyncSession, stmt: Any, cap: int) -> int | None:
    """How many rows `stmt` has, counted up to cap + 1; None when that took too long. Leaves the
    transaction's statement timeout at SEARCH_TIMEOUT_MS."""
    counted = select(func.count()).select_from(stmt.limit(cap + 1).subquery())
    try:
        async with session.begin_nested():  # a cancelled count rolls back to here (and its timeout with it)
            await set_timeout(session, COUNT_TIMEOUT_MS)
            n = int((await session.exec(counted)).one())
            await set_timeout(session, SEARCH_TIMEOUT_MS)
    except DBAPIError as exc:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            return None
        raise
    return n


async def total(session: AsyncSession, ids: Any, one_person: bool) -> tuple[int, bool]:
    """(total, is_estimate) of the rows of `ids` (a SELECT of the key, without ORDER BY): exact
    up to the cap (COUNT_CAP, or PERSON_COUNT_CAP for one person's rows), else the planner's
    estimate."""
    guess = None if one_person else await estimate(session, ids)
    if guess is not None and guess >= ESTIMATE_TRUSTED_ABOVE:
        return guess, True
    cap = PERSON_COUNT_CAP if one_person else COUNT_CAP
    n = await capped_count(session, ids, cap)
    if n is not None and n <= cap:
        return n, False
    if guess is None:
        guess = await estimate(session, ids)
    return max(guess, n or 1), True


async def guarded(session: AsyncSession, stmt: Any, too_slow: type[HotlineError]) -> list[Any]:
    """The rows of `stmt`; a statement cancelled by the timeout is refused with `too_slow`."""
    try:
        return list((await session.exec(stmt)).all())
    except DBAPIError as exc:
        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            raise too_slow() from exc
        raise


async def page_total(session: AsyncSession, ids: Any, rows: list[Any], more: bool, offset: int, one_person: bool,
                     keyset: bool = False) -> tuple[int, bool]:
    """(total, is_estimate) for a page of `rows` read at `offset` (with one row more than the page
    asked for: `more`). The last page of an offset page tells the total without counting."""
    if not keyset and not more and (rows or offset == 0):
        return offset + len(rows), False
    return await total(session, ids, one_person)
