"""Call records and queue events (issue 7), written by the Stasis application as calls happen and
read by the desk, the API and the reports.

Writing is idempotent, because ARI events can be handled again after a reconnection and a
restarted application reconciles what it finds: a call is opened once per ARI channel id
(`uniqueid`), a closed call is never changed again, states only move forward, and a queue event
is stored once per `event_key`. Every write announces the live notice of the call center
(`CALLS_NOTICE`) so open call screens and the live monitor refresh."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models.base import utcnow
from core.models.calls import (
    AgentState,
    AgentStatus,
    BlacklistEntry,
    CallDirection,
    CallQueueConfig,
    CallQueueMember,
    CallRecord,
    CallState,
    Disposition,
    InboundRoute,
    IvrMenu,
    QueueEvent,
)
from core.services import live
from core.services.messages import normalize_address

CALLS_NOTICE = -2  # the live notice of the call center (a unit id no unit has; SMS inbox is -1)

# Forward order of a call's states: a late event never moves a call back.
_STATE_ORDER = {CallState.routing: 0, CallState.message: 1, CallState.queued: 1, CallState.ringing: 2,
                CallState.talking: 3, CallState.ended: 9}


def normalize_number(raw: str | None) -> str:
    """A caller id as stored: national form for Vietnamese numbers ('+84912…' -> '0912…'), else
    the digits as given; 'anonymous' for an empty or withheld caller id."""
    text = (raw or "").strip()
    if not text or text.lower() in ("anonymous", "unknown", "restricted"):
        return "anonymous"
    return normalize_address(text)[:64]


async def open_call(session: AsyncSession, uniqueid: str, direction: CallDirection, citizen_number: str,
                    citizen_name: str | None = None, dialed: str | None = None, at: datetime | None = None,
                    **fields: Any) -> CallRecord:
    """The call of this channel, created the first time (an event handled twice opens it once)."""
    table = CallRecord.__table__  # type: ignore[attr-defined]
    values = {"uniqueid": uniqueid, "direction": direction.value, "citizen_number": normalize_number(citizen_number),
              "citizen_name": (citizen_name or None) and citizen_name[:120], "dialed": dialed and dialed[:64],
              "state": CallState.routing.value, "started_at": at or utcnow(), **fields}
    await session.exec(insert(table).values(**values).on_conflict_do_nothing(  # type: ignore[call-overload]
        index_elements=[table.c.uniqueid]))
    call = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).one()
    await live.announce(session, units=[CALLS_NOTICE])
    return call


async def update_call(session: AsyncSession, uniqueid: str, state: CallState | None = None, **fields: Any) -> bool:
    """Set fields of an open call; `state` only forward. False when the call is closed or unknown."""
    call = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid).with_for_update())).first()
    if call is None or call.state == CallState.ended:
        return False
    if state is not None and _STATE_ORDER[state] >= _STATE_ORDER[CallState(call.state)]:
        call.state = state
    for name, value in fields.items():
        setattr(call, name, value)
    session.add(call)
    await live.announce(session, units=[CALLS_NOTICE])
    return True


async def end_call(session: AsyncSession, uniqueid: str, disposition: Disposition, hangup_by: str | None,
                   cause: int | None = None, at: datetime | None = None, **fields: Any) -> CallRecord | None:
    """Close the call once: its disposition and who hung up, wait and talk durations. A call
    already closed is returned unchanged."""
    call = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid).with_for_update())).first()
    if call is None or call.state == CallState.ended:
        return call
    ended = at or utcnow()
    for name, value in fields.items():
        setattr(call, name, value)
    call.state, call.disposition, call.hangup_by, call.cause, call.ended_at = (
        CallState.ended, disposition, hangup_by, cause, ended)
    waited_from = call.queued_at or call.started_at
    waited_to = call.answered_at or ended
    call.wait_seconds = round(max(0.0, (waited_to - waited_from).total_seconds()), 3)
    call.talk_seconds = round(max(0.0, (ended - call.answered_at).total_seconds()), 3) if call.answered_at else None
    session.add(call)
    await live.announce(session, units=[CALLS_NOTICE])
    return call


ORPHAN_AFTER = timedelta(seconds=10)  # younger calls may be being set up by the API right now
ORPHAN_DISPOSITION = {CallState.talking: Disposition.answered, CallState.queued: Disposition.abandoned,
                      CallState.ringing: Disposition.abandoned, CallState.message: Disposition.closed,
                      CallState.routing: Disposition.ivr_hangup}


async def close_orphans(session: AsyncSession, keep: set[str], at: datetime | None = None) -> int:
    """Close the open calls whose channels are gone (not in `keep`): a previous run of the call
    center application stopped while they were live. Their disposition follows the state they
    were in; who hung up is unknown (`system`)."""
    now = at or utcnow()
    rows = (await session.exec(select(CallRecord).where(col(CallRecord.state) != CallState.ended,
                                                        col(CallRecord.started_at) < now - ORPHAN_AFTER))).all()
    closed = 0
    for row in rows:
        # a click-to-call lives on its agent's leg (`<base>-a`) until the citizen's is dialled
        agent_leg = row.uniqueid[:-2] + "-a" if row.uniqueid.endswith("-c") else None
        if row.uniqueid in keep or (agent_leg is not None and agent_leg in keep):
            continue
        outbound_failed = row.direction == CallDirection.outbound and row.answered_at is None
        disposition = Disposition.failed if outbound_failed else ORPHAN_DISPOSITION[CallState(row.state)]
        await end_call(session, row.uniqueid, disposition, "system", at=now)
        closed += 1
    return closed


async def set_recording_copy(session: AsyncSession, uniqueid: str, name: str, relative_path: str, size: int) -> None:
    """Where our copy of the call's recording is (set after the call closed, so not through update_call)."""
    table = CallRecord.__table__  # type: ignore[attr-defined]
    await session.exec(sa.update(table).where(table.c.uniqueid == uniqueid).values(  # type: ignore[call-overload]
        recording=name, recording_file=relative_path[:255], recording_bytes=size))
    await live.announce(session, units=[CALLS_NOTICE])


