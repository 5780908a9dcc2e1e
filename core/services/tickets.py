"""`open_ticket`, the one entry point of every channel, and reading tickets with unit scoping
and personal-data masking (Law 91/2025/QH15: mask for roles that do not need it, log access)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import Scope
from core.errors import NotFound, TicketNotEditable, ValidationFailed
from core.models import Area, TicketField
from core.models.base import utcnow
from core.models.tickets import (
    Channel,
    Ticket,
    TicketCounter,
    TicketCreate,
    TicketEdit,
    TicketEvent,
    TicketEventNode,
    TicketEventPublic,
    TicketPublic,
    TicketStatus,
)
from core.services import audit
from core.services.actor import Actor
from core.services.crud import Page, PageResult, paged
from core.services.scoping import units_visible

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CODE_PATTERN = re.compile(r"1022-\d{4}-\d{6}")


async def next_code(session: AsyncSession, now: datetime | None = None) -> str:
    """`1022-YYYY-NNNNNN`, numbered per local year by one atomic upsert."""
    year = (now or utcnow()).astimezone(LOCAL_TZ).year
    table = TicketCounter.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(year=year, last=1).on_conflict_do_update(
        index_elements=[table.c.year], set_={"last": table.c.last + 1}).returning(table.c.last)
    number = (await session.exec(stmt)).scalar_one()  # type: ignore[call-overload]
    return f"1022-{year}-{number:06d}"


async def record_event(session: AsyncSession, ticket_id: int, action: str, dedupe_key: str, *,
                       actor: Actor | None = None, unit_id: int | None = None, note: str | None = None,
                       data: dict | None = None, parent_id: int | None = None) -> int | None:
    """Append a progress event once: a retry with the same `dedupe_key` writes nothing.
    Returns the new event's id, or None when it already existed."""
    table = TicketEvent.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(
        ticket_id=ticket_id, action=action, dedupe_key=dedupe_key, actor_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else None, unit_id=unit_id, note=note, data=data, parent_id=parent_id,
    ).on_conflict_do_nothing(constraint="uq_ticket_event_dedupe").returning(table.c.id)
    return (await session.exec(stmt)).scalar_one_or_none()  # type: ignore[call-overload]


async def _check_references(session: AsyncSession, data: TicketCreate) -> None:
    problems = []
    if data.field_id is not None:
        field = await session.get(TicketField, data.field_id)
        if field is None or not field.active:
            problems.append({"field": "field_id", "message": "unknown or inactive field"})
    if data.area_id is not None and await session.get(Area, data.area_id) is None:
        problems.append({"field": "area_id", "message": "unknown area"})
    if (data.latitude is None) != (data.longitude is None):
        problems.append({"field": "latitude", "message": "give both latitude and longitude, or neither"})
    if problems:
        raise ValidationFailed(details=problems)


async def open_ticket(session: AsyncSession, actor: Actor, data: TicketCreate, idempotency_key: str,
                      workflow_id_prefix: str = "ticket-") -> tuple[Ticket, bool]:
    """Create a ticket, or return the one this idempotency key already created (a retried
    request never makes two tickets). Returns (ticket, created)."""
    existing = (await session.exec(select(Ticket).where(Ticket.idempotency_key == idempotency_key))).first()
    if existing is not None:
        return existing, False
    await _check_references(session, data)
    try:
        async with session.begin_nested():
            ticket = Ticket(**data.model_dump(), idempotency_key=idempotency_key, code=await next_code(session),
                            created_by_id=actor.user_id, status=TicketStatus.new)
            session.add(ticket)
            await session.flush()
    except sa.exc.IntegrityError:
        # A concurrent request with the same key won the race: answer with its ticket.
        existing = (await session.exec(select(Ticket).where(Ticket.idempotency_key == idempotency_key))).one()
        return existing, False
    ticket.workflow_id = f"{workflow_id_prefix}{ticket.code}"
    await record_event(session, ticket.id, "received", "received", actor=actor,  # type: ignore[arg-type]
                       note=f"{data.channel.value}", data={"channel": data.channel.value, "source_ref": data.source_ref})
    return ticket, True


