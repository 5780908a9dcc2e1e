"""Ticket lists for people (CRM-03, CRM-11, CRM-34…36): keyset pages and rows for Excel exports.

Which tickets a list shows, and how personal data is masked, is decided by
`tickets.visible_tickets` and `tickets.mask_pii`, the same as the API's list. Pages are keyset
pages in a stable order (id descending): a deep page costs what the first one does, and a
ticket opened meanwhile does not shift the rows of the page being read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Area, OrgUnit, TicketField
from core.models.tickets import Channel, Ticket, TicketStatus
from core.services import audit
from core.services.actor import Actor
from core.services.tickets import TicketFilters, mask_pii, visible_tickets

COUNT_CAP = 10_000  # "more than 10,000" is all a person needs to know; counting further costs time
EXPORT_MAX_ROWS = 200_000
EXPORT_CHUNK = 2_000


@dataclass(frozen=True)
class TicketRow:
    """One line of a ticket list or export, personal data already masked where it must be."""

    id: int
    code: str
    created_at: datetime
    channel: Channel
    status: TicketStatus
    citizen_name: str | None
    citizen_phone: str | None
    citizen_id_number: str | None
    field_name: str | None
    area_name: str | None
    unit_name: str | None
    address: str | None
    description: str
    due_at: datetime | None
    overdue: bool
    closed_at: datetime | None


@dataclass(frozen=True)
class KeysetPage:
    rows: list[TicketRow]
    total: int  # at most COUNT_CAP
    total_capped: bool  # there are more than `total`
    next_after: int | None  # pass as `after` for the next (older) page
    prev_before: int | None  # pass as `before` for the previous (newer) page


def _row_select():
    return (
        select(Ticket.id, Ticket.code, Ticket.created_at, Ticket.channel, Ticket.status, Ticket.citizen_name,
               Ticket.citizen_phone, Ticket.citizen_id_number, col(TicketField.name).label("field_name"),
               col(Area.name).label("area_name"), col(OrgUnit.name).label("unit_name"), Ticket.address,
               Ticket.description, Ticket.due_at, Ticket.overdue, Ticket.closed_at)
        .select_from(Ticket)
        .outerjoin(TicketField, col(TicketField.id) == col(Ticket.field_id))
        .outerjoin(Area, col(Area.id) == col(Ticket.area_id))
        .outerjoin(OrgUnit, col(OrgUnit.id) == col(Ticket.current_unit_id))
    )


def _to_row(raw: Any, can_see_pii: bool) -> TicketRow:
    data = dict(raw._mapping)
    if not can_see_pii:
        data["citizen_phone"], data["citizen_id_number"] = mask_pii(data["citizen_phone"], data["citizen_id_number"])
    data["channel"], data["status"] = Channel(data["channel"]), TicketStatus(data["status"])
    return TicketRow(**data)


async def count_capped(session: AsyncSession, actor: Actor, filters: TicketFilters, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many tickets match, counted up to `cap` (and whether there are more)."""
    limited = visible_tickets(actor, filters, select(Ticket.id)).limit(cap + 1).subquery()
    n = (await session.exec(select(func.count()).select_from(limited))).one()
    return min(n, cap), n > cap


async def ticket_page(session: AsyncSession, actor: Actor, filters: TicketFilters, can_see_pii: bool, *,
                      per_page: int = 50, after: int | None = None, before: int | None = None) -> KeysetPage:
    """One page, newest first: the tickets older than `after`, or the page just newer than
    `before`, or the first page. Reading unmasked personal data is logged, as in the API."""
    stmt = visible_tickets(actor, filters, _row_select())
    if before is not None:
        stmt = stmt.where(col(Ticket.id) > before).order_by(col(Ticket.id).asc())
    else:
        if after is not None:
            stmt = stmt.where(col(Ticket.id) < after)
        stmt = stmt.order_by(col(Ticket.id).desc())
    fetched = list((await session.exec(stmt.limit(per_page + 1))).all())
    more = len(fetched) > per_page
    fetched = fetched[:per_page]
    if before is not None:
        fetched.reverse()
    rows = [_to_row(r, can_see_pii) for r in fetched]
    if after is None and before is None and not more:
        total, capped = len(rows), False  # the whole list fits on its first page: no count to run
    else:
        total, capped = await count_capped(session, actor, filters)
    if before is not None:  # stepped back: older rows exist (at least `before` itself)
        has_newer, has_older = more, bool(rows)
    else:
        has_older, has_newer = more, False
        if after is not None and rows:
            newer = visible_tickets(actor, filters, select(Ticket.id)).where(col(Ticket.id) > rows[0].id).limit(1)
            has_newer = (await session.exec(newer)).first() is not None
    if can_see_pii and rows:
        await audit.record(session, actor, "pii.list", "ticket", None, after={"codes": [r.code for r in rows]})
    return KeysetPage(rows, total, capped, rows[-1].id if has_older else None, rows[0].id if has_newer else None)


async def export_count(session: AsyncSession, actor: Actor, filters: TicketFilters, codes: Sequence[str] = ()) -> int:
    stmt = visible_tickets(actor, filters, select(func.count()).select_from(Ticket))
    if codes:
        stmt = stmt.where(col(Ticket.code).in_(list(codes)))
    return int((await session.exec(stmt)).one())


async def export_rows(session: AsyncSession, actor: Actor, filters: TicketFilters, can_see_pii: bool,
                      codes: Sequence[str] = (), chunk: int = EXPORT_CHUNK) -> AsyncIterator[list[TicketRow]]:
    """Every matching ticket (only `codes` when given: the rows a person selected), newest first,
    in chunks from a server-side cursor so memory stays flat however many there are.
    The caller logs the export (`log_export`) in the same transaction."""
    stmt = visible_tickets(actor, filters, _row_select()).order_by(col(Ticket.id).desc())
    if codes:
        stmt = stmt.where(col(Ticket.code).in_(list(codes)))
    result = await session.stream(stmt.limit(EXPORT_MAX_ROWS).execution_options(yield_per=chunk))
    async for partition in result.partitions(chunk):
        yield [_to_row(r, can_see_pii) for r in partition]


async def log_export(session: AsyncSession, actor: Actor, filters: TicketFilters, rows: int, can_see_pii: bool,
                     selected: int = 0) -> None:
    """Exports are written to the audit log (with whether personal data left unmasked)."""
    described = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in vars(filters).items() if v not in (None, ())}
    described["statuses"] = [s.value for s in filters.statuses] if filters.statuses else None
    await audit.record(session, actor, "tickets.export", "ticket", None,
                       after={"rows": rows, "selected": selected, "pii": can_see_pii, "filters": described})

