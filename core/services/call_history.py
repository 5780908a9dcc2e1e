"""The read side of the call center (issue 7): the call history with filters, a total and pages
(CC-28, CC-36, CC-38, CRM-08), the missed calls still waiting for a call-back (CRM-07, CC-29),
one call with its queue events, and where our copy of its recording is (CC-30).

The history is newest first on (started_at, id) (index ix_call_started_id; one person's calls on
ix_call_number_started). Its total is exact when that is cheap and the planner's estimate
otherwise, exactly as the message log's: core/services/big_pages.py. The missed calls are read
with the predicate of the partial index ix_call_missed, taken from the index itself so the two
cannot drift apart.

Scope: the desk (coordinators, agents, auditors) reads every call (`calls` read, scope all). A
role given `calls` read with a narrower scope reads only the calls it took itself: calls belong
to no unit.

Personal data: the citizen's number and caller-id name (and, for a call we placed, the number
dialled) are masked for roles without `pii` read, and every unmasked read is written to the
audit log (`pii.list` with the ids shown, `pii.read` for one call), as for messages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import Scope
from core.errors import HotlineError, NotFound, ValidationFailed
from core.models import User
from core.models.calls import CallDirection, CallRecord, CallState, Disposition, QueueEvent
from core.models.tickets import Ticket
from core.services import audit, big_pages
from core.services.actor import Actor
from core.services.big_pages import COUNT_CAP, MAX_OFFSET, SEARCH_TIMEOUT_MS
from core.services.calls import normalize_number
from core.services.crud import Page
from core.services.tickets import LOCAL_TZ, mask

PAGE_SIZES = (25, 50, 100)
RECORDINGS = "recordings"  # under the data directory; CallRecord.recording_file is relative to it

ANSWERED = (Disposition.answered, Disposition.transferred)
UNANSWERED = tuple(d for d in Disposition if d not in ANSWERED)
MISSED = (Disposition.abandoned, Disposition.timeout, Disposition.no_agent, Disposition.exit_key, Disposition.closed)


def _missed_predicate() -> str:
    """The WHERE of the partial index ix_call_missed, as the model declares it (the planner uses
    a partial index only for a query that states its predicate)."""
    for index in CallRecord.__table__.indexes:  # type: ignore[attr-defined]
        if index.name == "ix_call_missed":
            return str(index.dialect_options["postgresql"]["where"])
    raise RuntimeError("the call table has no ix_call_missed index")


MISSED_WHERE = _missed_predicate()


class CallSearchTooSlow(HotlineError):
    status_code = 422
    error_id = "call_search_too_slow"
    message = "The search took too long. Narrow the date range or add a phone number, then try again."


class Outcome(StrEnum):
    """Dispositions grouped as reports count them."""

    answered = "answered"  # answered, transferred
    unanswered = "unanswered"  # every other way a finished call ends


@dataclass(frozen=True)
class CallFilters:
    """What the history may be narrowed by. `number` in the stored form (`normalize_number`);
    dates are local (Asia/Ho_Chi_Minh) calendar days, both ends included."""

    number: str | None = None
    direction: CallDirection | None = None
    disposition: Disposition | None = None
    outcome: Outcome | None = None
    queue: str | None = None
    agent_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


class QueueEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    event: str
    queue: str | None
    agent: str | None
    agent_id: int | None
    data1: str | None
    data2: str | None
    data3: str | None


class CallPublic(BaseModel):
    """A call as the API and the pages show it (numbers masked without `pii` read)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    uniqueid: str
    direction: CallDirection
    citizen_number: str
    citizen_name: str | None
    dialed: str | None
    state: CallState
    disposition: Disposition | None
    hangup_by: str | None
    queue: str | None
    ivr_path: str | None
    agent_id: int | None
    agent_name: str | None = None
    extension: str | None
    started_at: datetime
    queued_at: datetime | None
    ring_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: float | None
    talk_seconds: float | None
    has_recording: bool = False
    recording_bytes: int | None
    transfer_to: str | None
    overflow_to: str | None
    ticket_id: int | None
    ticket_code: str | None = None
    callback_of_id: int | None
    called_back_at: datetime | None
    missed_count: int | None = None  # missed calls only: this number's missed calls not yet called back