async def link_ticket(session: AsyncSession, call_id: int, ticket_id: int) -> bool:
    """The report made from this call (CC-35, CRM-05); the first one stays linked."""
    table = CallRecord.__table__  # type: ignore[attr-defined]
    linked = (await session.exec(sa.update(table).where(  # type: ignore[call-overload]
        table.c.id == call_id, table.c.ticket_id.is_(None)).values(ticket_id=ticket_id))).rowcount
    await live.announce(session, units=[CALLS_NOTICE])
    return bool(linked)


async def mark_called_back(session: AsyncSession, uniqueid: str, at: datetime) -> None:
    """A call-back reached the citizen: the missed call it answers leaves the list to call back."""
    call = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).first()
    if call is None or call.callback_of_id is None:
        return
    table = CallRecord.__table__  # type: ignore[attr-defined]
    await session.exec(sa.update(table).where(table.c.id == call.callback_of_id,  # type: ignore[call-overload]
                                              table.c.called_back_at.is_(None)).values(called_back_at=at))


async def add_queue_event(session: AsyncSession, event_key: str, event: str, *, at: datetime | None = None,
                          call_uniqueid: str | None = None, queue: str | None = None, agent_id: int | None = None,
                          agent: str | None = None, data: tuple[Any, ...] = ()) -> bool:
    """Store one queue_log-style event (once per `event_key`); True if it is new."""
    table = QueueEvent.__table__  # type: ignore[attr-defined]
    texts = [None if v is None else str(v)[:200] for v in (*data, None, None, None, None, None)[:5]]
    inserted = (await session.exec(insert(table).values(  # type: ignore[call-overload]
        event_key=event_key[:120], event=event[:20], at=at or utcnow(), call_uniqueid=call_uniqueid, queue=queue,
        agent_id=agent_id, agent=agent, data1=texts[0], data2=texts[1], data3=texts[2], data4=texts[3],
        data5=texts[4]).on_conflict_do_nothing(index_elements=[table.c.event_key]).returning(table.c.id))).first()
    return inserted is not None


# ---- agents ----

PBX_CHANNEL = "hotline_pbx"  # NOTIFY: the call center application re-reads agents' log-ins and pauses

