"""Automatic call distribution (ACD) for the 1022 call center: a pure, sans-IO engine.

Model
-----
Issue 7 runs the call center on Asterisk 22 through ARI, and the ACD lives in our own Stasis
application instead of app_queue so that every state change is ours to record. This module is
only the decision-making part: it reads no clock, does no I/O and has no asyncio. The Stasis
application turns ARI events into calls on :class:`Acd` (each with ``now``, in seconds), carries
out the *actions* it returns (``Ring`` = originate to the agent's extension, ``StopRinging``,
``HangupAgentLeg``, ``Connect`` = bridge caller and agent, ``Announce``, ``Overflow``, ``Leave``)
and writes every :class:`QueueEvent` to its queue_log-style table. It calls :meth:`Acd.tick` at
:meth:`Acd.next_deadline` (ring timeouts, retries, maximum wait, end of wrap-up, announcements).

* A call waits in one queue (:class:`QueueConfig`) from ``enqueue`` until it is connected to an
  agent or leaves (abandon, key, timeout, empty). After connect it belongs to its agent until
  ``call_ended``/``transferred``; then the agent is in wrap-up for the queue's ``wrapup_s``.
* An agent is a member of one or more queues (``QueueConfig.members``: agent id and penalty)
  and takes one call at a time. Its state is derived, in this order of precedence: ``busy`` (on
  one of our calls), ``logged_out``, ``ringing`` (offered one of our calls), ``busy`` (its phone
  is busy with another call: ``set_device_busy``), ``paused`` (with a reason), ``wrapup``, else
  ``ready``. Only a ``ready`` agent is offered a call.
* A queue is *empty* when none of its members is logged in and unpaused (busy, ringing and
  wrap-up agents will come back, so they count as staff). ``join_empty=False`` refuses a call to
  an empty queue (EXITEMPTY + ``Leave(reason="empty")``, no ENTERQUEUE); ``leave_when_empty``
  sends the waiting callers away as soon as the queue becomes empty (also right after a join).

Distribution rules (and where they follow app_queue)
----------------------------------------------------
* Order of service: waiting calls are served by arrival (earliest ``enqueue`` first, across all
  queues, as an agent may be in several). Each call that is not ringing anyone takes, by its
  queue's strategy, from the agents that are ``ready``, members of its queue and not yet tried
  in the current round; an agent rings for one call at a time, so with several free agents
  several calls ring at once and the head of the line has the first pick. (app_queue lets
  several callers ring the same member with ``ringinuse``; we never do.)
* Penalty tiers: only the lowest penalty among those candidates is considered; a higher tier
  rings only when no lower-penalty member is available. This is app_queue's metric
  ``penalty * 1000000 + strategy metric``, best metric first, ties in member order.
* Strategies, as app_queue's ``calc_metric``:

  - ``ringall``: every candidate of the best tier at once; the first answer wins, the others
    get ``StopRinging`` (no queue_log line for them, as app_queue).
  - ``leastrecent``: the member whose last call *ended* longest ago; never called comes first.
  - ``fewestcalls``: the member with the fewest completed calls.
  - ``rrmemory``: round robin that remembers, per queue, where it stopped: after ringing member
    *i* the next search starts at *i + 1* (app_queue's ``rrpos``), whether or not *i* answered.
  - ``linear``: member order, every call starts again from the first member.
  - ``random``: uniform among the best tier, with the injected ``random.Random``.

  ``last call end`` and ``calls taken`` are per agent across queues (app_queue's
  ``shared_lastcall=yes`` behaviour); a 24/7 desk of six operators is one team.
* Rounds and retry: a call rings one agent (all the tier for ringall) for ``ring_timeout_s``.
  A rejection, a busy phone or a ring timeout gives RINGNOANSWER and the call moves at once to
  the next untried candidate. When every available candidate has been tried the round is over:
  the call waits ``retry_s`` and then starts a new round with everyone eligible again. An agent
  who becomes ready meanwhile and was not tried in this round is offered the call at once.
  (app_queue waits ``retry`` after every ring timeout and moves on immediately only on busy or
  congestion; we ring the next operator right away so a citizen does not wait for nothing.)
* Maximum wait: at ``entered + max_wait_s`` ringing stops and the call leaves with
  EXITWITHTIMEOUT, to ``Overflow(destination)`` or, without one, ``Leave(reason="timeout")``
  (app_queue's ``timeoutpriority=app``: the queue's timeout is strict, even while ringing).
* Announcements: every ``announce_position_every_s`` since entering, a waiting call that is not
  ringing anyone gets ``Announce(position, estimated_wait_s)`` (app_queue does not announce
  while members ring either). The estimate is ``average holdtime * position / staffed agents``,
  the average being app_queue's ``(3 * old + new) / 4`` of connect holdtimes; None until the
  queue has connected a call.
* Races: an answer for a call that already left, or from an agent whose ring was stopped, gets
  ``HangupAgentLeg`` and no CONNECT; stale rejections are ignored. Pausing while ringing does not
  cancel the ring (as app_queue); logging out does (RINGCANCELED).

queue_log correspondence
------------------------
:class:`QueueEvent` is one queue_log line: ``time``, ``call_id`` (the caller channel's unique
id; None where queue_log writes ``NONE``: agent events), ``queue``, ``agent`` (None = ``NONE``),
``event`` and ``data`` (data1, data2, ... in order). Durations are whole seconds, except
``ringtime`` of RINGNOANSWER and RINGCANCELED, which queue_log gives in milliseconds. Sources:
docs.asterisk.org "Operation / Logging / Queue Logs" and app_queue.c.

=================  ================================================================
ENTERQUEUE         url (always ""), callerid, position (on entering; app_queue.c
                   logs the position as data3 although the page lists url|callerid)
RINGNOANSWER       ringtime in ms: how long the agent rang without answering
RINGCANCELED       ringtime in ms: the ring stopped because the caller left or the agent
                   logged out while ringing
CONNECT            holdtime (s waited before connect), agent channel unique id (as
                   given to ``agent_answered``), ringtime (s the agent rang)
COMPLETECALLER     holdtime, calltime (s connected), origposition: caller hung up
COMPLETEAGENT      holdtime, calltime, origposition: agent hung up
TRANSFER           extension, context, holdtime, calltime, origposition
ABANDON            position (when leaving), origposition (on entering), waittime (s)
EXITWITHTIMEOUT    position, origposition, waittime: max wait passed
EXITEMPTY          position, origposition, waittime: no staff (join or leave when empty)
EXITWITHKEY        key, position, origposition, waittime: the caller pressed a key
AGENTLOGIN         channel (the agent's extension); one line per queue of the agent
AGENTLOGOFF        channel, logintime (s logged in); one line per queue
PAUSE              reason; one line per queue
UNPAUSE            reason (that of the pause that ends); one line per queue
=================  ================================================================

COMPLETECALLER, COMPLETEAGENT, TRANSFER, ABANDON, EXITWITHTIMEOUT, EXITEMPTY and EXITWITHKEY
are terminal: every call that entered gets exactly one of them (``TERMINAL_EVENTS``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Strategy(StrEnum):
    RINGALL = "ringall"
    LEASTRECENT = "leastrecent"
    FEWESTCALLS = "fewestcalls"
    RRMEMORY = "rrmemory"
    LINEAR = "linear"
    RANDOM = "random"


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"
    RINGING = "ringing"
    BUSY = "busy"
    WRAPUP = "wrapup"


class EventType(StrEnum):
    ENTERQUEUE = "ENTERQUEUE"
    RINGNOANSWER = "RINGNOANSWER"
    RINGCANCELED = "RINGCANCELED"
    CONNECT = "CONNECT"
    COMPLETECALLER = "COMPLETECALLER"
    COMPLETEAGENT = "COMPLETEAGENT"
    TRANSFER = "TRANSFER"
    ABANDON = "ABANDON"
    EXITWITHTIMEOUT = "EXITWITHTIMEOUT"
    EXITEMPTY = "EXITEMPTY"
    EXITWITHKEY = "EXITWITHKEY"
    AGENTLOGIN = "AGENTLOGIN"
    AGENTLOGOFF = "AGENTLOGOFF"
    PAUSE = "PAUSE"
    UNPAUSE = "UNPAUSE"


TERMINAL_EVENTS = frozenset(
    {
        EventType.COMPLETECALLER,
        EventType.COMPLETEAGENT,
        EventType.TRANSFER,
        EventType.ABANDON,
        EventType.EXITWITHTIMEOUT,
        EventType.EXITEMPTY,
        EventType.EXITWITHKEY,
    }
)


@dataclass(frozen=True)
class QueueConfig:
    """One queue. ``members`` are (agent id, penalty); a lower penalty is tried first."""

    name: str
    strategy: Strategy = Strategy.RINGALL
    members: Sequence[tuple[str, int]] = ()
    ring_timeout_s: float = 15.0
    retry_s: float = 5.0
    max_wait_s: float | None = None
    overflow: str | None = None
    wrapup_s: float = 0.0
    join_empty: bool = True
    leave_when_empty: bool = False
    announce_position_every_s: float | None = None
    service_level_s: float = 20.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", Strategy(self.strategy))
        object.__setattr__(self, "members", tuple((str(a), int(p)) for a, p in self.members))
        if len({a for a, _ in self.members}) != len(self.members):
            raise ValueError(f"queue {self.name}: an agent is listed twice")
        if self.ring_timeout_s <= 0 or self.retry_s < 0 or self.wrapup_s < 0:
            raise ValueError(f"queue {self.name}: ring_timeout_s must be > 0, retry_s and wrapup_s >= 0")
        if self.announce_position_every_s is not None and self.announce_position_every_s <= 0:
            raise ValueError(f"queue {self.name}: announce_position_every_s must be > 0")


# ---------------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class QueueEvent:
    """One queue_log line; see the module docstring for ``data`` of each event."""

    time: float
    call_id: str | None
    queue: str
    agent: str | None
    event: EventType
    data: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class Ring:
    """Originate a call to the agent's extension for this caller."""

    call_id: str
    agent_id: str
    extension: str
    queue: str
    caller: str
    timeout_s: float


