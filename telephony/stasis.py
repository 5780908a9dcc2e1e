"""The `hotline` Stasis application: it owns the 1022 number (issue 7).

An inbound call (StasisStart without arguments) goes: blacklist (CC-17) → the route of the number
dialled with its opening hours (CC-16; closed → an announcement and a recorded message to be
called back) → its destination: an IVR menu (CC-13), a queue of our ACD (CC-08,
`telephony/acd.py`: music on hold, position announcements, agents rung one after another or all
at once, maximum wait with overflow, wrap-up), an extension, an announcement, or a hang-up. An
agent who answers is bridged with the caller and the conversation is recorded (CC-21). Every call
writes its record as it goes (`core.services.calls`: caller, number dialled, queue, agent, queue /
ring / answer / end times, disposition, recording) and every queue step its `queue_log` event.

Why the ACD is here and not in Asterisk's app_queue: every state change is then ours to record
(no AMI, no parsing of Asterisk's queue_log file), agents' states live in our database
(log-in, pause with a reason, shifts) and drive the desk's screens and popups directly, and the
strategies are unit-tested code (`telephony/acd.py`). The cost is that music on hold, ring
timeouts and announcements are ours to drive through ARI — which this module does.

Channels we create are named by us, so a retried request can never ring a phone twice:
`<call>-a<agent>-<n>` for an agent's leg (appArgs `agent,<call>,<agent>`), `<call>-b` for a
bridge. Events are handled one at a time under a lock shared with the timer that drives ring
timeouts, IVR timeouts and the ACD's deadlines.

Robustness: after a (re)connection of the events socket `reconcile` compares our calls with the
channels Asterisk still has: a caller channel that disappeared while we were away is closed as
abandoned (or answered, if it was talking), so no call record is left open or lost; calls are
never opened twice (their ARI id is unique). Agents' log-in and pause come from the database
(`agent_state`, set through the API) and are re-read at start, on reconnection and whenever the
API announces a change (`calls.PBX_CHANNEL`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import unit_of_work
from core.models.calls import (
    AgentStatus,
    CallDirection,
    CallRecord,
    CallState,
    Disposition,
    InboundRoute,
    IvrMenu,
)
from core.services import calls
from telephony import acd as acd_engine
from telephony.ari_client import AriClient, AriError, PbxUnreachable
from telephony.ari_models import (
    AriEvent,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
)

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WRITE_BATCH = 200
Write = Callable[[AsyncSession], Awaitable[Any]]


@dataclass(frozen=True)
class Prompts:
    """The media the application plays (ARI media URIs). Core sound files are not installed
    offline: a province uploads its Vietnamese recordings as `sound:hotline/...`; `tone:` needs
    the indications of infra/asterisk/indications.conf."""

    blacklisted: str = "sound:hotline/blacklisted"
    leave_message: str = "sound:hotline/leave-message"
    position: str = "sound:hotline/your-position"
    invalid: str = "sound:hotline/invalid"


@dataclass
class LiveCall:
    uniqueid: str  # the citizen's channel id (ours for click-to-call: `o<hash>-c`)
    caller: str
    dialed: str
    stage: str = "routing"  # routing | ivr | queue | dialing | talking | consulting | message | ended
    queue: str | None = None
    menu: IvrMenu | None = None
    tries: int = 0
    ivr_deadline: float | None = None
    agent_id: str | None = None
    agent_channel: str | None = None
    bridge_id: str | None = None
    ringing: dict[str, str] = field(default_factory=dict)  # agent id -> agent channel id
    attempts: int = 0
    next_step: Callable[[], Awaitable[None]] | None = None  # after the current playback
    playback_id: str | None = None
    recording: str | None = None
    moh: bool = False
    overflow_to: str | None = None
    ivr_path: str = ""
    message_disposition: Disposition = Disposition.closed
    outbound: bool = False  # click-to-call: the agent's leg first, then the citizen's (channel_id = uniqueid)
    transfer_to: str | None = None  # where the call was (or is being) transferred
    transfer_leg: str | None = None  # the called target's leg while it rings or is consulted
    transfer_mode: str | None = None  # blind | attended
    transfer_answered: bool = False  # the consulted target answered
    ringback_id: str | None = None  # the ring tone a click-to-call plays to its agent

    @property
    def channel_id(self) -> str:
        """The citizen's channel: the call is named after it."""
        return self.uniqueid


def queue_config(row: Any, members: list[tuple[int, int]]) -> acd_engine.QueueConfig:
    return acd_engine.QueueConfig(
        name=row.name, strategy=row.strategy, members=[(str(u), p) for u, p in members],
        ring_timeout_s=row.ring_timeout_s, retry_s=row.retry_s, max_wait_s=row.max_wait_s, overflow=row.overflow,
        wrapup_s=row.wrapup_s, join_empty=row.join_empty, leave_when_empty=row.leave_when_empty,
        announce_position_every_s=row.announce_position_every_s, service_level_s=row.service_level_s)


def is_open(route: InboundRoute, at: datetime) -> bool:
    """Whether the route's opening hours include this moment (local time); no hours = always."""
    local = at.astimezone(LOCAL_TZ)
    if local.date().isoformat() in (route.closed_days or []):
        return False
    if not route.open_hours:
        return True
    hhmm = local.strftime("%H:%M")
    return any(local.weekday() in period.get("days", range(7)) and period["from"] <= hhmm < period["to"]
               for period in route.open_hours)