ACTIVE = (AgentStatus.ready, AgentStatus.ringing, AgentStatus.busy, AgentStatus.wrapup)


async def set_agent_state(session: AsyncSession, user_id: int, status: AgentStatus, extension: str | None = None,
                          reason: str | None = None, at: datetime | None = None,
                          only_if_active: bool = False, call_uniqueid: str | None = None) -> AgentState | None:
    """Record an agent's state (the application's ACD keeps the live one; this survives restarts).
    `only_if_active`: the application showing ringing / busy / wrap-up / ready never overrides
    a log-out or a pause the agent chose meanwhile (None is returned then)."""
    now = at or utcnow()
    row = await session.get(AgentState, user_id, with_for_update=True)
    if only_if_active and (row is None or row.status not in ACTIVE):
        return None
    if row is None:  # never logged in before: the change below is their first log-in
        row = AgentState(user_id=user_id, extension=extension or "", status=AgentStatus.logged_out, since=now)
    if extension:
        row.extension = extension
    if row.status != status or row.reason != reason:
        row.since = now
    if status != AgentStatus.logged_out and row.status == AgentStatus.logged_out:
        row.logged_in_at = now
    row.status, row.reason = status, (reason[:60] if reason else None)
    row.call_uniqueid = call_uniqueid if status in (AgentStatus.ringing, AgentStatus.busy) else None
    if status == AgentStatus.logged_out:
        row.logged_in_at = None
    session.add(row)
    await session.flush()
    await live.announce(session, units=[CALLS_NOTICE], users=[user_id])
    return row


async def change_agent(session: AsyncSession, user_id: int, status: AgentStatus, extension: str | None = None,
                       reason: str | None = None) -> AgentState:
    """An agent's own log-in, log-out, pause or ready (the API): stored, and the call center
    application is told at commit (PBX_CHANNEL)."""
    row = await set_agent_state(session, user_id, status, extension, reason)
    assert row is not None
    await session.exec(sa.select(sa.func.pg_notify(PBX_CHANNEL, str(user_id))))  # type: ignore[call-overload]
    return row


async def send_command(session: AsyncSession, command: dict[str, Any]) -> None:
    """A request for the call center application about a live call, delivered at commit."""
    await session.exec(sa.select(sa.func.pg_notify(PBX_CHANNEL, json.dumps(command))))  # type: ignore[call-overload]


async def logged_in_agents(session: AsyncSession) -> list[AgentState]:
    return list((await session.exec(select(AgentState).where(AgentState.status != AgentStatus.logged_out))).all())


# ---- routing ----

@dataclass(frozen=True)
class Routing:
    """What the Stasis application follows, read at start and after a change."""

    routes: dict[str, InboundRoute]
    menus: dict[str, IvrMenu]
    queues: dict[str, CallQueueConfig]
    members: dict[str, list[tuple[int, int]]]  # queue -> [(user_id, penalty)]

    def route_for(self, dialed: str) -> InboundRoute | None:
        return self.routes.get(dialed) or self.routes.get("*")


async def load_routing(session: AsyncSession) -> Routing:
    members: dict[str, list[tuple[int, int]]] = {}
    for m in (await session.exec(select(CallQueueMember).order_by(col(CallQueueMember.penalty)))).all():
        members.setdefault(m.queue, []).append((m.user_id, m.penalty))
    return Routing(
        routes={r.dialed: r for r in (await session.exec(select(InboundRoute))).all()},
        menus={m.name: m for m in (await session.exec(select(IvrMenu))).all()},
        queues={q.name: q for q in (await session.exec(select(CallQueueConfig))).all()},
        members=members)


async def blacklisted(session: AsyncSession, number: str) -> BlacklistEntry | None:
    """The blacklist entry matching this caller: the number itself, or a prefix entry ('0912*')."""
    stored = normalize_number(number)
    return (await session.exec(select(BlacklistEntry).where(sa.or_(
        col(BlacklistEntry.number) == stored,
        sa.and_(col(BlacklistEntry.number).like("%*"),
                sa.literal(stored).startswith(sa.func.rtrim(col(BlacklistEntry.number), "*"))),
    )).order_by(sa.func.length(col(BlacklistEntry.number)).desc()).limit(1))).first()