@dataclass(frozen=True)
class StopRinging:
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class HangupAgentLeg:
    """The agent answered a call that is no longer offered to them: hang their leg up."""

    call_id: str
    agent_id: str


@dataclass(frozen=True)
class Connect:
    """Bridge the caller with the agent's answered leg."""

    call_id: str
    agent_id: str
    queue: str


@dataclass(frozen=True)
class Announce:
    call_id: str
    queue: str
    position: int
    estimated_wait_s: int | None


@dataclass(frozen=True)
class Overflow:
    """Max wait passed: send the caller to ``destination`` (out of the queue)."""

    call_id: str
    queue: str
    destination: str


@dataclass(frozen=True)
class Leave:
    """The caller leaves the queue without an agent: ``reason`` is ``empty`` or ``timeout``."""

    call_id: str
    queue: str
    reason: Literal["empty", "timeout"]


Action = QueueEvent | Ring | StopRinging | HangupAgentLeg | Connect | Announce | Overflow | Leave


# ------------------------------------------------------------------------------------ views


@dataclass(frozen=True)
class WaitingCall:
    call_id: str
    queue: str
    caller: str
    position: int
    wait_s: float
    ringing: tuple[str, ...]


@dataclass(frozen=True)
class AgentView:
    agent_id: str
    extension: str
    state: AgentState
    since: float
    pause_reason: str | None
    call_id: str | None
    calls_taken: int
    last_call_end: float | None