class CallDetail(CallPublic):
    events: list[QueueEventPublic] = []


@dataclass(frozen=True)
class CallPage:
    total: int
    total_is_estimate: bool
    page: int
    per_page: int
    pages: int
    items: list[CallPublic]


def parse_number(text: str) -> str:
    """A number typed as people type it ('+84 912 345 678', '0912.345.678') in the stored form."""
    return normalize_number(text)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ)


def _literal(value: str) -> Any:
    # the few values of these columns go in as literals: the planner knows how common each is
    return sa.literal(str(value), sa.String, literal_execute=True)


def _scoped(stmt: Any, actor: Actor) -> Any:
    return stmt if actor.scope is Scope.all else stmt.where(CallRecord.agent_id == actor.user_id)


def _filtered(stmt: Any, filters: CallFilters) -> Any:
    if filters.number is not None:
        stmt = stmt.where(CallRecord.citizen_number == filters.number)
    if filters.direction is not None:
        stmt = stmt.where(col(CallRecord.direction) == _literal(filters.direction.value))
    if filters.disposition is not None:
        stmt = stmt.where(col(CallRecord.disposition) == _literal(filters.disposition.value))
    if filters.outcome is not None:
        group = ANSWERED if filters.outcome is Outcome.answered else UNANSWERED
        stmt = stmt.where(col(CallRecord.disposition).in_([_literal(d.value) for d in group]))
    if filters.queue is not None:
        stmt = stmt.where(CallRecord.queue == filters.queue)
    if filters.agent_id is not None:
        stmt = stmt.where(CallRecord.agent_id == filters.agent_id)
    if filters.date_from is not None:
        stmt = stmt.where(col(CallRecord.started_at) >= _local_midnight(filters.date_from))
    if filters.date_to is not None:
        stmt = stmt.where(col(CallRecord.started_at) < _local_midnight(filters.date_to + timedelta(days=1)))
    return stmt


def _masked(call: CallPublic) -> CallPublic:
    number = call.citizen_number
    call.citizen_number = mask(number) or number
    call.citizen_name = None  # a caller-id name is personal data too
    if call.dialed and (call.direction is CallDirection.outbound or call.dialed == number):
        call.dialed = mask(call.dialed) or call.dialed
    return call


async def _public(session: AsyncSession, actor: Actor, rows: list[CallRecord], can_see_pii: bool,
                  model: type[CallPublic] = CallPublic, action: str = "pii.list") -> list[Any]:
    ticket_ids = sorted({c.ticket_id for c in rows if c.ticket_id is not None})
    codes = dict((await session.exec(select(Ticket.id, Ticket.code).where(col(Ticket.id).in_(ticket_ids)))).all()) \
        if ticket_ids else {}
    agent_ids = sorted({c.agent_id for c in rows if c.agent_id is not None})
    names = dict((await session.exec(select(User.id, User.full_name).where(col(User.id).in_(agent_ids)))).all()) \
        if agent_ids else {}
    out = []
    for call in rows:
        item = model.model_validate(call)
        item.ticket_code, item.agent_name = codes.get(call.ticket_id), names.get(call.agent_id)
        item.has_recording = bool(call.recording_file)
        out.append(item if can_see_pii else _masked(item))
    if can_see_pii and rows:
        await audit.record(session, actor, action, "call", rows[0].id if action == "pii.read" else None,
                           after=None if action == "pii.read" else {"ids": [c.id for c in rows]})
    return out


async def history(session: AsyncSession, actor: Actor, filters: CallFilters, page: Page,
                  can_see_pii: bool) -> CallPage:
    """One page of the call history, newest first, with the total and the number of pages."""
    if page.offset > MAX_OFFSET:
        raise ValidationFailed(details=[{"field": "page", "message": "Pages deeper than {max} calls: narrow the "
                                         "filters (a phone number or the dates).", "params": {"max": MAX_OFFSET}}])
    await big_pages.set_timeout(session, SEARCH_TIMEOUT_MS)
    order = (col(CallRecord.started_at).desc(), col(CallRecord.id).desc())
    stmt = _filtered(_scoped(select(CallRecord), actor), filters).order_by(*order)
    fetched = await big_pages.guarded(session, stmt.offset(page.offset).limit(page.per_page + 1), CallSearchTooSlow)
    more = len(fetched) > page.per_page
    rows = fetched[:page.per_page]
    ids = _filtered(_scoped(select(CallRecord.id), actor), filters)
    total, estimated = await big_pages.page_total(session, ids, rows, more, page.offset,
                                                  one_person=filters.number is not None)
    items = await _public(session, actor, rows, can_see_pii)
    return CallPage(total, estimated, page.page, page.per_page, math.ceil(total / page.per_page), items)


