"""The call center's API (issue 7) against the ARI double and the running Stasis application:
agents log in at an extension, pause with a reason, are ready again and log out (CC-02, 03, 27,
39); click-to-call rings the agent first, then the citizen, bridges and records them, once per
Idempotency-Key, and a call-back takes the missed call off the list (CC-31, 37, CRM-07); the live
monitor (CC-20); and without a PBX every telephony endpoint answers 503 in Vietnamese while the
rest works."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr
from sqlmodel import select

from core.db import libpq_url, unit_of_work
from core.models import CallRecord, QueueEvent
from core.models.calls import CallDirection, CallState, Disposition
from core.services import calls
from telephony.ari_client import AriClient
from telephony.runner import follow_agent_changes
from telephony.stasis import CallCenter
from tests.conftest import login
from tests.doubles.ari_double import AriDouble
from tests.integration.test_call_center import configure, ended
from tests.support import eventually

USER, PASSWORD = "hotline", "ari-secret"
VI = {"Accept-Language": "vi"}


@pytest.fixture
def ari() -> Any:
    with AriDouble(app="hotline", user=USER, password=PASSWORD, playback_seconds=0.01) as double:
        for extension in ("101", "102"):
            double.add_endpoint("PJSIP", extension)
        double.add_endpoint("PJSIP", "trunk")
        yield double


@pytest.fixture
def settings(settings, ari):  # noqa: ANN001, ANN201 - the API reaches the double
    settings.ari_url, settings.ari_user, settings.ari_password = ari.url, USER, SecretStr(PASSWORD)
    return settings


@pytest.fixture
async def center(app, ari, tmp_path) -> AsyncIterator[CallCenter]:  # noqa: ANN001
    client = AriClient(ari.url, USER, PASSWORD, max_backoff=0.5)
    cc = CallCenter(client, app.state.services.sessions, recordings_dir=tmp_path / "recordings")
    await configure(app.state.services.sessions)
    task = asyncio.create_task(cc.run())
    # what the runner does in production: the API's NOTIFY about agents reaches the application
    conn = await psycopg.AsyncConnection.connect(libpq_url(app.state.services.settings.database_url), autocommit=True)
    await conn.execute(f"LISTEN {calls.PBX_CHANNEL}")
    listener = asyncio.create_task(follow_agent_changes(conn, cc))
    await asyncio.wait_for(cc.ready.wait(), 10)
    yield cc
    for running in (listener, task):
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    await conn.close()
    await client.aclose()
    assert ari.violations == []


async def test_an_agent_logs_in_pauses_is_ready_and_logs_out(client, center) -> None:  # noqa: ANN001
    desk = {**await login(client, "dieuphoi"), **VI}
    assert (await client.get("/api/v1/agents/me", headers=desk)).json()["status"] == "logged_out"
    # pausing before logging in is refused
    early = await client.post("/api/v1/agents/me/pause", headers=desk, json={"reason": "Nghỉ trưa"})
    assert early.status_code == 422
    me = (await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})).json()
    assert (me["status"], me["extension"]) == ("ready", "101")
    # the application took the log-in (it will offer calls to 101)
    await eventually(lambda: _acd_state(center, me["user_id"], "ready"), "the ACD knows the agent")
    paused = (await client.post("/api/v1/agents/me/pause", headers=desk, json={"reason": "Nghỉ trưa"})).json()
    assert (paused["status"], paused["reason"]) == ("paused", "Nghỉ trưa")
    await eventually(lambda: _acd_state(center, me["user_id"], "paused"), "paused in the ACD")
    assert (await client.post("/api/v1/agents/me/ready", headers=desk)).json()["status"] == "ready"
    await eventually(lambda: _acd_state(center, me["user_id"], "ready"), "ready in the ACD")
    assert (await client.post("/api/v1/agents/me/logout", headers=desk)).json()["status"] == "logged_out"
    await eventually(lambda: _acd_state(center, me["user_id"], "logged_out"), "logged out of the ACD")
    # AGENTLOGIN / PAUSE / UNPAUSE / AGENTLOGOFF lines for the reports (written just after the ACD changed)
    async def agent_events() -> list[str] | None:
        async with center.sessions() as session:
            events = [e.event for e in (await session.exec(select(QueueEvent).order_by(QueueEvent.id))).all()]
        return events if events and events[-1] == "AGENTLOGOFF" else None

    assert await eventually(agent_events, "the log-off line") == ["AGENTLOGIN", "PAUSE", "UNPAUSE", "AGENTLOGOFF"]


async def _acd_state(center: CallCenter, user_id: int, state: str) -> bool:
    views = {a.agent_id: a for a in center.acd.agents()}
    view = views.get(str(user_id))
    return (view.state.value if view else "logged_out") == state


async def test_bad_log_ins_are_refused(client, center) -> None:  # noqa: ANN001
    desk = {**await login(client, "dieuphoi"), **VI}
    other = {**await login(client, "dienthoai"), **VI}
    unknown = await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "199"})
    assert unknown.status_code == 422 and "không tồn tại" in unknown.json()["details"][0]["message"]
    assert (await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "1a"})).status_code == 422
    assert (await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})).status_code == 200
    taken = await client.post("/api/v1/agents/me/login", headers=other, json={"extension": "101"})
    assert taken.status_code == 409
    # an officer is no agent
    officer = await login(client, "cv.tranbien")
    assert (await client.post("/api/v1/agents/me/login", headers=officer, json={"extension": "102"})).status_code == 403
    # coordinators see every agent
    agents = (await client.get("/api/v1/agents", headers=desk)).json()
    assert [(a["extension"], a["status"]) for a in agents] == [("101", "ready")]


async def test_click_to_call_rings_the_agent_then_the_citizen_once(client, center, ari) -> None:  # noqa: ANN001
    desk = await login(client, "dieuphoi")
    await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})
    sessions = center.sessions
    async with unit_of_work(sessions) as session:  # a missed call to answer
        missed = await calls.open_call(session, "1764150000.9", CallDirection.inbound, "0912345678", None, "1022")
        await calls.end_call(session, missed.uniqueid, Disposition.abandoned, "caller")
    body = {"number": "0912 345 678", "callback_of": missed.id}
    first = await client.post("/api/v1/calls/click-to-call", headers={**desk, "Idempotency-Key": "call-back-1"}, json=body)
    again = await client.post("/api/v1/calls/click-to-call", headers={**desk, "Idempotency-Key": "call-back-1"}, json=body)
    assert first.status_code == again.status_code == 202 and first.json()["uniqueid"] == again.json()["uniqueid"]
    uniqueid = first.json()["uniqueid"]
    # the agent's phone rings (once), the agent answers, then the citizen is dialled through the trunk
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/101" and c.state == "Ringing" for c in ari.channels.values()))
    assert sum(1 for r in ari.requests if r.method == "POST" and r.path.startswith("/ari/channels/o")) == 1
    ari.answer_originated("PJSIP/101")
    await ari.wait_for(lambda: uniqueid in ari.channels and ari.channels[uniqueid].state == "Ringing")
    assert ari.channels[uniqueid].endpoint == "PJSIP/trunk"
    ari.answer_originated(uniqueid)
    await ari.wait_for(lambda: any(len(b.channels) == 2 for b in ari.bridges.values()))
    # the citizen hangs up
    ari.hang_up(uniqueid)
    row = await ended(sessions, uniqueid)
    assert (row.direction, row.disposition, row.hangup_by, row.citizen_number, row.extension) == (
        "out", Disposition.answered, "caller", "0912345678", "101")
    assert row.answered_at and row.recording and row.callback_of_id == missed.id
    async with sessions() as session:
        assert (await session.get(CallRecord, missed.id)).called_back_at is not None  # type: ignore[union-attr]
    await ari.wait_for(lambda: not ari.channels and not ari.bridges)


async def test_an_unanswered_agent_phone_or_a_busy_citizen_fails_the_call(client, center, ari) -> None:  # noqa: ANN001
    desk = await login(client, "dieuphoi")
    await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})
    first = (await client.post("/api/v1/calls/click-to-call", headers={**desk, "Idempotency-Key": "c2c-agent-away"},
                               json={"number": "0912345678"})).json()
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/101" and c.state == "Ringing" for c in ari.channels.values()))
    ari.reject_originated("PJSIP/101", cause=19)
    row = await ended(center.sessions, first["uniqueid"])
    assert (row.disposition, row.answered_at) == (Disposition.agent_no_answer, None)
    second = (await client.post("/api/v1/calls/click-to-call", headers={**desk, "Idempotency-Key": "c2c-busy"},
                                json={"number": "0912345678"})).json()
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/101" and c.state == "Ringing" for c in ari.channels.values()))
    ari.answer_originated("PJSIP/101")
    await ari.wait_for(lambda: second["uniqueid"] in ari.channels and ari.channels[second["uniqueid"]].state == "Ringing")
    ari.reject_originated(second["uniqueid"], cause=17)
    row = await ended(center.sessions, second["uniqueid"])
    assert (row.disposition, row.cause, row.hangup_by) == (Disposition.failed, 17, "caller")
    await ari.wait_for(lambda: not ari.channels)


async def test_bad_click_to_calls_are_refused(client, center) -> None:  # noqa: ANN001
    desk = {**await login(client, "dieuphoi"), **VI}
    key = {"Idempotency-Key": "c2c-bad-0001"}
    not_agent = await client.post("/api/v1/calls/click-to-call", headers={**desk, **key}, json={"number": "0912345678"})
    assert not_agent.status_code == 422 and not_agent.json()["details"][0]["field"] == "extension"
    await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})
    for body in ({"number": "12345"}, {"number": "abc"}, {"number": "0912345678", "callback_of": 999999},
                 {"number": "0912345678", "extra": 1}):
        answer = await client.post("/api/v1/calls/click-to-call", headers={**desk, **key}, json=body)
        assert answer.status_code == 422, (body, answer.text)
    missing_key = await client.post("/api/v1/calls/click-to-call", headers=desk, json={"number": "0912345678"})
    assert missing_key.status_code == 422
    officer = await login(client, "cv.tranbien")
    assert (await client.post("/api/v1/calls/click-to-call", headers={**officer, **key},
                              json={"number": "0912345678"})).status_code == 403


async def test_the_live_monitor_shows_extensions_agents_and_waiting_calls(client, center, ari) -> None:  # noqa: ANN001
    desk = await login(client, "dieuphoi")
    await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "102"})
    ari.set_endpoint_state("PJSIP", "101", "offline")
    call = ari.incoming_call()
    await eventually(lambda: _live(center, call), "the call is live")
    seen = (await client.get("/api/v1/telephony/monitor", headers=desk)).json()
    assert seen["pbx_connected"] is True
    assert {(e["resource"], e["state"]) for e in seen["extensions"]} == {("101", "offline"), ("102", "online")}
    assert [t["resource"] for t in seen["trunks"]] == ["trunk"]
    assert [a["extension"] for a in seen["agents"]] == ["102"]
    assert seen["waiting"] == {"hotline": 1} and [c["state"] for c in seen["live_calls"]] in (["queued"], ["ringing"])
    ari.hang_up(call)
    await ended(center.sessions, call)


async def _live(center: CallCenter, uniqueid: str) -> bool:
    async with center.sessions() as session:
        row = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).first()
    return row is not None and row.state in (CallState.queued, CallState.ringing)


async def test_without_a_pbx_telephony_answers_503_and_the_rest_works(client, app) -> None:  # noqa: ANN001
    app.state.services.settings.ari_url = None
    desk = {**await login(client, "dieuphoi"), **VI}
    answer = await client.post("/api/v1/calls/click-to-call", headers={**desk, "Idempotency-Key": "no-pbx-0001"},
                               json={"number": "0912345678"})
    assert answer.status_code == 422  # not logged in as an agent: checked first
    await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})  # recorded without a PBX
    answer = await client.post("/api/v1/calls/click-to-call", headers={**desk, "Idempotency-Key": "no-pbx-0002"},
                               json={"number": "0912345678"})
    assert answer.status_code == 503 and answer.json()["message"].startswith("Tổng đài điện thoại chưa kết nối")
    monitor = (await client.get("/api/v1/telephony/monitor", headers=desk)).json()
    assert monitor["pbx_connected"] is False and monitor["pbx_message"]
    assert (await client.get("/api/v1/tickets", headers=desk)).status_code == 200


async def _talking_call(client, center, ari) -> tuple[str, int, dict]:  # noqa: ANN001
    """A citizen's call answered by dieuphoi at 101; dienthoai is logged in at 102 (paused, so the
    queue does not offer them the call). Returns (uniqueid, call id, dieuphoi's headers)."""
    desk = await login(client, "dieuphoi")
    other = await login(client, "dienthoai")
    await client.post("/api/v1/agents/me/login", headers=other, json={"extension": "102"})
    await client.post("/api/v1/agents/me/pause", headers=other, json={"reason": "Họp"})
    me = (await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})).json()
    await eventually(lambda: _acd_state(center, me["user_id"], "ready"), "the ACD knows the agent")
    uniqueid = ari.incoming_call()
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/101" and c.state == "Ringing" for c in ari.channels.values()))
    ari.answer_originated("PJSIP/101")
    row = await eventually(lambda: _in_state(center, uniqueid, CallState.talking), "talking")
    return uniqueid, row.id, desk