@dataclass(frozen=True)
class QueueStats:
    waiting: int
    answered: int
    answered_within_sl: int
    abandoned: int
    avg_holdtime_s: float | None

    @property
    def service_level(self) -> float | None:
        """Share of connected calls answered within ``service_level_s``."""
        return self.answered_within_sl / self.answered if self.answered else None


# --------------------------------------------------------------------------------- internals


@dataclass
class _Agent:
    agent_id: str
    extension: str = ""
    logged_in: bool = False
    login_at: float = 0.0
    paused: bool = False
    pause_reason: str = ""
    device_busy: bool = False
    ringing_for: str | None = None
    call_id: str | None = None
    wrapup_until: float | None = None
    calls_taken: int = 0
    last_call_end: float | None = None
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0

    def current_state(self) -> AgentState:
        if self.call_id is not None:
            return AgentState.BUSY
        if not self.logged_in:
            return AgentState.LOGGED_OUT
        if self.ringing_for is not None:
            return AgentState.RINGING
        if self.device_busy:
            return AgentState.BUSY
        if self.paused:
            return AgentState.PAUSED
        if self.wrapup_until is not None:
            return AgentState.WRAPUP
        return AgentState.READY


@dataclass
class _Call:
    call_id: str
    queue: str
    caller: str
    entered: float
    seq: int
    origposition: int
    next_announce: float | None
    ringing: dict[str, float] = field(default_factory=dict)  # agent id -> ring start
    tried: set[str] = field(default_factory=set)  # agents tried in this round
    retry_at: float | None = None
    agent: str | None = None
    connected_at: float | None = None