class CallCenter:
    """The Stasis application; `run()` until cancelled."""

    def __init__(self, ari: AriClient, sessions: async_sessionmaker[AsyncSession], *, prompts: Prompts | None = None,
                 clock: Callable[[], float] = time.time, agent_endpoint: str = "PJSIP/{extension}",
                 trunk_endpoint: str = "PJSIP/{number}@trunk", caller_id: str = "1022",
                 recordings_dir: Path | None = None) -> None:
        self.ari = ari
        self.trunk_endpoint = trunk_endpoint
        self.caller_id = caller_id
        self.sessions = sessions
        self.recordings_dir = recordings_dir
        self.recording_calls: dict[str, str] = {}  # recording name -> call uniqueid
        self._copies: set[asyncio.Task[None]] = set()
        self.prompts = prompts or Prompts()
        self.clock = clock
        self.agent_endpoint = agent_endpoint
        self.routing: calls.Routing | None = None
        self.acd = acd_engine.Acd([])
        self.calls: dict[str, LiveCall] = {}  # by caller channel id
        self.legs: dict[str, tuple[str, str]] = {}  # agent channel id -> (call, agent id)
        self.playbacks: dict[str, str] = {}  # playback id -> caller channel id
        self.hung_up_by_us: set[str] = set()
        self.hangup_causes: dict[str, int] = {}  # from ChannelHangupRequest, for the StasisEnd that follows
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._writes: asyncio.Queue[Write] = asyncio.Queue()
        self._seq = 0
        self.ready = asyncio.Event()

    # ---- lifecycle ----

    async def load(self) -> None:
        async with unit_of_work(self.sessions) as session:
            self.routing = await calls.load_routing(session)
        queues = [queue_config(q, self.routing.members.get(q.name, [])) for q in self.routing.queues.values()]
        self.acd = acd_engine.Acd(queues)

    async def run(self) -> None:
        await self.load()
        timer = asyncio.create_task(self._timer(), name="stasis-timer")
        writer = asyncio.create_task(self._writer(), name="stasis-writer")
        try:
            await self.ari.run_events(self.handle, on_connected=self.reconcile)
        finally:
            timer.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush(), 5)  # what was handled is written before we go
            writer.cancel()

    # ---- the record, written behind the calls ----

    def _write(self, op: Write) -> None:
        """Queue a write of the call record / queue log / agent state. Writes happen in order,
        batched into one transaction by `_writer`, off the event's path: a handler waits for
        Asterisk, not for PostgreSQL. The call's row itself is opened before (synchronously), so a
        crash loses at most the last steps of a call, never the call: the next start closes it."""
        self._writes.put_nowait(op)

    async def _writer(self) -> None:
        while True:
            batch = [await self._writes.get()]
            while not self._writes.empty() and len(batch) < WRITE_BATCH:
                batch.append(self._writes.get_nowait())
            try:
                async with unit_of_work(self.sessions) as session:
                    for op in batch:
                        await op(session)
            except Exception:  # noqa: BLE001 - one bad write must not lose the others: each alone, retried
                log.warning("a batch of %d call writes failed; writing them one by one", len(batch), exc_info=True)
                for op in batch:
                    await self._write_alone(op)
            finally:
                for _ in batch:
                    self._writes.task_done()

    async def _write_alone(self, op: Write, attempts: int = 4) -> None:
        for attempt in range(attempts):
            try:
                async with unit_of_work(self.sessions) as session:
                    await op(session)
                return
            except Exception:  # noqa: BLE001
                log.warning("a call write failed (attempt %d)", attempt + 1, exc_info=True)
                await asyncio.sleep(0.2 * 2 ** attempt)
        log.error("a call write was given up after %d attempts", attempts)

    async def flush(self) -> None:
        """Wait until every queued write is in the database."""
        await self._writes.join()

    async def reconcile(self) -> None:
        """After a (re)connection: agents from the database, and calls whose channels are gone."""
        async with self._lock:
            await self._sync_agents()
            try:
                alive = {c.id for c in await self.ari.channels()}
            except (AriError, PbxUnreachable) as exc:
                log.warning("could not list channels to reconcile: %s", exc)
                alive = None
            if alive is not None:
                for call in list(self.calls.values()):
                    if call.channel_id not in alive:
                        await self._caller_gone(call, cause=None)
                # calls a previous run of the application left open (it stopped or crashed)
                await self.flush()  # this run's own endings first
                ours = {c.uniqueid for c in self.calls.values()}
                async with unit_of_work(self.sessions) as session:
                    closed = await calls.close_orphans(session, keep=alive | ours, at=self._now())
                if closed:
                    log.warning("closed %d calls left open by a previous run", closed)
            self.ready.set()
        self._wake.set()

    async def agents_changed(self) -> None:
        """The API changed an agent's log-in or pause (see the module docstring)."""
        async with self._lock:
            await self._sync_agents()
        self._wake.set()

    async def command(self, data: dict[str, Any]) -> None:
        """A request of the API (calls.PBX_CHANNEL): transfer a call, complete or cancel an
        attended transfer. Whoever asked sees the outcome on the call."""
        async with self._lock:
            call = self.calls.get(str(data.get("call", "")))
            kind = data.get("command")
            if call is None:
                log.info("command %s for a call that is not live: ignored", kind)
            elif kind == "transfer":
                await self._transfer(call, str(data.get("target", "")), str(data.get("mode", "blind")))
            elif kind == "transfer_complete":
                await self._transfer_complete(call)
            elif kind == "transfer_cancel":
                await self._transfer_cancel(call)
        self._wake.set()

    # ---- events ----

    async def handle(self, event: AriEvent) -> None:
        async with self._lock:
            if isinstance(event, StasisStart):
                await self._stasis_start(event)
            elif isinstance(event, ChannelDestroyed):
                await self._destroyed(event)
            elif isinstance(event, ChannelHangupRequest):
                if event.cause is not None:
                    self.hangup_causes[event.channel.id] = event.cause
            elif isinstance(event, StasisEnd):
                await self._left_stasis(event.channel.id)
            elif isinstance(event, ChannelDtmfReceived):
                await self._dtmf(event)
            elif isinstance(event, PlaybackFinished):  # also a failed one: state "failed" (Asterisk 22)
                await self._playback_done(event.playback)
            elif isinstance(event, RecordingFinished):
                self._copy_later(event.recording.name)
            elif isinstance(event, RecordingFailed):
                log.warning("recording %s failed: %s", event.recording.name, event.recording.cause)
        self._wake.set()

    async def _stasis_start(self, event: StasisStart) -> None:
        channel = event.channel
        if event.args and event.args[0] == "agent" and len(event.args) >= 3:
            call_id, agent_id = event.args[1], event.args[2]
            self.legs[channel.id] = (call_id, agent_id)
            await self._apply(self.acd.agent_answered(self.clock(), call_id, agent_id, channel.id))
            return
        if event.args and event.args[0] == "dialout" and len(event.args) >= 3:
            await self._dialout(channel.id, event.args[1], event.args[2])
            return
        if event.args and event.args[0] == "citizen" and len(event.args) >= 2:
            await self._citizen_answered(channel.id, event.args[1])
            return
        if event.args and event.args[0] == "transfer" and len(event.args) >= 2:
            await self._transfer_answered(channel.id, event.args[1])
            return
        if event.args or channel.id in self.calls:
            return  # a channel of ours we already know, or arguments of a later feature
        call = LiveCall(channel.id, calls.normalize_number(channel.caller.number),
                        channel.dialplan.exten or "")
        self.calls[channel.id] = call
        async with unit_of_work(self.sessions) as session:
            await calls.open_call(session, call.uniqueid, CallDirection.inbound, channel.caller.number,
                                  channel.caller.name or None, call.dialed, at=self._now())
            entry = await calls.blacklisted(session, call.caller)
        if entry is not None:
            if entry.play_message:
                await self._answer(call)
                await self._play(call, self.prompts.blacklisted, lambda: self._finish(call, Disposition.blacklisted))
            else:
                await self._finish(call, Disposition.blacklisted)
            return
        route = self.routing.route_for(call.dialed) if self.routing else None
        if route is None:
            log.error("no route for %s: the call is refused", call.dialed)
            await self._finish(call, Disposition.no_agent)
            return
        if is_open(route, self._now()):
            await self._go(call, route.open_destination)
        else:
            await self._answer(call)
            closed = route.closed_destination
            if route.closed_announcement:
                await self._play(call, route.closed_announcement, lambda: self._go(call, closed, closed=True))
            else:
                await self._go(call, closed, closed=True)

    async def _go(self, call: LiveCall, destination: str, closed: bool = False) -> None:
        kind, _, target = destination.partition(":")
        if kind == "queue" and self.routing and target in self.routing.queues:
            await self._enter_queue(call, target)
        elif kind == "ivr" and self.routing and target in self.routing.menus:
            await self._enter_menu(call, self.routing.menus[target])
        elif kind == "message":
            await self._leave_message(call, Disposition.closed if closed else Disposition.timeout)
        elif kind == "announcement" and target:
            await self._answer(call)
            await self._play(call, target, lambda: self._finish(call, Disposition.closed if closed else Disposition.no_agent))
        else:
            if kind != "hangup":
                log.error("unknown destination %r: the call is ended", destination)
            await self._finish(call, Disposition.closed if closed else Disposition.no_agent)

    # ---- IVR ----

    async def _enter_menu(self, call: LiveCall, menu: IvrMenu) -> None:
        await self._answer(call)
        call.stage, call.menu, call.tries = "ivr", menu, 0
        await self._prompt_menu(call)

    async def _prompt_menu(self, call: LiveCall) -> None:
        menu = call.menu
        assert menu is not None
        call.ivr_deadline = None

        async def wait_for_digit() -> None:
            call.ivr_deadline = self.clock() + menu.timeout_s

        await self._play(call, menu.greeting, wait_for_digit)

    async def _dtmf(self, event: ChannelDtmfReceived) -> None:
        call = self.calls.get(event.channel.id)
        if call is None or call.stage != "ivr" or call.menu is None:
            return
        menu = call.menu
        destination = menu.options.get(event.digit)
        if call.playback_id:
            await self._stop_playback(call)
        if destination is None:
            await self._ivr_retry(call, menu.invalid_announcement or self.prompts.invalid)
            return
        call.ivr_deadline, call.menu = None, None
        call.ivr_path = (call.ivr_path + event.digit)[:64]
        self._write(lambda s, path=call.ivr_path: calls.update_call(s, call.uniqueid, ivr_path=path))
        await self._go(call, destination)

    async def _ivr_retry(self, call: LiveCall, announcement: str | None) -> None:
        menu = call.menu
        assert menu is not None
        call.tries += 1
        call.ivr_deadline = None
        if call.tries >= menu.max_tries:
            call.menu = None
            if menu.timeout_destination:
                await self._go(call, menu.timeout_destination)
            else:
                await self._finish(call, Disposition.ivr_hangup)
            return
        if announcement:
            await self._play(call, announcement, lambda: self._prompt_menu(call))
        else:
            await self._prompt_menu(call)

    # ---- queue ----

    async def _enter_queue(self, call: LiveCall, queue: str) -> None:
        await self._answer(call)
        call.stage, call.queue = "queue", queue
        config = self.routing.queues[queue] if self.routing else None
        queued_at = self._now()
        self._write(lambda s: calls.update_call(s, call.uniqueid, CallState.queued, queue=queue, queued_at=queued_at))
        actions = self.acd.enqueue(self.clock(), call.uniqueid, queue, call.caller)
        if config is not None and config.join_announcement:
            waiting = self._play(call, config.join_announcement, lambda: self._hold(call))
        else:
            waiting = self._hold(call)
        await asyncio.gather(waiting, self._apply(actions))  # music for the caller while the agents ring

    async def _hold(self, call: LiveCall) -> None:
        if call.stage != "queue" or call.moh:
            return
        config = self.routing.queues.get(call.queue or "") if self.routing else None
        try:
            await self.ari.start_moh(call.channel_id, config.moh_class if config else None)
            call.moh = True
        except AriError as exc:
            log.warning("music on hold for %s failed: %s", call.uniqueid, exc)

    async def _unhold(self, call: LiveCall) -> None:
        if call.moh:
            call.moh = False
            await self._ignore_gone(self.ari.stop_moh(call.channel_id))

    async def _apply(self, actions: list[Any]) -> None:
        """Carry out what the ACD decided, in order."""
        for action in actions:
            if isinstance(action, acd_engine.QueueEvent):
                await self._queue_event(action)
            elif isinstance(action, acd_engine.Ring):
                await self._ring(action)
            elif isinstance(action, acd_engine.StopRinging | acd_engine.HangupAgentLeg):
                await self._stop_leg(action.call_id, action.agent_id)
            elif isinstance(action, acd_engine.Connect):
                await self._connect(action)
            elif isinstance(action, acd_engine.Announce):
                await self._announce(action)
            elif isinstance(action, acd_engine.Overflow):
                await self._overflow(action)
            elif isinstance(action, acd_engine.Leave):
                call = self.calls.get(action.call_id)
                if call is not None:
                    await self._unhold(call)
                    await self._finish(call, Disposition.no_agent if action.reason == "empty" else Disposition.timeout)

    async def _queue_event(self, event: acd_engine.QueueEvent) -> None:
        agent_id = int(event.agent) if event.agent and event.agent.isdigit() else None
        at = datetime.fromtimestamp(event.time, UTC)
        key = f"{event.call_id or 'NONE'}:{event.event}:{event.agent or 'NONE'}:{event.queue}:{int(event.time * 1000)}"
        view = self.acd.agent(event.agent) if agent_id is not None else None  # type: ignore[arg-type]
        extension = view.extension if view else None
        self._write(lambda s: calls.add_queue_event(s, key, str(event.event), at=at, call_uniqueid=event.call_id,
                                                    queue=event.queue, agent_id=agent_id, agent=extension,
                                                    data=tuple(event.data)))

    async def _ring(self, ring: acd_engine.Ring) -> None:
        call = self.calls.get(ring.call_id)
        if call is None:
            return
        call.attempts += 1
        leg = f"{call.uniqueid}-a{ring.agent_id}-{call.attempts}"
        call.ringing[ring.agent_id] = leg
        self.legs[leg] = (call.uniqueid, ring.agent_id)
        first = {} if call.attempts > 1 else {"ring_at": self._now()}
        self._write(lambda s: calls.update_call(s, call.uniqueid, CallState.ringing, **first))
        if ring.agent_id.isdigit():
            self._write(lambda s: calls.set_agent_state(s, int(ring.agent_id), AgentStatus.ringing, only_if_active=True,
                                                        call_uniqueid=call.uniqueid))
        try:
            await self.ari.originate(self.agent_endpoint.format(extension=ring.extension), channel_id=leg,
                                     app_args=f"agent,{call.uniqueid},{ring.agent_id}", caller_id=call.caller,
                                     timeout=max(1, int(ring.timeout_s)))
        except (AriError, PbxUnreachable) as exc:
            log.warning("ringing agent %s (%s) failed: %s", ring.agent_id, ring.extension, exc)
            self.legs.pop(leg, None)
            call.ringing.pop(ring.agent_id, None)
            await self._apply(self.acd.agent_rejected(self.clock(), call.uniqueid, ring.agent_id))

    async def _stop_leg(self, call_id: str, agent_id: str) -> None:
        call = self.calls.get(call_id)
        leg = call.ringing.pop(agent_id, None) if call else None
        if leg is None:
            leg = next((ch for ch, (c, a) in self.legs.items() if c == call_id and a == agent_id), None)
        if leg is not None:
            self.hung_up_by_us.add(leg)
            await self._ignore_gone(self.ari.hangup(leg))
            self.legs.pop(leg, None)
        await self._agent_display(agent_id)

    async def _connect(self, connect: acd_engine.Connect) -> None:
        call = self.calls.get(connect.call_id)
        if call is None:
            return
        leg = call.ringing.pop(connect.agent_id, None)
        if leg is None:
            return
        call.stage, call.agent_id, call.agent_channel = "talking", connect.agent_id, leg
        call.bridge_id = f"{call.uniqueid}-b"
        # an announcement still playing would hold addChannel until it ends: stopped first
        await asyncio.gather(self._unhold(call), self._stop_playback(call),
                             self.ari.create_bridge(call.bridge_id, name=f"call {call.uniqueid}"))
        await self.ari.add_to_bridge(call.bridge_id, [call.channel_id, leg])
        config = self.routing.queues.get(connect.queue) if self.routing else None
        if config is None or config.record:
            await self._record_bridge(call)
        view = self.acd.agent(connect.agent_id)
        extension = view.extension if view else None
        answered, recording = self._now(), call.recording
        agent_user = int(connect.agent_id) if connect.agent_id.isdigit() else None
        self._write(lambda s: calls.update_call(s, call.uniqueid, CallState.talking, answered_at=answered,
                                                agent_id=agent_user, extension=extension, recording=recording))
        if agent_user is not None:
            self._write(lambda s: calls.set_agent_state(s, agent_user, AgentStatus.busy, only_if_active=True,
                                                        call_uniqueid=call.uniqueid))

    async def _record_bridge(self, call: LiveCall) -> None:
        """Record the conversation (CC-21); a refusal leaves the call without a recording."""
        assert call.bridge_id is not None
        name = f"call-{call.uniqueid.replace('.', '-')}"
        try:
            await self.ari.record_bridge(call.bridge_id, name)
        except AriError as exc:
            log.warning("recording %s failed: %s", call.uniqueid, exc)
            return
        call.recording = name
        self.recording_calls[name] = call.uniqueid

    async def _announce(self, announce: acd_engine.Announce) -> None:
        call = self.calls.get(announce.call_id)
        if call is None or call.stage != "queue" or call.playback_id:
            return
        await self._unhold(call)
        await self._play(call, f"{self.prompts.position},number:{announce.position}", lambda: self._hold(call))

    async def _overflow(self, overflow: acd_engine.Overflow) -> None:
        call = self.calls.get(overflow.call_id)
        if call is None:
            return
        await self._unhold(call)
        call.overflow_to = overflow.destination
        call.stage = "routing"
        self._write(lambda s: calls.update_call(s, call.uniqueid, overflow_to=overflow.destination))
        await self._go(call, overflow.destination)

    # ---- click-to-call and call-back (the API originated the agent's leg: api/telephony.py) ----

    async def _dialout(self, agent_channel: str, uniqueid: str, agent_id: str) -> None:
        """The agent answered their own phone: ring back tone to them, and dial the citizen."""
        async with unit_of_work(self.sessions) as session:
            record = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).first()
        if record is None or record.state == CallState.ended or uniqueid in self.calls:
            await self._ignore_gone(self.ari.hangup(agent_channel))
            return
        call = LiveCall(uniqueid, record.citizen_number, record.dialed or record.citizen_number,
                        stage="dialing", agent_id=agent_id, agent_channel=agent_channel, outbound=True)
        self.calls[uniqueid] = call
        self.legs[agent_channel] = (uniqueid, agent_id)
        if self.acd.agent(agent_id) is not None:
            await self._apply(self.acd.set_device_busy(self.clock(), agent_id, True))
        if agent_id.isdigit():
            self._write(lambda s: calls.set_agent_state(s, int(agent_id), AgentStatus.busy, only_if_active=True,
                                                        call_uniqueid=uniqueid))
        self._seq += 1
        call.ringback_id = f"{uniqueid}-rb{self._seq}"
        await self._ignore_gone(self.ari.play(agent_channel, "tone:ring", call.ringback_id))
        try:
            await self.ari.originate(self.trunk_endpoint.format(number=record.citizen_number), channel_id=uniqueid,
                                     app_args=f"citizen,{uniqueid}", caller_id=self.caller_id, timeout=45)
        except (AriError, PbxUnreachable) as exc:
            log.warning("dialling the citizen of %s failed: %s", uniqueid, exc)
            await self._finish(call, Disposition.failed, hang_caller=False)

    async def _citizen_answered(self, channel_id: str, uniqueid: str) -> None:
        call = self.calls.get(uniqueid)
        if call is None or call.stage != "dialing" or not call.agent_channel:
            await self._ignore_gone(self.ari.hangup(channel_id))
            return
        call.stage, call.bridge_id = "talking", f"{uniqueid}-b"
        # addChannel waits for a channel's playback to end, and a tone repeats until stopped
        ringback, call.ringback_id = call.ringback_id, None
        await asyncio.gather(self.ari.create_bridge(call.bridge_id, name=f"call {uniqueid}"),
                             self._ignore_gone(self.ari.stop_playback(ringback)) if ringback else asyncio.sleep(0))
        await self.ari.add_to_bridge(call.bridge_id, [call.agent_channel, channel_id])
        await self._record_bridge(call)
        answered, recording = self._now(), call.recording
        self._write(lambda s: calls.update_call(s, uniqueid, CallState.talking, answered_at=answered,
                                                recording=recording))
        self._write(lambda s: calls.mark_called_back(s, uniqueid, answered))

    async def _agent_leg_unanswered(self, channel_id: str, cause: int) -> None:
        """A click-to-call whose agent did not answer their own phone (the leg never reached us)."""
        uniqueid = channel_id[:-2] + "-c"
        ended = self._now()
        self._write(lambda s: calls.end_call(s, uniqueid, Disposition.agent_no_answer, "agent", cause, at=ended))

    # ---- transfers (CC-32 blind, CC-33 attended) ----

    async def _transfer(self, call: LiveCall, target: str, mode: str) -> None:
        if call.stage != "talking" or not call.bridge_id or not call.agent_channel or call.transfer_leg:
            log.info("transfer of %s refused: the call is %s", call.uniqueid, call.stage)
            return
        kind, _, value = target.partition(":")
        if kind == "queue" and mode == "blind" and self.routing and value in self.routing.queues:
            await self._release_agent(call, target)
            await self._ignore_gone(self.ari.destroy_bridge(call.bridge_id))
            call.bridge_id = None
            await self._enter_queue(call, value)
            return
        if kind != "extension" or not value.isdigit():
            log.warning("transfer of %s to %r refused: not an extension or a queue", call.uniqueid, target)
            return
        self._seq += 1
        leg = f"{call.uniqueid}-t{self._seq}"
        call.transfer_leg, call.transfer_mode, call.transfer_to = leg, mode, target
        if mode == "blind":
            await self._release_agent(call, target)
        else:  # attended: the agent leaves the citizen on hold to consult the target
            await self._ignore_gone(self.ari.remove_from_bridge(call.bridge_id, call.agent_channel))
            call.stage = "consulting"
        await self._ignore_gone(self.ari.request("POST", f"/bridges/{call.bridge_id}/moh"))
        self._write(lambda s: calls.update_call(s, call.uniqueid, transfer_to=target))
        try:
            await self.ari.originate(self.agent_endpoint.format(extension=value), channel_id=leg,
                                     app_args=f"transfer,{call.uniqueid}", caller_id=call.caller, timeout=30)
        except (AriError, PbxUnreachable) as exc:
            log.warning("calling %s for the transfer of %s failed: %s", target, call.uniqueid, exc)
            await self._transfer_failed(call)

    async def _release_agent(self, call: LiveCall, target: str) -> None:
        """The transferring agent leaves the call (TRANSFER for the reports) and is free again."""
        leg, agent_id = call.agent_channel, call.agent_id
        if call.bridge_id and leg:
            await self._ignore_gone(self.ari.remove_from_bridge(call.bridge_id, leg))
        if leg:
            self.hung_up_by_us.add(leg)
            self.legs.pop(leg, None)
            await self._ignore_gone(self.ari.hangup(leg))
        call.agent_channel, call.agent_id = None, None
        if call.outbound and agent_id and self.acd.agent(agent_id) is not None:
            await self._apply(self.acd.set_device_busy(self.clock(), agent_id, False))
        else:
            await self._apply(self.acd.transferred(self.clock(), call.uniqueid, target))
        if agent_id:
            await self._agent_display(agent_id)
        if call.transfer_to != target:  # a transfer to an extension recorded it when it started
            self._write(lambda s: calls.update_call(s, call.uniqueid, transfer_to=target))
            call.transfer_to = target

    async def _transfer_answered(self, leg: str, uniqueid: str) -> None:
        call = self.calls.get(uniqueid)
        if call is None or call.transfer_leg != leg:
            await self._ignore_gone(self.ari.hangup(leg))
            return
        if call.transfer_mode == "attended":  # the agent and the target talk; the citizen waits
            call.transfer_answered = True
            consult = f"{uniqueid}-k"
            await self.ari.create_bridge(consult, name=f"consult {uniqueid}")
            if call.agent_channel:
                await self.ari.add_to_bridge(consult, [call.agent_channel, leg])
            return
        await self._join_target(call, leg)

    async def _join_target(self, call: LiveCall, leg: str) -> None:
        """The target takes the citizen: into the call's bridge, music stops."""
        assert call.bridge_id is not None
        await self._ignore_gone(self.ari.request("DELETE", f"/bridges/{call.bridge_id}/moh"))
        await self.ari.add_to_bridge(call.bridge_id, [leg])
        extension = (call.transfer_to or "").partition(":")[2]
        target_agent = next((a.agent_id for a in self.acd.agents() if a.extension == extension
                             and a.state != acd_engine.AgentState.LOGGED_OUT), None)
        call.agent_channel, call.agent_id, call.transfer_leg, call.stage = leg, target_agent, None, "talking"
        call.transfer_answered = False
        self.legs[leg] = (call.uniqueid, target_agent or f"x{extension}")
        target_user = int(target_agent) if target_agent and target_agent.isdigit() else None
        self._write(lambda s: calls.update_call(s, call.uniqueid, extension=extension, agent_id=target_user))

    async def _transfer_complete(self, call: LiveCall) -> None:
        if call.stage != "consulting" or not call.transfer_leg:
            return
        leg = call.transfer_leg
        await self._ignore_gone(self.ari.destroy_bridge(f"{call.uniqueid}-k"))
        await self._release_agent(call, call.transfer_to or "")
        await self._join_target(call, leg)

    async def _transfer_cancel(self, call: LiveCall) -> None:
        if call.stage != "consulting":
            return
        if call.transfer_leg:
            self.hung_up_by_us.add(call.transfer_leg)
            await self._ignore_gone(self.ari.hangup(call.transfer_leg))
        await self._back_to_agent(call)

    async def _back_to_agent(self, call: LiveCall) -> None:
        await self._ignore_gone(self.ari.destroy_bridge(f"{call.uniqueid}-k"))
        call.transfer_leg, call.transfer_mode, call.transfer_to, call.stage = None, None, None, "talking"
        call.transfer_answered = False
        if call.bridge_id:
            await self._ignore_gone(self.ari.request("DELETE", f"/bridges/{call.bridge_id}/moh"))
            if call.agent_channel:
                await self._ignore_gone(self.ari.add_to_bridge(call.bridge_id, [call.agent_channel]))
        self._write(lambda s: calls.update_call(s, call.uniqueid, transfer_to=None))

    async def _transfer_failed(self, call: LiveCall) -> None:
        """The target did not answer: a consultation goes back to the agent; a blind transfer
        goes back to the call's queue (its agent is gone)."""
        if call.transfer_mode == "attended" and call.agent_channel:
            await self._back_to_agent(call)
            return
        call.transfer_leg = None
        if call.bridge_id:
            await self._ignore_gone(self.ari.destroy_bridge(call.bridge_id))
            call.bridge_id = None
        queue = call.queue or (next(iter(self.routing.queues)) if self.routing and self.routing.queues else None)
        if queue is None:
            await self._finish(call, Disposition.transferred)
            return
        call.stage = "routing"
        await self._enter_queue(call, queue)

    # ---- closed hours: a message to call back ----

    async def _leave_message(self, call: LiveCall, disposition: Disposition) -> None:
        await self._answer(call)
        call.stage = "message"

        async def record() -> None:
            name = f"message-{call.uniqueid.replace('.', '-')}"
            try:
                await self.ari.record_channel(call.channel_id, name, max_seconds=120, beep=False, terminate_on="#")
                call.recording = name
                self.recording_calls[name] = call.uniqueid
            except AriError as exc:
                log.warning("message recording %s failed: %s", call.uniqueid, exc)
            recording = call.recording
            self._write(lambda s: calls.update_call(s, call.uniqueid, CallState.message, recording=recording))
            call.next_step = None

        call.message_disposition = disposition
        await self._play(call, self.prompts.leave_message, record)  # the recording ends with its own beep

    # ---- ends ----

    async def _destroyed(self, event: ChannelDestroyed) -> None:
        channel_id = event.channel.id
        pending = next((c for c in self.calls.values() if c.transfer_leg == channel_id), None)
        if pending is not None:  # the transfer's target hung up or never answered
            if channel_id not in self.hung_up_by_us:
                await self._transfer_failed(pending)
            self.hung_up_by_us.discard(channel_id)
            return
        if channel_id in self.legs:
            call_id, agent_id = self.legs.pop(channel_id)
            ours = channel_id in self.hung_up_by_us
            self.hung_up_by_us.discard(channel_id)
            call = self.calls.get(call_id)
            if call is not None and call.outbound and call.agent_channel == channel_id:
                talking = call.stage == "talking"
                await self._finish(call, Disposition.answered if talking else Disposition.failed, hangup_by="agent",
                                   cause=None if talking else event.cause)
            elif call is not None and call.agent_channel == channel_id and call.stage == "consulting":
                # the agent hung up while consulting: the transfer goes through (as on a desk phone)
                self.hung_up_by_us.add(channel_id)
                if call.transfer_answered:
                    await self._transfer_complete(call)
                else:
                    call.transfer_mode = "blind"
                    await self._release_agent(call, call.transfer_to or "")
            elif call is not None and call.agent_channel == channel_id and call.stage == "talking":
                await self._apply(self.acd.call_ended(self.clock(), call_id, "agent"))
                await self._finish(call, Disposition.answered, hangup_by="agent")
            elif call is not None and agent_id in call.ringing and call.ringing[agent_id] == channel_id:
                call.ringing.pop(agent_id, None)
                if not ours:
                    await self._apply(self.acd.agent_rejected(self.clock(), call_id, agent_id))
            await self._agent_display(agent_id)
            return
        call = self.calls.get(channel_id)
        self.hangup_causes.pop(channel_id, None)
        if call is not None and channel_id not in self.hung_up_by_us:
            await self._caller_gone(call, event.cause or None)
        elif call is None and channel_id.startswith("o") and channel_id.endswith("-a"):
            await self._agent_leg_unanswered(channel_id, event.cause)
        self.hung_up_by_us.discard(channel_id)

    async def _left_stasis(self, channel_id: str) -> None:
        """A caller's channel left the application. Asterisk 22 unsubscribes the application from a
        channel that came from the dialplan at StasisEnd, so no ChannelDestroyed follows for it
        (checked against a real Asterisk): this is where such a caller's hang-up is seen. Our
        originated legs still get ChannelDestroyed, handled there."""
        cause = self.hangup_causes.pop(channel_id, None)
        if channel_id in self.hung_up_by_us:  # we hung it up ourselves; a dialplan channel sends nothing more
            if channel_id not in self.legs:
                self.hung_up_by_us.discard(channel_id)
            return
        call = self.calls.get(channel_id)
        if call is None or channel_id in self.legs:
            return
        await self._caller_gone(call, cause)

    async def _caller_gone(self, call: LiveCall, cause: int | None) -> None:
        now = self.clock()
        if call.outbound:  # the citizen's leg: hung up while talking, or never answered (busy, no answer…)
            talking = call.stage == "talking"
            await self._finish(call, Disposition.answered if talking else Disposition.failed, hangup_by="caller",
                               cause=cause, hang_caller=False)
        elif call.stage == "queue":
            await self._apply(self.acd.caller_left(now, call.uniqueid))
            await self._finish(call, Disposition.abandoned, hangup_by="caller", cause=cause, hang_caller=False)
        elif call.stage in ("talking", "consulting"):
            await self._apply(self.acd.call_ended(now, call.uniqueid, "caller"))
            await self._finish(call, Disposition.answered, hangup_by="caller", cause=cause, hang_caller=False)
        elif call.stage == "message":
            await self._finish(call, call.message_disposition, hangup_by="caller",
                               cause=cause, hang_caller=False)
        else:
            await self._finish(call, Disposition.ivr_hangup, hangup_by="caller", cause=cause, hang_caller=False)

    async def _finish(self, call: LiveCall, disposition: Disposition, hangup_by: str = "system",
                      cause: int | None = None, hang_caller: bool = True) -> None:
        """Close the call: its legs and bridge go, its record is written once."""
        if call.stage == "ended":
            return
        previous, call.stage = call.stage, "ended"
        self.calls.pop(call.channel_id, None)
        if disposition == Disposition.answered and call.transfer_to:
            disposition = Disposition.transferred
        if call.recording and call.recording in self.recording_calls:
            # Asterisk may never send RecordingFinished once the bridge is destroyed: stop first, copy now
            await self._ignore_gone(self.ari.request("POST", f"/recordings/live/{call.recording}/stop"))
            self._copy_later(call.recording)
        requests: list[Awaitable[Any]] = []  # independent of each other: sent together
        if call.transfer_leg:
            self.hung_up_by_us.add(call.transfer_leg)
            requests += [self.ari.hangup(call.transfer_leg), self.ari.destroy_bridge(f"{call.uniqueid}-k")]
        rung = list(call.ringing)
        for leg in call.ringing.values():
            self.hung_up_by_us.add(leg)
            self.legs.pop(leg, None)
            requests.append(self.ari.hangup(leg))
        call.ringing.clear()
        if call.agent_channel:
            self.hung_up_by_us.add(call.agent_channel)
            self.legs.pop(call.agent_channel, None)
            requests.append(self.ari.hangup(call.agent_channel))
        if call.bridge_id:
            requests.append(self.ari.destroy_bridge(call.bridge_id))
        if hang_caller:
            self.hung_up_by_us.add(call.channel_id)
            requests.append(self.ari.hangup(call.channel_id))
        await asyncio.gather(*(self._ignore_gone(r) for r in requests))
        for agent_id in rung:
            await self._agent_display(agent_id)
        if call.outbound and call.agent_id and self.acd.agent(call.agent_id) is not None:
            await self._apply(self.acd.set_device_busy(self.clock(), call.agent_id, False))
            await self._agent_display(call.agent_id)
        elif previous == "talking" and disposition == Disposition.answered and call.agent_id:
            await self._agent_display(call.agent_id)
        ended, recording, overflow_to = self._now(), call.recording, call.overflow_to
        self._write(lambda s: calls.end_call(s, call.uniqueid, disposition, hangup_by, cause, at=ended,
                                             recording=recording, overflow_to=overflow_to))

    # ---- recordings: copied off the PBX once finished ----

    def _copy_later(self, name: str) -> None:
        uniqueid = self.recording_calls.pop(name, None)
        if uniqueid is None or self.recordings_dir is None:
            return
        task = asyncio.create_task(self._copy_recording(name, uniqueid), name=f"copy-{name}")
        self._copies.add(task)
        task.add_done_callback(self._copies.discard)

    async def _copy_recording(self, name: str, uniqueid: str, attempts: int = 5) -> None:
        """Keep our copy of a finished recording (`<recordings dir>/<yyyy>/<mm>/<dd>/<name>.wav`),
        then delete it on the PBX; retried a few times if the PBX is busy."""
        assert self.recordings_dir is not None
        day = datetime.now(LOCAL_TZ).strftime("%Y/%m/%d")
        relative = f"{day}/{name}.wav"
        target = self.recordings_dir / relative
        for attempt in range(attempts):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".part")
                size = 0
                async with self.ari.stored_recording(name) as response:
                    with partial.open("wb") as out:
                        async for chunk in response.aiter_bytes():
                            out.write(chunk)
                            size += len(chunk)
                partial.replace(target)
                async with unit_of_work(self.sessions) as session:
                    await calls.set_recording_copy(session, uniqueid, name, relative, size)
                await self._ignore_gone(self.ari.request("DELETE", f"/recordings/stored/{name}"))
                return
            except (AriError, PbxUnreachable, OSError, httpx.HTTPError) as exc:
                log.warning("copying recording %s (attempt %d): %s", name, attempt + 1, exc)
                await asyncio.sleep(0.5 * 2 ** attempt)
        log.error("recording %s could not be copied off the PBX; it stays there", name)

    async def drain(self) -> None:
        """Wait for the recordings being copied (tests, shutdown)."""
        while self._copies:
            await asyncio.gather(*list(self._copies), return_exceptions=True)

    # ---- agents ----

    async def _sync_agents(self) -> None:
        """Make the ACD's log-ins and pauses those of the database (the API writes them)."""
        async with unit_of_work(self.sessions) as session:
            rows = {str(a.user_id): a for a in await calls.logged_in_agents(session)}
        now = self.clock()
        actions: list[Any] = []
        for view in self.acd.agents():
            if view.state != acd_engine.AgentState.LOGGED_OUT and view.agent_id not in rows:
                actions += self.acd.logout(now, view.agent_id)
        for agent_id, row in rows.items():
            view = self.acd.agent(agent_id)
            state = view.state if view else acd_engine.AgentState.LOGGED_OUT
            if state == acd_engine.AgentState.LOGGED_OUT:
                actions += self.acd.login(now, agent_id, row.extension)
            if row.status == AgentStatus.paused and state != acd_engine.AgentState.PAUSED:
                actions += self.acd.pause(now, agent_id, row.reason or "")
            elif row.status != AgentStatus.paused and state == acd_engine.AgentState.PAUSED:
                actions += self.acd.unpause(now, agent_id)
        await self._apply(actions)

    async def _agent_display(self, agent_id: str) -> None:
        """Write the agent's state as the ACD now sees it (ringing / busy / wrap-up / ready)."""
        view = self.acd.agent(agent_id)
        if not agent_id.isdigit() or view is None:
            return
        status = {acd_engine.AgentState.RINGING: AgentStatus.ringing, acd_engine.AgentState.BUSY: AgentStatus.busy,
                  acd_engine.AgentState.WRAPUP: AgentStatus.wrapup, acd_engine.AgentState.READY: AgentStatus.ready
                  }.get(view.state)
        if status is not None:
            self._write(lambda s: calls.set_agent_state(s, int(agent_id), status, only_if_active=True,
                                                        call_uniqueid=view.call_id))

    # ---- timer ----

    async def _timer(self) -> None:
        while True:
            deadline = self._next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass
            try:
                async with self._lock:
                    await self._on_time()
            except Exception:  # noqa: BLE001 - the timer must outlive one failing step
                log.exception("call center timer step failed")

    def _next_deadline(self) -> float | None:
        times = [c.ivr_deadline for c in self.calls.values() if c.ivr_deadline is not None]
        acd_deadline = self.acd.next_deadline()
        if acd_deadline is not None:
            times.append(acd_deadline)
        return min(times) if times else None

    async def _on_time(self) -> None:
        now = self.clock()
        for call in list(self.calls.values()):
            if call.ivr_deadline is not None and call.ivr_deadline <= now and call.menu is not None:
                await self._ivr_retry(call, None)
        if (deadline := self.acd.next_deadline()) is not None and deadline <= now:
            await self._apply(self.acd.tick(now))  # a ring it gave up on comes with its StopRinging

    # ---- ARI helpers ----

    async def _answer(self, call: LiveCall) -> None:
        await self._ignore_gone(self.ari.answer(call.channel_id))

    async def _play(self, call: LiveCall, media: str, then: Callable[[], Awaitable[None]]) -> None:
        self._seq += 1
        playback_id = f"{call.uniqueid}-p{self._seq}"
        call.playback_id, call.next_step = playback_id, then
        self.playbacks[playback_id] = call.channel_id
        try:
            await self.ari.play(call.channel_id, media, playback_id)
        except AriError as exc:
            log.warning("playing %s to %s failed: %s", media, call.uniqueid, exc)
            self.playbacks.pop(playback_id, None)
            call.playback_id, call.next_step = None, None
            await then()

    async def _stop_playback(self, call: LiveCall) -> None:
        if call.playback_id:
            self.playbacks.pop(call.playback_id, None)
            await self._ignore_gone(self.ari.stop_playback(call.playback_id))
            call.playback_id, call.next_step = None, None

    async def _playback_done(self, playback: Any) -> None:
        if playback is None:
            return
        channel_id = self.playbacks.pop(playback.id, None)
        call = self.calls.get(channel_id or "")
        if call is None or call.playback_id != playback.id:
            return
        then, call.playback_id, call.next_step = call.next_step, None, None
        if then is not None:
            await then()

    async def _ignore_gone(self, request: Awaitable[Any]) -> None:
        """An ARI request whose target may already be gone (404/409 are then fine)."""
        try:
            await request
        except AriError as exc:
            if exc.status not in (404, 409, 422):
                log.warning("%s", exc)
        except PbxUnreachable as exc:
            log.warning("%s", exc)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
