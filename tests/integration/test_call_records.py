"""Call records and queue events on a real PostgreSQL (issue 7): a call is opened once per ARI
channel however often its event is handled, its state only moves forward, it is closed once with
its wait and talk times, queue events are stored once per key, agents' states survive, and the
blacklist matches numbers and prefixes."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from core.db import unit_of_work
from core.models import BlacklistEntry, CallRecord, QueueEvent, User
from core.models.base import utcnow
from core.models.calls import AgentStatus, CallDirection, CallState, Disposition
from core.services import calls


async def test_a_call_is_opened_once_moves_forward_and_closes_once(app) -> None:
    sessions = app.state.services.sessions
    start = utcnow()
    for _ in range(2):  # the StasisStart handled twice (after a reconnection)
        async with unit_of_work(sessions) as session:
            call = await calls.open_call(session, "1764150000.1", CallDirection.inbound, "+84 912 345 678",
                                         "Nguyen Van An", "1022", at=start)
    assert (call.citizen_number, call.dialed, call.state) == ("0912345678", "1022", CallState.routing)
    async with unit_of_work(sessions) as session:
        assert await calls.update_call(session, "1764150000.1", CallState.queued, queue="hotline",
                                       queued_at=start + timedelta(seconds=4))
        assert await calls.update_call(session, "1764150000.1", CallState.talking,
                                       answered_at=start + timedelta(seconds=19), agent_id=None, extension="101")
        # a late "ringing" never moves a talking call back
        assert await calls.update_call(session, "1764150000.1", CallState.ringing)
    async with unit_of_work(sessions) as session:
        ended = await calls.end_call(session, "1764150000.1", Disposition.answered, "caller", 16,
                                     at=start + timedelta(seconds=79))
    assert ended is not None and ended.state == CallState.ended and ended.extension == "101"
    assert (ended.wait_seconds, ended.talk_seconds) == (15.0, 60.0)
    async with unit_of_work(sessions) as session:
        # closed for good: a second end or an update changes nothing
        again = await calls.end_call(session, "1764150000.1", Disposition.abandoned, "system")
        assert again is not None and again.disposition == Disposition.answered
        assert not await calls.update_call(session, "1764150000.1", CallState.queued)
        assert not await calls.update_call(session, "no-such-call", CallState.queued)


async def test_an_unanswered_call_has_a_wait_and_no_talk_time(app) -> None:
    start = utcnow()
    async with unit_of_work(app.state.services.sessions) as session:
        await calls.open_call(session, "1764150000.2", CallDirection.inbound, "", None, "1022", at=start)
        await calls.update_call(session, "1764150000.2", CallState.queued, queued_at=start + timedelta(seconds=2))
        ended = await calls.end_call(session, "1764150000.2", Disposition.abandoned, "caller",
                                     at=start + timedelta(seconds=32))
    assert ended is not None and ended.citizen_number == "anonymous"
    assert (ended.wait_seconds, ended.talk_seconds) == (30.0, None)


async def test_queue_events_are_stored_once_per_key(app) -> None:
    async with unit_of_work(app.state.services.sessions) as session:
        assert await calls.add_queue_event(session, "c1:ENTERQUEUE", "ENTERQUEUE", call_uniqueid="c1", queue="hotline",
                                           data=("", "0912345678", 1))
        assert not await calls.add_queue_event(session, "c1:ENTERQUEUE", "ENTERQUEUE", call_uniqueid="c1",
                                               queue="hotline", data=("", "0912345678", 1))
        rows = (await session.exec(select(QueueEvent))).all()
    assert [(r.event, r.data1, r.data2, r.data3) for r in rows] == [("ENTERQUEUE", "", "0912345678", "1")]


async def test_an_agents_state_is_kept_with_its_times(app) -> None:
    async with unit_of_work(app.state.services.sessions) as session:
        user = (await session.exec(select(User).where(User.username == "dieuphoi"))).one()
        ready = await calls.set_agent_state(session, user.id, AgentStatus.ready, "101")  # type: ignore[arg-type]
        logged_in = ready.logged_in_at
        paused = await calls.set_agent_state(session, user.id, AgentStatus.paused, reason="Nghỉ trưa")  # type: ignore[arg-type]
        assert (paused.extension, paused.reason, paused.logged_in_at) == ("101", "Nghỉ trưa", logged_in)
        assert [a.user_id for a in await calls.logged_in_agents(session)] == [user.id]
        out = await calls.set_agent_state(session, user.id, AgentStatus.logged_out)  # type: ignore[arg-type]
        assert out.logged_in_at is None and await calls.logged_in_agents(session) == []


async def test_the_blacklist_matches_a_number_in_any_form_and_prefixes(app) -> None:
    async with unit_of_work(app.state.services.sessions) as session:
        session.add_all([BlacklistEntry(number="0912345678", note="Gọi quấy rối"),
                         BlacklistEntry(number="0999*", note="Dải số rác")])
    async with unit_of_work(app.state.services.sessions) as session:
        assert (await calls.blacklisted(session, "+84912345678")).note == "Gọi quấy rối"  # type: ignore[union-attr]
        assert (await calls.blacklisted(session, "0999123456")).note == "Dải số rác"  # type: ignore[union-attr]
        assert await calls.blacklisted(session, "0912345679") is None
        assert await calls.blacklisted(session, "anonymous") is None
        count = (await session.exec(select(sa.func.count()).select_from(BlacklistEntry))).one()
    assert count == 2


async def test_calls_left_open_by_a_stopped_application_are_closed_by_the_next(app) -> None:
    sessions = app.state.services.sessions
    long_ago = utcnow() - timedelta(minutes=5)
    async with unit_of_work(sessions) as session:
        for uniqueid, state in (("gone.1", CallState.talking), ("gone.2", CallState.queued), ("alive.3", CallState.queued)):
            await calls.open_call(session, uniqueid, CallDirection.inbound, "0912345678", None, "1022", at=long_ago)
            await calls.update_call(session, uniqueid, state, answered_at=long_ago if state == CallState.talking else None)
        await calls.open_call(session, "o123-c", CallDirection.outbound, "0912345678", None, "0912345678", at=long_ago)
        await calls.open_call(session, "fresh.4", CallDirection.inbound, "0912345678", None, "1022")  # being set up
    async with unit_of_work(sessions) as session:
        closed = await calls.close_orphans(session, keep={"alive.3", "o123-a"})
    assert closed == 2
    async with sessions() as session:
        rows = {r.uniqueid: r for r in (await session.exec(select(CallRecord))).all()}
    assert (rows["gone.1"].disposition, rows["gone.1"].hangup_by) == (Disposition.answered, "system")
    assert rows["gone.2"].disposition == Disposition.abandoned
    assert rows["alive.3"].state == CallState.queued and rows["o123-c"].state != CallState.ended
    assert rows["fresh.4"].state == CallState.routing


async def test_an_agent_whose_shift_ended_is_logged_out_unless_on_a_call(app) -> None:
    from core.services.shifts import LOCAL_TZ, end_overdue_logins, parse_shifts

    shifts = parse_shifts("06:00-14:00,14:00-22:00,22:00-06:00")
    morning = datetime(2026, 11, 26, 7, 0, tzinfo=LOCAL_TZ)
    async with unit_of_work(app.state.services.sessions) as session:
        people = dict((await session.exec(select(User.username, User.id).where(
            col(User.username).in_(["dieuphoi", "dienthoai", "admin"])))).all())
        await calls.set_agent_state(session, people["dieuphoi"], AgentStatus.ready, "101", at=morning)
        await calls.set_agent_state(session, people["dienthoai"], AgentStatus.ready, "102", at=morning)
        await calls.set_agent_state(session, people["dienthoai"], AgentStatus.busy, at=morning)  # still on a call
        await calls.set_agent_state(session, people["admin"], AgentStatus.paused, "103", "Họp", at=morning)
        # at 14:20 the grace of 30 minutes is not over yet
        before = datetime(2026, 11, 26, 14, 20, tzinfo=LOCAL_TZ)
        assert await end_overdue_logins(session, shifts, timedelta(minutes=30), before) == []
        after = datetime(2026, 11, 26, 14, 31, tzinfo=LOCAL_TZ)
        assert sorted(await end_overdue_logins(session, shifts, timedelta(minutes=30), after)) == sorted(
            [people["dieuphoi"], people["admin"]])