@dataclass
class _Stats:
    answered: int = 0
    answered_within_sl: int = 0
    abandoned: int = 0
    avg_holdtime_s: float | None = None


def _s(seconds: float) -> int:
    """Whole seconds for queue_log (nearest)."""
    return int(seconds + 0.5)


def _ms(seconds: float) -> int:
    return int(seconds * 1000 + 0.5)


class Acd:
    """The engine. Every mutating method takes ``now`` and returns the actions to carry out."""

    def __init__(self, queues: Iterable[QueueConfig], rng: random.Random | None = None) -> None:
        self._queues = {q.name: q for q in queues}
        self._rng = rng if rng is not None else random.Random()
        self._agents: dict[str, _Agent] = {}
        self._agent_queues: dict[str, list[str]] = {}
        for q in self._queues.values():
            for agent_id, _ in q.members:
                self._agents.setdefault(agent_id, _Agent(agent_id))
                self._agent_queues.setdefault(agent_id, []).append(q.name)
        self._calls: dict[str, _Call] = {}
        self._waiting: dict[str, list[str]] = {name: [] for name in self._queues}
        self._rrpos: dict[str, int] = {name: 0 for name in self._queues}
        self._stats: dict[str, _Stats] = {name: _Stats() for name in self._queues}
        self._seq = 0

    # ------------------------------------------------------------------------------ agents

    def login(self, now: float, agent_id: str, extension: str) -> list[Action]:
        a = self._agents.setdefault(agent_id, _Agent(agent_id))
        if a.logged_in:
            a.extension = extension
            return self._settle(now, [])
        a.logged_in, a.extension, a.login_at = True, extension, now
        a.paused, a.pause_reason, a.wrapup_until = False, "", None
        return self._settle(now, self._agent_events(now, a, EventType.AGENTLOGIN, (extension,)))

    def logout(self, now: float, agent_id: str) -> list[Action]:
        a = self._agents.get(agent_id)
        if a is None or not a.logged_in:
            return []
        actions: list[Action] = []
        if a.ringing_for is not None:
            actions += self._end_ring(now, self._calls[a.ringing_for], agent_id, EventType.RINGCANCELED)
        actions += self._agent_events(now, a, EventType.AGENTLOGOFF, (a.extension, _s(now - a.login_at)))
        a.logged_in, a.paused, a.pause_reason, a.wrapup_until = False, False, "", None
        return self._settle(now, actions)

    def pause(self, now: float, agent_id: str, reason: str) -> list[Action]:
        a = self._agents.get(agent_id)
        if a is None or not a.logged_in or (a.paused and a.pause_reason == reason):
            return []
        a.paused, a.pause_reason = True, reason
        return self._settle(now, self._agent_events(now, a, EventType.PAUSE, (reason,)))

    def unpause(self, now: float, agent_id: str) -> list[Action]:
        a = self._agents.get(agent_id)
        if a is None or not a.paused:
            return []
        actions = self._agent_events(now, a, EventType.UNPAUSE, (a.pause_reason,))
        a.paused, a.pause_reason = False, ""
        return self._settle(now, actions)

    def set_device_busy(self, now: float, agent_id: str, busy: bool) -> list[Action]:
        """The agent's phone is busy (or free again) outside our calls; a ringing offer ends."""
        a = self._agents.get(agent_id)
        if a is None:
            return []
        a.device_busy = busy
        actions: list[Action] = []
        if busy and a.ringing_for is not None:
            actions += self._end_ring(now, self._calls[a.ringing_for], agent_id, EventType.RINGNOANSWER)
        return self._settle(now, actions)

    # ------------------------------------------------------------------------------- calls

    def enqueue(self, now: float, call_id: str, queue: str, caller: str) -> list[Action]:
        cfg = self._queues[queue]
        if call_id in self._calls:
            raise ValueError(f"call {call_id} is already queued")
        position = len(self._waiting[queue]) + 1
        if not cfg.join_empty and self._is_empty(queue):
            event = QueueEvent(now, call_id, queue, None, EventType.EXITEMPTY, (position, position, 0))
            return [event, Leave(call_id, queue, "empty")]
        self._seq += 1
        every = cfg.announce_position_every_s
        self._calls[call_id] = _Call(
            call_id, queue, caller, now, self._seq, position, None if every is None else now + every
        )
        self._waiting[queue].append(call_id)
        return self._settle(now, [QueueEvent(now, call_id, queue, None, EventType.ENTERQUEUE, ("", caller, position))])

    def agent_answered(self, now: float, call_id: str, agent_id: str, agent_channel: str = "") -> list[Action]:
        call, a = self._calls.get(call_id), self._agents.get(agent_id)
        if call is None or a is None or agent_id not in call.ringing:
            return [HangupAgentLeg(call_id, agent_id)]
        ringtime = now - call.ringing.pop(agent_id)
        a.ringing_for = None
        actions: list[Action] = []
        for other in list(call.ringing):
            actions += self._end_ring(now, call, other, None)
        holdtime = now - call.entered
        call.agent, call.connected_at, a.call_id = agent_id, now, call_id
        self._waiting[call.queue].remove(call_id)
        stats, cfg = self._stats[call.queue], self._queues[call.queue]
        stats.answered += 1
        stats.answered_within_sl += holdtime <= cfg.service_level_s
        old = stats.avg_holdtime_s
        stats.avg_holdtime_s = holdtime if old is None else (3 * old + holdtime) / 4
        actions.append(Connect(call_id, agent_id, call.queue))
        data = (_s(holdtime), agent_channel, _s(ringtime))
        actions.append(QueueEvent(now, call_id, call.queue, agent_id, EventType.CONNECT, data))
        return self._settle(now, actions)

    def agent_rejected(self, now: float, call_id: str, agent_id: str) -> list[Action]:
        call = self._calls.get(call_id)
        if call is None or agent_id not in call.ringing:
            return []
        return self._settle(now, self._end_ring(now, call, agent_id, EventType.RINGNOANSWER))

    def caller_left(self, now: float, call_id: str) -> list[Action]:
        """The caller hung up: ABANDON while waiting, COMPLETECALLER once connected."""
        call = self._calls.get(call_id)
        if call is None:
            return []
        if call.agent is not None:
            return self.call_ended(now, call_id, by="caller")
        self._stats[call.queue].abandoned += 1
        return self._settle(now, self._exit(now, call, EventType.ABANDON, ()))

    def caller_key(self, now: float, call_id: str, key: str) -> list[Action]:
        """The waiting caller pressed an exit key (the Stasis app routes them on)."""
        call = self._calls.get(call_id)
        if call is None or call.agent is not None:
            return []
        return self._settle(now, self._exit(now, call, EventType.EXITWITHKEY, (key,)))

    def call_ended(self, now: float, call_id: str, by: Literal["caller", "agent"]) -> list[Action]:
        call = self._calls.get(call_id)
        if call is None:
            return []
        if call.agent is None:
            return self.caller_left(now, call_id) if by == "caller" else []
        event = EventType.COMPLETECALLER if by == "caller" else EventType.COMPLETEAGENT
        return self._settle(now, self._complete(now, call, event, ()))

    def transferred(self, now: float, call_id: str, to: str, context: str = "") -> list[Action]:
        call = self._calls.get(call_id)
        if call is None or call.agent is None:
            return []
        return self._settle(now, self._complete(now, call, EventType.TRANSFER, (to, context)))

    # -------------------------------------------------------------------------------- time

    def tick(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for a in self._agents.values():
            if a.wrapup_until is not None and a.wrapup_until <= now:
                a.wrapup_until = None
        for call in self._waiting_calls():
            cfg = self._queues[call.queue]
            if cfg.max_wait_s is not None and now >= call.entered + cfg.max_wait_s:
                then: Action = (
                    Overflow(call.call_id, call.queue, cfg.overflow)
                    if cfg.overflow is not None
                    else Leave(call.call_id, call.queue, "timeout")
                )
                actions += self._exit(now, call, EventType.EXITWITHTIMEOUT, (), then)
                continue
            for agent_id, start in list(call.ringing.items()):
                if now >= start + cfg.ring_timeout_s:
                    actions += self._end_ring(now, call, agent_id, EventType.RINGNOANSWER)
            every = cfg.announce_position_every_s
            if every is not None and call.next_announce is not None and call.next_announce <= now:
                while call.next_announce <= now:
                    call.next_announce += every
                if not call.ringing:
                    position = self._position(call)
                    actions.append(Announce(call.call_id, call.queue, position, self._estimate(call.queue, position)))
        return self._settle(now, actions)

    def next_deadline(self) -> float | None:
        """The earliest ``now`` at which ``tick`` has something to do; None when nothing is timed."""
        times: list[float] = [a.wrapup_until for a in self._agents.values() if a.wrapup_until is not None]
        for call in self._waiting_calls():
            cfg = self._queues[call.queue]
            if cfg.max_wait_s is not None:
                times.append(call.entered + cfg.max_wait_s)
            times += [start + cfg.ring_timeout_s for start in call.ringing.values()]
            if call.retry_at is not None and not call.ringing:
                times.append(call.retry_at)
            if call.next_announce is not None:
                times.append(call.next_announce)
        return min(times, default=None)

    # ------------------------------------------------------------------------------- views

    def waiting(self, now: float, queue: str | None = None) -> list[WaitingCall]:
        """Waiting calls, per queue in position order."""
        names = [queue] if queue is not None else list(self._queues)
        return [
            WaitingCall(c.call_id, c.queue, c.caller, i + 1, now - c.entered, tuple(c.ringing))
            for name in names
            for i, c in enumerate(self._calls[cid] for cid in self._waiting[name])
        ]

    def agents(self) -> list[AgentView]:
        return [self._view(a) for a in self._agents.values()]

    def agent(self, agent_id: str) -> AgentView | None:
        """One agent's view (None for an agent the engine never heard of)."""
        a = self._agents.get(agent_id)
        return None if a is None else self._view(a)

    @staticmethod
    def _view(a: _Agent) -> AgentView:
        return AgentView(a.agent_id, a.extension, a.state, a.since, a.pause_reason if a.paused else None,
                         a.call_id or a.ringing_for, a.calls_taken, a.last_call_end)

    def agent_state(self, agent_id: str) -> AgentState:
        return self._agents[agent_id].current_state()

    def queue_stats(self, queue: str) -> QueueStats:
        s = self._stats[queue]
        return QueueStats(len(self._waiting[queue]), s.answered, s.answered_within_sl, s.abandoned, s.avg_holdtime_s)

    # --------------------------------------------------------------------------- internals

    def _waiting_calls(self) -> list[_Call]:
        """Calls not yet connected, in order of arrival across queues."""
        return sorted((c for c in self._calls.values() if c.agent is None), key=lambda c: c.seq)

    def _position(self, call: _Call) -> int:
        return self._waiting[call.queue].index(call.call_id) + 1

    def _is_empty(self, queue: str) -> bool:
        return not any(
            self._agents[agent_id].logged_in and not self._agents[agent_id].paused
            for agent_id, _ in self._queues[queue].members
        )

    def _estimate(self, queue: str, position: int) -> int | None:
        avg = self._stats[queue].avg_holdtime_s
        if avg is None:
            return None
        staffed = sum(
            1 for agent_id, _ in self._queues[queue].members
            if self._agents[agent_id].logged_in and not self._agents[agent_id].paused
        )
        return _s(avg * position / max(1, staffed))

    def _agent_events(self, now: float, a: _Agent, event: EventType, data: tuple[str | int, ...]) -> list[Action]:
        return [QueueEvent(now, None, q, a.agent_id, event, data) for q in self._agent_queues.get(a.agent_id, [])]

    def _end_ring(self, now: float, call: _Call, agent_id: str, event: EventType | None) -> list[Action]:
        """Stop ringing one agent for a call; the agent counts as tried in this round."""
        start = call.ringing.pop(agent_id)
        self._agents[agent_id].ringing_for = None
        call.tried.add(agent_id)
        actions: list[Action] = [StopRinging(call.call_id, agent_id)]
        if event is not None:
            actions.append(QueueEvent(now, call.call_id, call.queue, agent_id, event, (_ms(now - start),)))
        return actions

    def _exit(
        self, now: float, call: _Call, event: EventType, prefix: tuple[str | int, ...], then: Action | None = None
    ) -> list[Action]:
        """A waiting call leaves the queue without an agent."""
        actions: list[Action] = []
        for agent_id in list(call.ringing):
            actions += self._end_ring(now, call, agent_id, EventType.RINGCANCELED)
        data = (*prefix, self._position(call), call.origposition, _s(now - call.entered))
        self._waiting[call.queue].remove(call.call_id)
        del self._calls[call.call_id]
        actions.append(QueueEvent(now, call.call_id, call.queue, None, event, data))
        if then is not None:
            actions.append(then)
        return actions

    def _complete(self, now: float, call: _Call, event: EventType, prefix: tuple[str | int, ...]) -> list[Action]:
        """A connected call ends; its agent goes to wrap-up."""
        assert call.agent is not None and call.connected_at is not None
        a = self._agents[call.agent]
        holdtime, calltime = call.connected_at - call.entered, now - call.connected_at
        data = (*prefix, _s(holdtime), _s(calltime), call.origposition)
        del self._calls[call.call_id]
        a.call_id = None
        a.calls_taken += 1
        a.last_call_end = now
        wrapup = self._queues[call.queue].wrapup_s
        if a.logged_in and wrapup > 0:
            a.wrapup_until = now + wrapup
        return [QueueEvent(now, call.call_id, call.queue, call.agent, event, data)]

    def _settle(self, now: float, actions: list[Action]) -> list[Action]:
        """After every change: empty queues let their callers go, then waiting calls are offered."""
        for name, cfg in self._queues.items():
            if cfg.leave_when_empty and self._waiting[name] and self._is_empty(name):
                for call_id in list(self._waiting[name]):
                    call = self._calls[call_id]
                    actions += self._exit(now, call, EventType.EXITEMPTY, (), Leave(call_id, name, "empty"))
        for call in self._waiting_calls():
            if call.ringing:
                continue
            cfg = self._queues[call.queue]
            if call.retry_at is not None and call.retry_at <= now:
                call.tried.clear()
                call.retry_at = None
            chosen = self._choose(cfg, call)
            if not chosen:
                if call.tried and call.retry_at is None:
                    call.retry_at = now + cfg.retry_s
                continue
            for agent_id in chosen:
                a = self._agents[agent_id]
                a.ringing_for = call.call_id
                call.ringing[agent_id] = now
                actions.append(Ring(call.call_id, agent_id, a.extension, call.queue, call.caller, cfg.ring_timeout_s))
        for a in self._agents.values():
            state = a.current_state()
            if state != a.state:
                a.state, a.since = state, now
        return actions

    def _choose(self, cfg: QueueConfig, call: _Call) -> list[str]:
        """The agents to ring now for ``call`` by the queue's strategy (app_queue's best metric)."""
        candidates = [
            (i, agent_id, penalty)
            for i, (agent_id, penalty) in enumerate(cfg.members)
            if agent_id not in call.tried and self._agents[agent_id].current_state() is AgentState.READY
        ]
        if not candidates:
            return []
        best = min(penalty for _, _, penalty in candidates)
        tier = [(i, agent_id) for i, agent_id, penalty in candidates if penalty == best]
        strategy, n = cfg.strategy, len(cfg.members)
        if strategy is Strategy.RINGALL:
            return [agent_id for _, agent_id in tier]
        if strategy is Strategy.RANDOM:
            return [self._rng.choice(tier)[1]]
        if strategy is Strategy.RRMEMORY:
            rrpos = self._rrpos[cfg.name]
            i, agent_id = min(tier, key=lambda t: (t[0] - rrpos) % n)
            self._rrpos[cfg.name] = (i + 1) % n
            return [agent_id]
        if strategy is Strategy.LEASTRECENT:

            def last_end(t: tuple[int, str]) -> tuple[float, int]:
                end = self._agents[t[1]].last_call_end
                return (float("-inf") if end is None else end, t[0])

            return [min(tier, key=last_end)[1]]
        if strategy is Strategy.FEWESTCALLS:
            return [min(tier, key=lambda t: (self._agents[t[1]].calls_taken, t[0]))[1]]
        return [min(tier)[1]]  # linear: member order