async def missed(session: AsyncSession, actor: Actor, page: Page, can_see_pii: bool) -> CallPage:
    """Inbound calls nobody answered (abandoned, timed out, no agent, left with a key, closed)
    and not yet called back, newest first (the partial index ix_call_missed holds only them);
    each says how many such calls its number has made."""
    if page.offset > MAX_OFFSET:
        raise ValidationFailed(details=[{"field": "page", "message": "Pages deeper than {max} calls: narrow the "
                                         "filters (a phone number or the dates).", "params": {"max": MAX_OFFSET}}])
    await big_pages.set_timeout(session, SEARCH_TIMEOUT_MS)
    waiting = sa.text(MISSED_WHERE)  # literal: the partial index matches
    stmt = _scoped(select(CallRecord).where(waiting), actor)
    rows = await big_pages.guarded(session, stmt.order_by(col(CallRecord.started_at).desc(), col(CallRecord.id).desc())
                                   .offset(page.offset).limit(page.per_page), CallSearchTooSlow)
    counted = await big_pages.capped_count(session, _scoped(select(CallRecord.id).where(waiting), actor), COUNT_CAP)
    total = COUNT_CAP if counted is None else min(counted, COUNT_CAP)
    estimated = counted is None or counted > COUNT_CAP
    numbers = sorted({c.citizen_number for c in rows})
    times = dict((await session.exec(  # type: ignore[call-overload]
        select(CallRecord.citizen_number, func.count()).where(waiting, col(CallRecord.citizen_number).in_(numbers))
        .group_by(CallRecord.citizen_number))).all()) if numbers else {}
    items = await _public(session, actor, rows, can_see_pii)
    for item, call in zip(items, rows, strict=True):
        item.missed_count = int(times.get(call.citizen_number, 1))
    return CallPage(total, estimated, page.page, page.per_page, math.ceil(total / page.per_page), items)


async def call_record(session: AsyncSession, actor: Actor, call_id: int) -> CallRecord:
    """The stored call if the actor's scope reaches it (NotFound otherwise)."""
    call = (await session.exec(_scoped(select(CallRecord).where(CallRecord.id == call_id), actor))).first()
    if call is None:
        raise NotFound("Call")
    return call  # type: ignore[no-any-return]


async def get_call(session: AsyncSession, actor: Actor, call_id: int, can_see_pii: bool) -> CallDetail:
    """One call with its queue events in order; reading its unmasked number is logged."""
    call = await call_record(session, actor, call_id)
    detail: CallDetail = (await _public(session, actor, [call], can_see_pii, CallDetail, action="pii.read"))[0]
    events = (await session.exec(select(QueueEvent).where(QueueEvent.call_uniqueid == call.uniqueid)
                                 .order_by(col(QueueEvent.at), col(QueueEvent.id)))).all()
    detail.events = [QueueEventPublic.model_validate(e) for e in events]
    return detail


def recordings_dir(settings: Any) -> Path:
    return Path(settings.data_dir) / RECORDINGS


def recording_path(settings: Any, call: CallRecord | CallPublic | Any) -> Path | None:
    """The absolute path of our copy of the call's recording under <data dir>/recordings; None
    when the call has none, or when the stored name would lead outside that directory (an
    absolute path, `..`, a symbolic link pointing elsewhere). Whether the file exists is the
    caller's to check."""
    relative = getattr(call, "recording_file", None)
    if not relative or "\x00" in relative:
        return None
    root = recordings_dir(settings).resolve()
    path = (root / relative).resolve()
    if path == root or not path.is_relative_to(root):
        return None
    return path
