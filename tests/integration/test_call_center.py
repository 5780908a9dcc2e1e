"""The `hotline` Stasis application against the ARI double (issue 7): scripted calls through the
real protocol — answered, abandoned in the queue, an agent who does not answer then the next,
blacklisted, after hours with a message, queue timeout with overflow, an IVR choice, and a call
that ends while the events socket is down — each writing the right call record and queue events.
Every request the application makes must be one Asterisk 22 declares (`ari.violations`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from core.db import unit_of_work
from core.models import (
    BlacklistEntry,
    CallQueueConfig,
    CallQueueMember,
    CallRecord,
    InboundRoute,
    IvrMenu,
    QueueEvent,
    User,
)
from core.models.calls import AgentStatus, CallState, Disposition
from core.services import calls
from telephony.ari_client import AriClient
from telephony.stasis import CallCenter, Prompts
from tests.doubles.ari_double import AriDouble
from tests.support import eventually

USER, PASSWORD = "hotline", "ari-secret"


@pytest.fixture
def ari() -> Any:
    with AriDouble(app="hotline", user=USER, password=PASSWORD, playback_seconds=0.01) as double:
        for extension in ("101", "102"):
            double.add_endpoint("PJSIP", extension)
        yield double


async def agents(sessions) -> dict[str, int]:  # noqa: ANN001
    async with unit_of_work(sessions) as session:
        rows = (await session.exec(select(User.username, User.id).where(
            col(User.username).in_(["dieuphoi", "dienthoai"])))).all()
    return dict(rows)  # type: ignore[arg-type]


async def configure(sessions, *, strategy: str = "linear", max_wait_s: int | None = 600, overflow: str | None = "message",
                    open_hours: list | None = None, destination: str = "queue:hotline", ring_timeout_s: int = 15,
                    members: tuple[str, ...] = ("dieuphoi", "dienthoai")) -> dict[str, int]:  # noqa: ANN001
    people = await agents(sessions)
    async with unit_of_work(sessions) as session:  # this test's routing instead of the demo's
        for table in ("call_queue_member", "call_queue", "call_route", "ivr_menu"):
            await session.exec(sa.text(f"DELETE FROM {table}"))  # type: ignore[call-overload]
    async with unit_of_work(sessions) as session:
        session.add(CallQueueConfig(name="hotline", title="Tổng đài 1022", strategy=strategy, ring_timeout_s=ring_timeout_s,
                                    retry_s=1, max_wait_s=max_wait_s, overflow=overflow, wrapup_s=0,
                                    announce_position_every_s=None, record=True))
        await session.flush()
        session.add_all([CallQueueMember(queue="hotline", user_id=people[name], penalty=i)
                         for i, name in enumerate(members)])
        session.add(InboundRoute(dialed="1022", open_destination=destination, closed_destination="message",
                                 open_hours=open_hours or [], closed_announcement="sound:hotline/closed"))
        session.add(IvrMenu(name="main", greeting="sound:hotline/menu", options={"1": "queue:hotline", "9": "hangup"},
                            timeout_s=5, max_tries=2, timeout_destination="queue:hotline"))
    return people


async def log_in(sessions, user_id: int, extension: str) -> None:  # noqa: ANN001
    async with unit_of_work(sessions) as session:
        await calls.change_agent(session, user_id, AgentStatus.ready, extension)


@pytest.fixture
async def center(app, ari, tmp_path) -> AsyncIterator[CallCenter]:  # noqa: ANN001
    """The application connected to the double; configure() and log_in() before `start()`."""
    client = AriClient(ari.url, USER, PASSWORD, app="hotline", max_backoff=0.5)
    cc = CallCenter(client, app.state.services.sessions, prompts=Prompts(position="sound:hotline/position"),
                    recordings_dir=tmp_path / "recordings")
    task: asyncio.Task | None = None

    async def start() -> CallCenter:
        nonlocal task
        task = asyncio.create_task(cc.run())
        await asyncio.wait_for(cc.ready.wait(), 10)
        return cc

    cc.start = start  # type: ignore[attr-defined]
    yield cc
    if task is not None:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await client.aclose()
    assert ari.violations == []


async def record(sessions, uniqueid: str) -> CallRecord:  # noqa: ANN001
    async with sessions() as session:
        return (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).one()


async def ended(sessions, uniqueid: str) -> CallRecord:  # noqa: ANN001
    async def closed() -> CallRecord | None:
        async with sessions() as session:
            row = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).first()
        return row if row is not None and row.state == CallState.ended else None

    return await eventually(closed, f"call {uniqueid} closed")


async def queue_events(sessions, uniqueid: str) -> list[tuple[str, str | None]]:  # noqa: ANN001
    async with sessions() as session:
        rows = (await session.exec(select(QueueEvent).where(QueueEvent.call_uniqueid == uniqueid)
                                   .order_by(col(QueueEvent.at), col(QueueEvent.id)))).all()
    return [(r.event, r.agent) for r in rows]


async def ringing(ari: AriDouble, endpoint: str) -> None:
    await ari.wait_for(lambda: any(c.originated and c.endpoint == endpoint and c.state == "Ringing"
                                   for c in ari.channels.values()), timeout=5)


async def test_an_answered_call_is_bridged_recorded_and_logged(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    people = await configure(sessions)
    await log_in(sessions, people["dieuphoi"], "101")
    await center.start()
    # when a citizen calls 1022 and the first agent answers
    call = ari.incoming_call(caller="+84912345678", caller_name="Nguyen Van An")
    await ringing(ari, "PJSIP/101")
    ari.answer_originated("PJSIP/101")
    await ari.wait_for(lambda: any(len(b.channels) == 2 for b in ari.bridges.values()))
    await ari.wait_for(lambda: bool(ari.live_recordings))
    talking = await eventually(lambda: _state(sessions, call, CallState.talking), "talking")
    assert talking.agent_id == people["dieuphoi"] and talking.extension == "101"
    # then the caller hangs up
    ari.hang_up(call)
    row = await ended(sessions, call)
    assert (row.disposition, row.hangup_by, row.citizen_number, row.citizen_name) == (
        Disposition.answered, "caller", "0912345678", "Nguyen Van An")
    assert row.queue == "hotline" and row.recording
    assert row.queued_at and row.ring_at and row.answered_at and row.ended_at
    assert row.started_at <= row.queued_at <= row.ring_at <= row.answered_at <= row.ended_at
    assert row.talk_seconds is not None and row.wait_seconds is not None
    assert await queue_events(sessions, call) == [("ENTERQUEUE", None), ("CONNECT", "101"), ("COMPLETECALLER", "101")]
    # the agent's leg and the bridge are gone
    await ari.wait_for(lambda: not ari.bridges and not ari.channels)
    # and the recording is copied off the PBX (then deleted there)
    copied = await eventually(lambda: _copied(sessions, call), "the recording copied")
    kept = center.recordings_dir / copied.recording_file  # type: ignore[operator]
    assert kept.stat().st_size == copied.recording_bytes and kept.read_bytes()[:4] == b"RIFF"
    await ari.wait_for(lambda: copied.recording not in ari.stored)


async def _copied(sessions, uniqueid: str) -> CallRecord | None:  # noqa: ANN001
    row = await record(sessions, uniqueid)
    return row if row.recording_file else None


async def _state(sessions, uniqueid: str, state: CallState) -> CallRecord | None:  # noqa: ANN001
    async with sessions() as session:
        row = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).first()
    return row if row is not None and row.state == state else None


async def test_a_caller_who_gives_up_while_waiting_is_an_abandoned_call(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    people = await configure(sessions)
    await log_in(sessions, people["dieuphoi"], "101")
    await center.start()
    call = ari.incoming_call()
    await ringing(ari, "PJSIP/101")
    ari.hang_up(call)
    row = await ended(sessions, call)
    assert (row.disposition, row.hangup_by, row.answered_at, row.talk_seconds) == (Disposition.abandoned, "caller",
                                                                                  None, None)
    events = [e for e, _ in await queue_events(sessions, call)]
    assert events[0] == "ENTERQUEUE" and events[-1] == "ABANDON"
    # the agent's phone stops ringing
    await ari.wait_for(lambda: not ari.channels)


async def test_an_agent_who_does_not_answer_is_skipped_for_the_next(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    people = await configure(sessions, strategy="linear")
    await log_in(sessions, people["dieuphoi"], "101")
    await log_in(sessions, people["dienthoai"], "102")
    await center.start()
    call = ari.incoming_call()
    await ringing(ari, "PJSIP/101")
    ari.reject_originated("PJSIP/101", cause=21)
    await ringing(ari, "PJSIP/102")
    ari.answer_originated("PJSIP/102")
    talking = await eventually(lambda: _state(sessions, call, CallState.talking), "talking")
    assert talking.extension == "102"
    ari.hang_up(call)
    await ended(sessions, call)
    assert await queue_events(sessions, call) == [("ENTERQUEUE", None), ("RINGNOANSWER", "101"), ("CONNECT", "102"),
                                                   ("COMPLETECALLER", "102")]


async def test_a_blacklisted_number_is_refused_with_a_message(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    await configure(sessions)
    async with unit_of_work(sessions) as session:
        session.add(BlacklistEntry(number="0999*", note="Dải số quấy rối"))
    await center.start()
    call = ari.incoming_call(caller="0999123456")
    row = await ended(sessions, call)
    assert (row.disposition, row.hangup_by, row.queue) == (Disposition.blacklisted, "system", None)
    assert await queue_events(sessions, call) == []
    assert any(r.method == "POST" and r.path.endswith("/play/" + r.path.rsplit("/", 1)[-1]) for r in ari.requests)
    await ari.wait_for(lambda: not ari.channels)


async def test_after_hours_the_caller_leaves_a_message_to_be_called_back(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    await configure(sessions, open_hours=[{"days": [], "from": "00:00", "to": "00:01"}])  # never open
    await center.start()
    call = ari.incoming_call()
    await ari.wait_for(lambda: any(r.target == f"channel:{call}" for r in ari.live_recordings.values()), timeout=5)
    ari.caller_presses(call, "#")  # ends the message
    ari.hang_up(call)
    row = await ended(sessions, call)
    assert (row.disposition, row.hangup_by) == (Disposition.closed, "caller")
    assert row.recording and (await eventually(lambda: _copied(sessions, call), "the message copied")).recording_bytes


async def test_a_call_waiting_too_long_overflows_to_a_message(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    await configure(sessions, max_wait_s=1, overflow="message")  # nobody logged in, the queue accepts anyway
    await center.start()
    call = ari.incoming_call()
    await ari.wait_for(lambda: any(r.target == f"channel:{call}" for r in ari.live_recordings.values()), timeout=5)
    ari.hang_up(call)
    row = await ended(sessions, call)
    assert (row.disposition, row.overflow_to) == (Disposition.timeout, "message")
    assert [e for e, _ in await queue_events(sessions, call)] == ["ENTERQUEUE", "EXITWITHTIMEOUT"]


async def test_an_ivr_choice_leads_to_the_queue(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    people = await configure(sessions, destination="ivr:main")
    await log_in(sessions, people["dieuphoi"], "101")
    await center.start()
    call = ari.incoming_call()
    await ari.wait_for(lambda: any(p.target == f"channel:{call}" for p in ari.playbacks.values())
                       or any(e["type"] == "PlaybackFinished" for e in ari.events), timeout=5)
    ari.caller_presses(call, "1")
    await ringing(ari, "PJSIP/101")
    ari.answer_originated("PJSIP/101")
    await eventually(lambda: _state(sessions, call, CallState.talking), "talking")
    ari.hang_up(call)
    row = await ended(sessions, call)
    assert (row.ivr_path, row.disposition) == ("1", Disposition.answered)


async def test_a_call_that_ends_while_the_socket_is_down_is_closed_on_reconnection(app, ari, center) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    await configure(sessions)  # nobody logged in: the caller waits
    await center.start()
    call = ari.incoming_call()
    await eventually(lambda: _state(sessions, call, CallState.queued), "queued")
    center.ready.clear()
    ari.drop_websocket()
    ari.hang_up(call)  # its events are lost: nobody listens
    await asyncio.wait_for(center.ready.wait(), 10)  # reconnected and reconciled
    row = await ended(sessions, call)
    assert (row.disposition, row.hangup_by) == (Disposition.abandoned, "caller")
    assert [e for e, _ in await queue_events(sessions, call)] == ["ENTERQUEUE", "ABANDON"]


async def test_when_the_agent_hangs_up_the_recording_is_still_copied(app, ari, center) -> None:  # noqa: ANN001
    """On a real Asterisk, destroying the bridge with its recording running never delivers
    RecordingFinished (the double does the same): the application stops the recording first."""
    sessions = app.state.services.sessions
    people = await configure(sessions)
    await log_in(sessions, people["dieuphoi"], "101")
    await center.start()
    call = ari.incoming_call()
    await ringing(ari, "PJSIP/101")
    agent_leg = ari.answer_originated("PJSIP/101")
    await ari.wait_for(lambda: bool(ari.live_recordings))
    ari.hang_up(agent_leg)
    row = await ended(sessions, call)
    assert (row.disposition, row.hangup_by) == (Disposition.answered, "agent")
    copied = await eventually(lambda: _copied(sessions, call), "the recording copied")
    assert copied.recording_bytes
    assert any(r.method == "POST" and r.path.endswith(f"/recordings/live/{row.recording}/stop") for r in ari.requests)