async def _in_state(center: CallCenter, uniqueid: str, state: CallState) -> CallRecord | None:
    async with center.sessions() as session:
        row = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).first()
    return row if row is not None and row.state == state else None


def _bridged(ari: AriDouble, *endpoints: str) -> bool:
    return any({ari.channels[c].endpoint for c in b.channels if c in ari.channels} >= set(endpoints)
               for b in ari.bridges.values())


async def test_a_blind_transfer_hands_the_citizen_to_another_extension(client, center, ari) -> None:  # noqa: ANN001
    uniqueid, call_id, desk = await _talking_call(client, center, ari)
    sent = await client.post(f"/api/v1/calls/{call_id}/transfer", headers=desk, json={"target": "extension:102"})
    assert sent.status_code == 202
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/102" and c.state == "Ringing" for c in ari.channels.values()))
    assert not any(c.endpoint == "PJSIP/101" for c in ari.channels.values())  # the first agent is free
    ari.answer_originated("PJSIP/102")
    await ari.wait_for(lambda: _bridged(ari, "PJSIP/trunk", "PJSIP/102"))
    ari.hang_up(uniqueid)
    row = await ended(center.sessions, uniqueid)
    assert (row.disposition, row.transfer_to, row.extension) == (Disposition.transferred, "extension:102", "102")
    async with center.sessions() as session:
        events = [e.event for e in (await session.exec(select(QueueEvent).where(
            QueueEvent.call_uniqueid == uniqueid).order_by(QueueEvent.id))).all()]
    assert events == ["ENTERQUEUE", "CONNECT", "TRANSFER"]
    await ari.wait_for(lambda: not ari.channels and not ari.bridges)