async def edit_new_ticket(session: AsyncSession, actor: Actor, code: str, data: TicketEdit,
                          can_see_pii: bool) -> Ticket:
    """Correct a ticket the desk has not dispatched yet (CRM-31). The ticket row is locked so
    a dispatch racing this edit waits; a dispatched ticket is refused (409). Someone who sees
    personal data masked cannot change it (the form showed them the mask, not the value).
    The progress gets an `edited` event naming the fields; the audit log keeps before/after
    with personal data masked."""
    ticket = await find_ticket(session, actor, code)
    ticket = await ticket_by_code(session, ticket.code, lock=True)
    if ticket.status != TicketStatus.new or ticket.current_unit_id is not None:
        raise TicketNotEditable(code=ticket.code)
    changes = data.model_dump(exclude_unset=True)
    if not can_see_pii:
        for name in MASKED_FIELDS:
            changes.pop(name, None)
    changed = {name: value for name, value in changes.items() if getattr(ticket, name) != value}
    if not changed:
        return ticket
    merged = TicketCreate.model_validate({**{n: getattr(ticket, n) for n in ("channel", "description", "field_id",
                                                                              "area_id", "latitude", "longitude")},
                                          **changed})
    await _check_references(session, merged)
    before = {name: getattr(ticket, name) for name in changed}
    for name, value in changed.items():
        setattr(ticket, name, value)
    ticket.updated_at = utcnow()
    fields = sorted(changed)
    await record_event(session, ticket.id, "edited", f"edited:{utcnow().isoformat()}", actor=actor,  # type: ignore[arg-type]
                       data={"fields": fields})
    await audit.record(session, actor, "update", "ticket", ticket.code, before=_masked(before), after=_masked(changed))
    await session.flush()
    return ticket


def _masked(values: dict) -> dict:
    return {name: mask(value) if name in MASKED_FIELDS else value for name, value in values.items()}


# ---- reading ----

MASKED_FIELDS = ("citizen_phone", "citizen_id_number")


def mask(value: str | None, keep_start: int = 3, keep_end: int = 2) -> str | None:
    if not value or len(value) <= keep_start + keep_end:
        return value
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def to_public(ticket: Ticket, can_see_pii: bool) -> TicketPublic:
    out = TicketPublic.model_validate(ticket)
    if not can_see_pii:
        out.citizen_phone, out.citizen_id_number = mask_pii(out.citizen_phone, out.citizen_id_number)
    return out


def mask_pii(phone: str | None, id_number: str | None) -> tuple[str | None, str | None]:
    """The citizen's phone and ID number as roles without `pii` see them (lists, exports, detail)."""
    return mask(phone), mask(id_number, 2, 2)


def _scoped(stmt, actor: Actor):  # noqa: ANN001, ANN202
    if actor.scope is Scope.own:
        return stmt.where(Ticket.created_by_id == actor.user_id)
    visible = units_visible(actor)
    return stmt if visible is None else stmt.where(col(Ticket.current_unit_id).in_(visible))


async def ticket_by_code(session: AsyncSession, code: str, *, lock: bool = False) -> Ticket:
    """The ticket with this code, unscoped (the engine's operators); `lock` takes its row lock
    (SELECT … FOR UPDATE) for read-modify-write steps of the life cycle."""
    stmt = select(Ticket).where(Ticket.code == code)
    ticket = (await session.exec(stmt.with_for_update() if lock else stmt)).first()
    if ticket is None:
        raise NotFound("Ticket")
    return ticket


async def find_ticket(session: AsyncSession, actor: Actor, code: str) -> Ticket:
    """The ticket with this code if the actor's scope reaches it; another unit's is NotFound."""
    ticket = (await session.exec(_scoped(select(Ticket).where(Ticket.code == code), actor))).first()
    if ticket is None:
        raise NotFound("Ticket")
    return ticket


async def get_ticket(session: AsyncSession, actor: Actor, code: str, can_see_pii: bool) -> TicketPublic:
    ticket = await find_ticket(session, actor, code)
    if can_see_pii and (ticket.citizen_phone or ticket.citizen_id_number):
        await audit.record(session, actor, "pii.read", "ticket", ticket.code)
    return to_public(ticket, can_see_pii)


