"""The message log (SMS-05…07, SMS-09, CRM-09): recording every SMS and Zalo message in and out
idempotently, moving outbound statuses forward from provider answers, and reading the history
with a total and pages at millions of rows.

Writes are idempotent by construction, so webhooks and activities may run them more than once:
an inbound message is one row per (provider, provider message id) and an outbound one is one row
per idempotency key (INSERT … ON CONFLICT DO NOTHING against partial unique indexes). Outbound
statuses only move forward — queued < sent < delivered, and failed is final — in one UPDATE
whose WHERE names the statuses it may leave, so a late or repeated callback changes nothing.

The history's total (SMS-06) is exact up to COUNT_CAP (10,000); beyond that, or when the
planner already expects many more rows than that, it is the planner's estimate and says so
(`total_is_estimate`): counting 5 million rows exactly for a "page 1 of N" costs seconds, and
nobody pages that far. A person's history (a phone filter) is one index range and is always
counted. Pages are offset pages up to MAX_OFFSET rows deep; deeper, `after` (the id of the last
row seen) continues on the (created_at, id) keyset at the cost of the first page. The counting,
estimating and timeouts are shared with the call history: core/services/big_pages.py.

Personal data: the citizen's address (phone number or Zalo user id) is masked for roles without
`pii` read, and every unmasked read is written to the audit log, as for tickets."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import Scope
from core.errors import HotlineError, NotFound, ValidationFailed
from core.models.base import utcnow
from core.models.messages import (
    UNHANDLED_INBOUND,
    Message,
    MessageChannel,
    MessageDirection,
    MessagePublic,
    MessageStatus,
)
from core.models.tickets import Ticket
from core.ports import DeliveryReport, InboundMessage, SendResult
from core.services import audit, big_pages
from core.services.actor import Actor
from core.services.big_pages import COUNT_CAP, MAX_OFFSET, SEARCH_TIMEOUT_MS
from core.services.crud import Page
from core.services.scoping import units_visible
from core.services.tickets import LOCAL_TZ, mask
from core.types import normalize_phone

# Outbound statuses in the order they may be reached; delivered and failed are both final.
_RANK = {MessageStatus.queued: 1, MessageStatus.sent: 2, MessageStatus.delivered: 3, MessageStatus.failed: 3}
_PHONE_LIKE = re.compile(r"\+?[\d\s.\-()]{6,30}")


class MessageSearchTooSlow(HotlineError):
    status_code = 422
    error_id = "message_search_too_slow"
    message = "The search took too long. Narrow the date range or add a phone number, then try again."


class MessageAlreadyLinked(HotlineError):
    status_code = 409
    error_id = "message_already_linked"
    message = "This message is already linked to another ticket."


class ReportOutcome(StrEnum):
    applied = "applied"  # the status moved forward
    stale = "stale"  # the message is known but already at or past this status: nothing changed
    unknown = "unknown"  # no outbound message has this provider id (yet): nothing stored


@dataclass(frozen=True)
class MessageFilters:
    """What the history may be narrowed by. `address` in the stored form (`normalize_address`);
    dates are local (Asia/Ho_Chi_Minh) calendar days, both ends included."""

    address: str | None = None
    channel: MessageChannel | None = None
    direction: MessageDirection | None = None
    status: MessageStatus | None = None
    ticket_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class MessagePage:
    total: int
    total_is_estimate: bool
    page: int
    per_page: int
    pages: int
    items: list[MessagePublic]
    next_after: int | None  # the id to pass as `after` for the next (older) page; None on the last


def normalize_address(text: str) -> str:
    """A phone number as people type it ('+84 912 345 678', '0912.345.678') in the stored national
    form; other numbers without their separators (a foreign number, a Zalo user id); anything
    else as typed, trimmed."""
    text = text.strip()
    try:
        return normalize_phone(text)
    except ValueError:
        pass
    if _PHONE_LIKE.fullmatch(text):
        return re.sub(r"[\s.\-()]", "", text)
    return text


# ---- writing ----

def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def _table() -> sa.Table:
    return Message.__table__  # type: ignore[attr-defined,no-any-return]


async def record_inbound(session: AsyncSession, message: InboundMessage,
                         channel: MessageChannel | str) -> tuple[Message, bool]:
    """Store a verified inbound message once per (provider, provider message id); a retried
    webhook gets the stored row back. Returns (message, created)."""
    table = _table()
    stmt = insert(Message).values(
        channel=MessageChannel(channel).value, direction=MessageDirection.inbound.value, provider=message.provider[:40],
        provider_message_id=message.provider_message_id[:128], address=message.sender[:64],
        our_address=_cut(message.recipient, 64), sender_name=_cut(message.sender_name, 255),
        body=message.body.replace("\x00", ""), status=MessageStatus.received.value, status_at=sa.func.now(),
    ).on_conflict_do_nothing(index_elements=[table.c.provider, table.c.provider_message_id],
                             index_where=table.c.provider_message_id.isnot(None)).returning(Message)
    created = (await session.exec(stmt)).scalar_one_or_none()  # type: ignore[call-overload]
    if created is not None:
        return created, True
    existing = (await session.exec(select(Message).where(
        Message.provider == message.provider[:40], Message.provider_message_id == message.provider_message_id[:128]))).one()
    return existing, False


async def record_outbound(session: AsyncSession, key: str, channel: MessageChannel | str, address: str, body: str, *,
                          provider: str | None = None, our_address: str | None = None, segments: int | None = None,
                          encoding: str | None = None, ticket_id: int | None = None) -> tuple[Message, bool]:
    """Record a message we are about to send (status queued), once per idempotency key: the
    same key returns the row recorded first, whatever the other arguments say now.
    `segments`/`encoding` come from the SMS segment counter of the gateway layer."""
    table = _table()
    stmt = insert(Message).values(
        channel=MessageChannel(channel).value, direction=MessageDirection.outbound.value, provider=provider,
        idempotency_key=key[:160], address=address[:64], our_address=_cut(our_address, 64), body=body.replace("\x00", ""),
        segments=segments, encoding=encoding, status=MessageStatus.queued.value, status_at=sa.func.now(),
        ticket_id=ticket_id,
    ).on_conflict_do_nothing(index_elements=[table.c.idempotency_key],
                             index_where=table.c.idempotency_key.isnot(None)).returning(Message)
    created = (await session.exec(stmt)).scalar_one_or_none()  # type: ignore[call-overload]
    if created is not None:
        return created, True
    return (await session.exec(select(Message).where(Message.idempotency_key == key[:160]))).one(), False


def _status(value: str) -> MessageStatus:
    status = MessageStatus(value)
    if status not in _RANK:
        raise ValueError(f"not an outbound status: {value!r}")
    return status


async def _advance(session: AsyncSession, where: list[Any], status: MessageStatus, error_code: str | None = None,
                   error_message: str | None = None) -> Message | None:
    """Move the outbound message matching `where` to `status` if that is forward; None otherwise."""
    table = _table()
    values: dict[str, Any] = {"status": status.value, "status_at": sa.func.now()}
    if status in (MessageStatus.sent, MessageStatus.delivered):
        values["sent_at"] = sa.func.coalesce(table.c.sent_at, sa.func.now())
    if status is MessageStatus.delivered:
        values["delivered_at"] = sa.func.now()
    if status is MessageStatus.failed:
        values["error_code"] = error_code[:40] if error_code else None
        values["error_message"] = error_message[:500] if error_message else None
    earlier = [s.value for s, rank in _RANK.items() if rank < _RANK[status]]
    stmt = (sa.update(Message).where(*where, table.c.direction == MessageDirection.outbound.value,
                                     table.c.status.in_(earlier))
            .values(**values).returning(Message).execution_options(synchronize_session=False, populate_existing=True))
    return (await session.exec(stmt)).scalar_one_or_none()  # type: ignore[call-overload,no-any-return]


async def mark_sent(session: AsyncSession, key: str, result: SendResult) -> Message | None:
    """The provider took the message with this key: remember its id (so its callbacks find the
    row) and move the status forward to what it said. None when no message has this key."""
    table = _table()
    found = (await session.exec(sa.update(Message).where(table.c.idempotency_key == key[:160]).values(  # type: ignore[call-overload]
        provider=result.provider[:40],
        provider_message_id=sa.func.coalesce(table.c.provider_message_id, result.provider_message_id[:128]),
    ).returning(table.c.id).execution_options(synchronize_session=False))).scalar_one_or_none()
    if found is None:
        return None
    moved = await _advance(session, [table.c.id == found], _status(result.status))
    return moved or await session.get(Message, found, populate_existing=True)


async def mark_failed(session: AsyncSession, key: str, error_code: str | None, error_message: str | None) -> Message | None:
    """The provider refused the message for good (a permanent send error): failed, with why."""
    return await _advance(session, [_table().c.idempotency_key == key[:160]], MessageStatus.failed, error_code,
                          error_message)


async def apply_report(session: AsyncSession, report: DeliveryReport) -> tuple[ReportOutcome, Message | None]:
    """A provider's status callback. The status only moves forward (a late `sent` after
    `delivered`, a repeated callback, anything after `failed` change nothing: `stale`). A
    provider id we do not know is not stored (`unknown`): it is another system's message, or a
    callback that outran `mark_sent`, whose own result still sets the status."""
    table = _table()
    where = [table.c.provider == report.provider[:40], table.c.provider_message_id == report.provider_message_id[:128]]
    moved = await _advance(session, where, _status(report.status), report.error_code, report.error_message)
    if moved is not None:
        return ReportOutcome.applied, moved
    known = (await session.exec(select(Message).where(*where, Message.direction == MessageDirection.outbound))).first()
    return (ReportOutcome.stale, known) if known is not None else (ReportOutcome.unknown, None)


async def link_ticket(session: AsyncSession, actor: Actor, message_id: int, ticket_id: int) -> Message:
    """Link a message to the ticket created from it (or the one it is about); an inbound
    message then leaves the desk's inbox. Linking again to the same ticket changes nothing; to
    another ticket is refused (409)."""
    message = (await session.exec(select(Message).where(Message.id == message_id).with_for_update())).first()
    if message is None:
        raise NotFound("Message")
    if message.ticket_id == ticket_id:
        return message
    if message.ticket_id is not None:
        raise MessageAlreadyLinked()
    if await session.get(Ticket, ticket_id) is None:
        raise ValidationFailed(details=[{"field": "ticket_id", "message": f"{ticket_id} does not exist"}])
    message.ticket_id = ticket_id
    if message.direction == MessageDirection.inbound and message.handled_at is None:
        message.handled_at, message.handled_by_id = utcnow(), actor.user_id
    session.add(message)
    await audit.record(session, actor, "message.link", "message", message_id, after={"ticket_id": ticket_id})
    await session.flush()
    return message


async def zalo_user_of(session: AsyncSession, ticket_id: int) -> str | None:
    """The Zalo user who wrote to us about this ticket (the newest such message), to answer on
    Zalo; None if the ticket has no Zalo conversation."""
    return (await session.exec(select(Message.address).where(
        Message.ticket_id == ticket_id, Message.channel == MessageChannel.zalo,
        Message.direction == MessageDirection.inbound).order_by(col(Message.created_at).desc()).limit(1))).first()


async def mark_handled(session: AsyncSession, actor: Actor, message_id: int) -> Message:
    """Set an inbound message aside without a ticket (spam, a thank-you): it leaves the inbox."""
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None or message.direction != MessageDirection.inbound:
        raise NotFound("Message")
    if message.handled_at is None:
        message.handled_at, message.handled_by_id = utcnow(), actor.user_id
        session.add(message)
        await audit.record(session, actor, "message.dismiss", "message", message_id)
        await session.flush()
    return message


# ---- reading ----

def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ)


async def _scope(session: AsyncSession, actor: Actor) -> Any:
    """The condition of the messages the actor may read (None: all of them). The desk sees every
    message; a unit's people those linked to their unit's tickets. The unit ids are read first
    and given as values, so the planner sees how many tickets they hold (with a subquery on the
    unit path it guessed a handful and walked every message of the unit's tickets)."""
    if actor.scope is Scope.all:
        return None
    if actor.scope is Scope.unit:
        visible = units_visible(actor)
        unit_ids = list((await session.exec(visible)).all()) if visible is not None else []
        tickets = select(Ticket.id).where(col(Ticket.current_unit_id).in_(unit_ids))
        return col(Message.ticket_id).in_(tickets)
    return sa.false()


def _filtered(stmt: Any, scope: Any, filters: MessageFilters) -> Any:
    if scope is not None:
        stmt = stmt.where(scope)
    for column, value in ((Message.address, filters.address), (Message.ticket_id, filters.ticket_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    # the few values of these columns go in as literals: the planner then knows how common each is
    # and can use the partial index of failed messages (a generic plan with a parameter cannot)
    for column, value in ((Message.channel, filters.channel), (Message.direction, filters.direction),
                          (Message.status, filters.status)):
        if value is not None:
            stmt = stmt.where(column == sa.literal(str(value), sa.String, literal_execute=True))
    if filters.date_from is not None:
        stmt = stmt.where(col(Message.created_at) >= _local_midnight(filters.date_from))
    if filters.date_to is not None:
        stmt = stmt.where(col(Message.created_at) < _local_midnight(filters.date_to + timedelta(days=1)))
    return stmt


async def _public(session: AsyncSession, actor: Actor, rows: list[Message], can_see_pii: bool,
                  action: str = "pii.list") -> list[MessagePublic]:
    ticket_ids = sorted({m.ticket_id for m in rows if m.ticket_id is not None})
    codes = dict((await session.exec(select(Ticket.id, Ticket.code).where(col(Ticket.id).in_(ticket_ids)))).all()) \
        if ticket_ids else {}
    out = []
    for message in rows:
        item = MessagePublic.model_validate(message, update={"ticket_code": codes.get(message.ticket_id)})
        if not can_see_pii:
            item.address = mask(item.address) or item.address
        out.append(item)
    if can_see_pii and rows:
        await audit.record(session, actor, action, "message", rows[0].id if action == "pii.read" else None,
                           after=None if action == "pii.read" else {"ids": [m.id for m in rows]})
    return out


async def history(session: AsyncSession, actor: Actor, filters: MessageFilters, page: Page, can_see_pii: bool,
                  after: int | None = None) -> MessagePage:
    """One page of the history, newest first, with the total and the number of pages: page
    `page.page` by offset, or with `after` the page of messages older than that one.

    A unit's people read one ticket's or one person's messages at a time: browsing every message
    of a unit's tickets newest first has no index (the unit is on the ticket), and their work is
    the ticket in front of them."""
    if actor.scope is not Scope.all and filters.address is None and filters.ticket_id is None:
        raise ValidationFailed(details=[{"field": "phone", "message": "choose a ticket or a phone number"}])
    await big_pages.set_timeout(session, SEARCH_TIMEOUT_MS)
    scope = await _scope(session, actor)
    stmt = _filtered(select(Message), scope, filters)
    order = (col(Message.created_at).desc(), col(Message.id).desc())
    if after is not None:
        anchor = (await session.exec(select(Message.created_at).where(Message.id == after))).first()
        if anchor is None:
            raise ValidationFailed(details=[{"field": "after", "message": f"message {after} does not exist"}])
        stmt = stmt.where(sa.tuple_(col(Message.created_at), col(Message.id)) < sa.tuple_(sa.literal(anchor), sa.literal(after)))
        offset = 0
    else:
        offset = page.offset
        if offset > MAX_OFFSET:
            raise ValidationFailed(details=[{"field": "page", "message": f"pages deeper than {MAX_OFFSET} messages: "
                                             "continue with `after` (the last id of the page before) or narrow the filters"}])
    fetched = await big_pages.guarded(session, stmt.order_by(*order).offset(offset).limit(page.per_page + 1),
                                      MessageSearchTooSlow)
    more = len(fetched) > page.per_page
    rows = fetched[:page.per_page]
    # on the last offset page the total is known without counting
    total, estimated = await big_pages.page_total(
        session, _filtered(select(Message.id), scope, filters), rows, more, offset,
        one_person=filters.address is not None or filters.ticket_id is not None, keyset=after is not None)
    items = await _public(session, actor, rows, can_see_pii)
    return MessagePage(total, estimated, page.page, page.per_page, math.ceil(total / page.per_page), items,
                       rows[-1].id if more and rows else None)


async def inbound_queue(session: AsyncSession, actor: Actor, page: Page, can_see_pii: bool) -> MessagePage:
    """The desk's inbox: inbound messages not yet turned into a ticket nor set aside, oldest
    first (served by a partial index that holds only them). Waiting messages belong to no ticket
    yet, so only the desk (scope all) has any."""
    if actor.scope is not Scope.all:
        return MessagePage(0, False, page.page, page.per_page, 0, [], None)
    waiting = sa.text(UNHANDLED_INBOUND)  # literal: the partial index matches
    rows = await big_pages.guarded(session, select(Message).where(waiting).order_by(col(Message.created_at),
                                                                                    col(Message.id))
                                   .offset(page.offset).limit(page.per_page), MessageSearchTooSlow)
    counted = await big_pages.capped_count(session, select(Message.id).where(waiting), COUNT_CAP)
    total = COUNT_CAP if counted is None else min(counted, COUNT_CAP)
    estimated = counted is None or counted > COUNT_CAP
    items = await _public(session, actor, rows, can_see_pii)
    return MessagePage(total, estimated, page.page, page.per_page, math.ceil(total / page.per_page), items, None)


async def get_message(session: AsyncSession, actor: Actor, message_id: int, can_see_pii: bool) -> MessagePublic:
    """One message if the actor's scope reaches it (another unit's is NotFound)."""
    message = (await session.exec(_filtered(select(Message).where(Message.id == message_id),
                                            await _scope(session, actor), MessageFilters()))).first()
    if message is None:
        raise NotFound("Message")
    return (await _public(session, actor, [message], can_see_pii, action="pii.read"))[0]