async def test_an_attended_transfer_consults_then_completes_or_cancels(client, center, ari) -> None:  # noqa: ANN001
    uniqueid, call_id, desk = await _talking_call(client, center, ari)
    # consult 102 while the citizen waits; then cancel: the agent is back with the citizen
    body = {"target": "extension:102", "mode": "attended"}
    assert (await client.post(f"/api/v1/calls/{call_id}/transfer", headers=desk, json=body)).status_code == 202
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/102" and c.state == "Ringing" for c in ari.channels.values()))
    ari.answer_originated("PJSIP/102")
    await ari.wait_for(lambda: _bridged(ari, "PJSIP/101", "PJSIP/102"))
    assert (await client.post(f"/api/v1/calls/{call_id}/transfer/cancel", headers=desk)).status_code == 202
    await ari.wait_for(lambda: _bridged(ari, "PJSIP/trunk", "PJSIP/101")
                       and not any(c.endpoint == "PJSIP/102" for c in ari.channels.values()))
    # consult again and complete: 102 takes the citizen, 101 leaves
    assert (await client.post(f"/api/v1/calls/{call_id}/transfer", headers=desk, json=body)).status_code == 202
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/102" and c.state == "Ringing" for c in ari.channels.values()))
    ari.answer_originated("PJSIP/102")
    await ari.wait_for(lambda: _bridged(ari, "PJSIP/101", "PJSIP/102"))
    assert (await client.post(f"/api/v1/calls/{call_id}/transfer/complete", headers=desk)).status_code == 202
    await ari.wait_for(lambda: _bridged(ari, "PJSIP/trunk", "PJSIP/102")
                       and not any(c.endpoint == "PJSIP/101" for c in ari.channels.values()))
    ari.hang_up(uniqueid)
    row = await ended(center.sessions, uniqueid)
    assert (row.disposition, row.transfer_to, row.extension) == (Disposition.transferred, "extension:102", "102")