@dataclass(frozen=True)
class TicketFilters:
    """What a ticket list may be narrowed by (the API's list, the UI lists and their exports).
    Dates are local (Asia/Ho_Chi_Minh) calendar days, both ends included."""

    q: str | None = None
    statuses: tuple[TicketStatus, ...] = ()
    field_id: int | None = None
    area_id: int | None = None
    unit_id: int | None = None
    channel: Channel | None = None
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool | None = None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ)


_PHONE_QUERY = re.compile(r"\+?[\d\s.\-()]{6,20}")


def phone_digits(q: str) -> str | None:
    """The digits of a query that is (part of) a phone number, in the national form tickets store
    phones in ('+84 912 345 678' -> '0912345678'); None for any other query."""
    if not _PHONE_QUERY.fullmatch(q):
        return None
    digits = re.sub(r"\D", "", q)
    if q.lstrip().startswith("+84") or (digits.startswith("84") and len(digits) in (11, 12)):
        digits = "0" + digits[2:]
    return digits if len(digits) >= 4 else None


def visible_tickets(actor: Actor, filters: TicketFilters, stmt=None):
    """`stmt` (default: every ticket column) narrowed to the actor's scope and the filters: the
    one place that decides which tickets a list shows."""
    stmt = _scoped(select(Ticket) if stmt is None else stmt, actor)
    q = (filters.q or "").strip()
    if CODE_PATTERN.fullmatch(q):  # a whole ticket code: the unique index answers at once
        stmt = stmt.where(Ticket.code == q)
    elif (digits := phone_digits(q)) is not None:  # "+84 912 345 678", "0912.345" -> the stored national form
        stmt = stmt.where(or_(col(Ticket.citizen_phone).like(f"%{digits}%"), col(Ticket.code).like(f"%{q}%")))
    elif q:
        like = f"%{q}%"
        stmt = stmt.where(or_(col(Ticket.code).ilike(like), col(Ticket.description).ilike(like),
                              col(Ticket.citizen_name).ilike(like), col(Ticket.citizen_phone).like(like),
                              col(Ticket.address).ilike(like)))
    if len(filters.statuses) == 1:
        stmt = stmt.where(Ticket.status == filters.statuses[0])
    elif filters.statuses:
        stmt = stmt.where(col(Ticket.status).in_(filters.statuses))
    for column, value in ((Ticket.field_id, filters.field_id), (Ticket.area_id, filters.area_id),
                          (Ticket.current_unit_id, filters.unit_id), (Ticket.channel, filters.channel),
                          (Ticket.overdue, filters.overdue)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.created_from is not None:
        stmt = stmt.where(col(Ticket.created_at) >= _local_midnight(filters.created_from))
    if filters.created_to is not None:
        stmt = stmt.where(col(Ticket.created_at) < _local_midnight(filters.created_to + timedelta(days=1)))
    return stmt


async def list_tickets(session: AsyncSession, actor: Actor, page: Page, can_see_pii: bool, *, q: str | None = None,
                       status: TicketStatus | None = None, field_id: int | None = None, area_id: int | None = None,
                       unit_id: int | None = None, overdue: bool | None = None) -> PageResult[TicketPublic]:
    filters = TicketFilters(q=q, statuses=(status,) if status else (), field_id=field_id, area_id=area_id,
                            unit_id=unit_id, overdue=overdue)
    stmt = visible_tickets(actor, filters).order_by(col(Ticket.id).desc())
    total, rows = await paged(session, stmt, page)
    if can_see_pii and rows:
        await audit.record(session, actor, "pii.list", "ticket", None, after={"codes": [t.code for t in rows]})
    return PageResult(total, page.page, page.per_page, [to_public(t, can_see_pii) for t in rows])


async def progress(session: AsyncSession, actor: Actor, code: str) -> tuple[list[TicketEventPublic], list[TicketEventNode]]:
    """The processing history (CRM-04) as a list (time order) and as a tree (each step under
    the dispatch or assignment it belongs to)."""
    ticket = await find_ticket(session, actor, code)
    events = (await session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                 .order_by(col(TicketEvent.at), col(TicketEvent.id)))).all()
    flat = [TicketEventPublic.model_validate(e) for e in events]
    nodes = {e.id: TicketEventNode(**e.model_dump()) for e in flat}
    roots: list[TicketEventNode] = []
    for event in flat:
        parent = nodes.get(event.parent_id) if event.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[event.id])
    return flat, roots
