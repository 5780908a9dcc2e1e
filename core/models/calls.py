"""The call center (issue 7): call records, queue events with Asterisk `queue_log` meaning,
agents' states, and the routing the Stasis application follows for an inbound call (blacklist,
opening hours, IVR menus, queues with their members).

Numbers are stored as people dial them in Vietnam (national form `0912345678`, a foreign number
in E.164), like the message log, so a person's calls and messages are found by one number.

Destinations (where a route, an IVR digit, a closed line or a queue's overflow sends a call) are
strings: `queue:<name>`, `ivr:<name>`, `extension:<number>`, `message` (the caller leaves a
recorded message to be called back), `announcement:<media>` (play, then hang up), `hangup`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, tz_field, updated_at_field


class CallDirection(StrEnum):
    inbound = "in"  # a citizen called the hotline
    outbound = "out"  # an agent called a citizen (click-to-call, call-back)


class CallState(StrEnum):
    """Where a call is now (the live monitor); `ended` once it is over."""

    routing = "routing"  # blacklist, opening hours, IVR
    queued = "queued"  # waiting for an agent (music on hold)
    ringing = "ringing"  # one or more agents' phones ring
    talking = "talking"  # bridged with an agent
    message = "message"  # leaving a recorded message (closed hours)
    ended = "ended"


class Disposition(StrEnum):
    """How a call ended (reports: answered vs unanswered and their causes)."""

    answered = "answered"  # talked with an agent (hangup_by says who ended it)
    transferred = "transferred"  # answered, then transferred (transfer_to)
    abandoned = "abandoned"  # the caller hung up while waiting or ringing (ABANDON)
    timeout = "timeout"  # waited past the queue's maximum (EXITWITHTIMEOUT; overflow says where it went)
    no_agent = "no_agent"  # no agent could take it (EXITEMPTY)
    exit_key = "exit_key"  # the caller left the queue with a key (EXITWITHKEY)
    blacklisted = "blacklisted"  # refused: the number is on the blacklist
    closed = "closed"  # outside opening hours (a message may have been left)
    ivr_hangup = "ivr_hangup"  # hung up in the IVR before reaching a queue
    failed = "failed"  # outbound: the citizen's side failed or did not answer (cause says why)
    agent_no_answer = "agent_no_answer"  # outbound: the agent's phone did not answer first


class CallRecord(SQLModel, table=True):
    """One call, from the citizen's leg entering our application to its end; written as it
    happens (so a crash leaves the call's state so far) and closed once."""

    __tablename__ = "call"
    __table_args__ = (
        sa.Index("ix_call_number_started", "citizen_number", "started_at", "id"),
        sa.Index("ix_call_started_id", "started_at", "id"),
        sa.Index("ix_call_agent_started", "agent_id", "started_at", postgresql_where=sa.text("agent_id IS NOT NULL")),
        # missed inbound calls (CRM-07, CC-29): unanswered and not yet called back
        sa.Index("ix_call_missed", "started_at", "id", postgresql_where=sa.text(
            "direction = 'in' AND answered_at IS NULL AND ended_at IS NOT NULL AND called_back_at IS NULL "
            "AND disposition IN ('abandoned', 'timeout', 'no_agent', 'exit_key', 'closed')")),
        sa.Index("ix_call_live", "state", postgresql_where=sa.text("state <> 'ended'")),
        sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    uniqueid: str = Field(max_length=64, unique=True, description="ARI id of the citizen's channel")
    direction: CallDirection = Field(sa_type=sa.String(3))
    citizen_number: str = Field(max_length=64, description="the citizen's number, national form")
    citizen_name: str | None = Field(default=None, max_length=120, description="caller id name, if any")
    dialed: str | None = Field(default=None, max_length=64, description="the number dialled (1022, a DID, the citizen)")
    state: CallState = Field(default=CallState.routing, sa_type=sa.String(10))
    disposition: Disposition | None = Field(default=None, sa_type=sa.String(16))
    hangup_by: str | None = Field(default=None, max_length=10, description="caller | agent | system")
    cause: int | None = Field(default=None, description="Asterisk hangup cause of the citizen's leg")
    queue: str | None = Field(default=None, max_length=40)
    ivr_path: str | None = Field(default=None, max_length=64, description="digits pressed in IVR menus")
    agent_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    extension: str | None = Field(default=None, max_length=32, description="the agent's extension")
    started_at: datetime = created_at_field()
    queued_at: datetime | None = tz_field()
    ring_at: datetime | None = tz_field()
    answered_at: datetime | None = tz_field()
    ended_at: datetime | None = tz_field()
    wait_seconds: float | None = Field(default=None, description="queued (or started) until answered or ended")
    talk_seconds: float | None = None
    recording: str | None = Field(default=None, max_length=120, description="ARI stored recording name")
    recording_file: str | None = Field(default=None, max_length=255,
                                       description="the copy kept by us, relative to <data dir>/recordings")
    recording_bytes: int | None = Field(default=None, sa_type=sa.BigInteger)
    transfer_to: str | None = Field(default=None, max_length=64)
    overflow_to: str | None = Field(default=None, max_length=64)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", ondelete="SET NULL")
    callback_of_id: int | None = Field(default=None, sa_type=sa.BigInteger, foreign_key="call.id",
                                       ondelete="SET NULL", description="the missed call this call-back answers")
    called_back_at: datetime | None = tz_field()


class QueueEvent(SQLModel, table=True):
    """One event of a queue or an agent with the meaning of Asterisk's `queue_log` (ENTERQUEUE,
    RINGNOANSWER, CONNECT, COMPLETECALLER, COMPLETEAGENT, TRANSFER, ABANDON, EXITWITHTIMEOUT,
    EXITEMPTY, EXITWITHKEY, AGENTLOGIN, AGENTLOGOFF, PAUSE, UNPAUSE) and its data fields: the
    reports (CC-22…26) are computed from these. `event_key` makes a repeated write a no-op."""

    __tablename__ = "queue_event"
    __table_args__ = (
        sa.Index("ix_queue_event_at", "at", "id"),
        sa.Index("ix_queue_event_queue_at", "queue", "at"),
        sa.Index("ix_queue_event_agent_at", "agent_id", "at", postgresql_where=sa.text("agent_id IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    event_key: str = Field(max_length=120, unique=True)
    at: datetime = created_at_field()
    call_uniqueid: str | None = Field(default=None, max_length=64)
    queue: str | None = Field(default=None, max_length=40)
    agent_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    agent: str | None = Field(default=None, max_length=64, description="the agent's extension")
    event: str = Field(max_length=20)
    data1: str | None = Field(default=None, max_length=200)
    data2: str | None = Field(default=None, max_length=200)
    data3: str | None = Field(default=None, max_length=200)
    data4: str | None = Field(default=None, max_length=200)
    data5: str | None = Field(default=None, max_length=200)


class AgentStatus(StrEnum):
    logged_out = "logged_out"
    ready = "ready"
    paused = "paused"
    ringing = "ringing"
    busy = "busy"
    wrapup = "wrapup"


class AgentState(SQLModel, table=True):
    """An agent's state as the desk sees it (CC-02, 03, 39), kept so that a restart of the
    application finds who was logged in and paused."""

    __tablename__ = "agent_state"

    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", primary_key=True)
    extension: str = Field(max_length=32, index=True)
    status: AgentStatus = Field(default=AgentStatus.logged_out, sa_type=sa.String(12))
    reason: str | None = Field(default=None, max_length=60, description="why paused")
    call_uniqueid: str | None = Field(default=None, max_length=64, description="the call ringing or talking now")
    since: datetime = created_at_field()
    logged_in_at: datetime | None = tz_field()
    updated_at: datetime = updated_at_field()


class CallQueueConfig(SQLModel, table=True):
    """A queue of the ACD (CC-08); run by our Stasis application (telephony/acd.py)."""

    __tablename__ = "call_queue"

    name: str = Field(primary_key=True, max_length=40)
    title: str = Field(max_length=120)
    strategy: str = Field(default="leastrecent", max_length=12)
    ring_timeout_s: int = Field(default=20, ge=5, le=300)
    retry_s: int = Field(default=3, ge=0, le=60)
    max_wait_s: int | None = Field(default=600, ge=10, le=7200)
    overflow: str | None = Field(default="message", max_length=64)
    wrapup_s: int = Field(default=15, ge=0, le=600)
    join_empty: bool = True
    leave_when_empty: bool = False
    announce_position_every_s: int | None = Field(default=60, ge=15, le=600)
    service_level_s: int = Field(default=20, ge=5, le=600)
    join_announcement: str | None = Field(default=None, max_length=120, description="ARI media played on joining")
    moh_class: str = Field(default="default", max_length=40)
    record: bool = True
    updated_at: datetime = updated_at_field()


class CallQueueMember(SQLModel, table=True):
    __tablename__ = "call_queue_member"

    queue: str = Field(foreign_key="call_queue.name", ondelete="CASCADE", primary_key=True, max_length=40)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", primary_key=True)
    penalty: int = Field(default=0, ge=0, le=100)


class BlacklistEntry(SQLModel, table=True):
    """A nuisance number (CC-17): `number` exact, or a prefix ending in `*`."""

    __tablename__ = "call_blacklist"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    note: str | None = Field(default=None, max_length=255)
    play_message: bool = Field(default=True, description="play the refusal message before hanging up")
    created_at: datetime = created_at_field()


class InboundRoute(SQLModel, table=True):
    """What happens to a call to one of our numbers (the 1022 number, a DID): opening hours
    (CC-16) and the destinations when open and when closed."""

    __tablename__ = "call_route"

    dialed: str = Field(primary_key=True, max_length=64, description="1022, a DID, or * for any other")
    open_destination: str = Field(max_length=64)
    closed_destination: str = Field(default="message", max_length=64)
    # [{"days": [0..6 (Monday=0)], "from": "07:00", "to": "17:30"}, ...]; empty = always open
    open_hours: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    closed_days: list[str] = Field(default_factory=list, sa_type=JSONB, description="ISO dates closed all day")
    closed_announcement: str | None = Field(default=None, max_length=120)
    updated_at: datetime = updated_at_field()


class IvrMenu(SQLModel, table=True):
    """An IVR menu (CC-13): a greeting, digit -> destination, what a timeout or a wrong key does."""

    __tablename__ = "ivr_menu"

    name: str = Field(primary_key=True, max_length=40)
    greeting: str = Field(max_length=120, description="ARI media, e.g. sound:hotline-welcome or tone:…")
    options: dict[str, str] = Field(default_factory=dict, sa_type=JSONB, description="digit -> destination")
    timeout_s: int = Field(default=5, ge=1, le=60)
    max_tries: int = Field(default=3, ge=1, le=10)
    timeout_destination: str | None = Field(default=None, max_length=64)
    invalid_announcement: str | None = Field(default=None, max_length=120)
    updated_at: datetime = updated_at_field()