async def test_a_blind_transfer_nobody_answers_goes_back_to_the_queue(client, center, ari) -> None:  # noqa: ANN001
    uniqueid, call_id, desk = await _talking_call(client, center, ari)
    await client.post(f"/api/v1/calls/{call_id}/transfer", headers=desk, json={"target": "extension:102"})
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/102" and c.state == "Ringing" for c in ari.channels.values()))
    ari.reject_originated("PJSIP/102", cause=19)
    # back in the queue: 101 is offered the call again
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/101" and c.state == "Ringing" for c in ari.channels.values()),
                       timeout=30)
    ari.hang_up(uniqueid)
    await ended(center.sessions, uniqueid)


async def test_bad_transfers_are_refused(client, center, ari) -> None:  # noqa: ANN001
    uniqueid, call_id, desk = await _talking_call(client, center, ari)
    for body in ({"target": "102"}, {"target": "extension:1x"}, {"target": "queue:nosuch"},
                 {"target": "queue:hotline", "mode": "attended"}, {"target": "extension:102", "mode": "later"}):
        answer = await client.post(f"/api/v1/calls/{call_id}/transfer", headers=desk, json=body)
        assert answer.status_code == 422, (body, answer.text)
    other = await login(client, "dienthoai")  # not their call
    assert (await client.post(f"/api/v1/calls/{call_id}/transfer", headers=other,
                              json={"target": "extension:102"})).status_code == 404
    ari.hang_up(uniqueid)
    await ended(center.sessions, uniqueid)
    over = await client.post(f"/api/v1/calls/{call_id}/transfer", headers={**desk, **VI}, json={"target": "extension:102"})
    assert over.status_code == 409 and over.json()["message"].startswith("Cuộc gọi không còn đang diễn ra")


async def test_the_monitor_page_shows_the_board_and_refreshes_it(client, center, ari) -> None:  # noqa: ANN001
    from tests.integration.test_sms_inbox_pages import browser, page

    desk = await login(client, "dieuphoi")
    await client.post("/api/v1/agents/me/login", headers=desk, json={"extension": "101"})
    ari.set_endpoint_state("PJSIP", "102", "offline")
    cookies = await browser(client, "dieuphoi")
    shown = await page(client, cookies, "/calls/monitor")
    assert shown.status_code == 200 and "Giám sát trực tuyến" in shown.text and 'hx-get="/calls/monitor/live"' in shown.text
    assert "101: Trực tuyến" in shown.text and "102: Mất kết nối" in shown.text and "Trung kế trunk" in shown.text
    assert "Nguyễn Thị Điều Phối" in shown.text
    board = await page(client, cookies, "/calls/monitor/live")
    assert board.status_code == 200 and "<html" not in board.text and 'id="monitor-board"' in board.text
    # an agent who is not a coordinator has no monitor
    assert (await page(client, await browser(client, "dienthoai"), "/calls/monitor")).status_code == 403
