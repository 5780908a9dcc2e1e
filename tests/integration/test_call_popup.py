"""The incoming-call popup and the report made from a call (CC-34, CC-35, CRM-05), with the
Stasis application on the ARI double: while the agent's phone rings the popup has the caller's
number and earlier reports; when they talk it says so; a report made from the popup's link is
pre-filled and linked to the call; the number shown is logged as a personal-data read."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from core.db import unit_of_work
from core.models import Area, AuditLog, CallRecord, Ticket, TicketField
from core.models.tickets import TicketCreate
from core.services import tickets
from core.services.actor import system_actor
from tests.conftest import login
from tests.integration.test_call_center import ended
from tests.integration.test_sms_inbox_pages import browser, csrf_of, page, post
from tests.integration.test_telephony_api import ari, center, settings  # noqa: F401 - fixtures
from tests.support import eventually
from ui.pages import call_popup


async def test_the_popup_shows_the_caller_and_a_report_made_from_it_is_linked(app, client, center, ari,  # noqa: F811
                                                                              monkeypatch) -> None:
    services = app.state.services
    async with unit_of_work(services.sessions) as session:  # an earlier report of the same citizen
        earlier, _ = await tickets.open_ticket(session, system_actor("test"), TicketCreate(
            channel="call", description="Rác thải đổ trộm ven đường Đồng Khởi.", citizen_phone="0912345678"), "old-1")
    desk_api = await login(client, "dieuphoi")
    me = (await client.post("/api/v1/agents/me/login", headers=desk_api, json={"extension": "101"})).json()
    await eventually(lambda: _known(center, me["user_id"]), "the ACD knows the agent")
    actor = type("A", (), {"user_id": me["user_id"]})()
    # when a citizen calls and the agent's phone rings
    call = ari.incoming_call(caller="+84912345678", caller_name="Nguyen Van An")

    async def popup_says(state: str) -> dict | None:
        shown = await call_popup.current_call(services, actor, "vi")  # type: ignore[arg-type]
        return shown if shown and shown["state"] == state else None

    ringing = await eventually(lambda: popup_says("ringing"), "the popup while ringing")
    assert (ringing["number"], ringing["name"], ringing["ticket_total"]) == ("0912345678", "Nguyen Van An", 1)
    assert ringing["tickets"][0]["code"] == earlier.code and ringing["tickets"][0]["status"]
    assert ringing["new_ticket_url"].startswith("/desk/new/add?phone=0912345678&call=")
    ari.answer_originated("PJSIP/101")
    await eventually(lambda: popup_says("talking"), "the popup while talking")
    # the stream itself: the current call as an event, then it closes (shortened here)
    monkeypatch.setattr(call_popup, "STREAM_SECONDS", 0.3)
    cookies = await browser(client, "dieuphoi")
    stream = await page(client, cookies, "/calls/events")
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: call" in stream.text and "0912345678" in stream.text
    async with services.sessions() as session:
        reads = (await session.exec(select(AuditLog).where(AuditLog.action == "pii.read", AuditLog.entity == "call"))).all()
    assert reads
    # the agent opens the popup's link: the form is pre-filled and says it comes from the call
    form = await page(client, cookies, ringing["new_ticket_url"])
    assert form.status_code == 200 and 'value="0912345678"' in form.text and 'name="call_id"' in form.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    async with services.sessions() as session:
        field_id = (await session.exec(select(TicketField.id))).first()
        area_id = (await session.exec(select(Area.id))).first()
    made = await post(client, cookies, "/desk/new/add", {
        "csrf_token": csrf_of(form.text), "idempotency_key": key, "call_id": str(ringing["call_id"]),
        "channel": "call", "citizen_name": "Nguyễn Văn An", "citizen_phone": "0912345678", "field_id": str(field_id),
        "area_id": str(area_id), "address": "Hẻm 12 Phạm Văn Thuận", "description": "Đèn đường hỏng ba hôm nay."})
    assert made.status_code in (303, 503), made.text  # 503: the process could not start here (no Temporal)
    ari.hang_up(call)
    row = await ended(services.sessions, call)
    async with services.sessions() as session:
        linked = (await session.get(CallRecord, row.id)).ticket_id  # type: ignore[union-attr]
        ticket = await session.get(Ticket, linked)
    assert ticket is not None and ticket.source_ref == f"call:{call}" and ticket.citizen_phone == "0912345678"
    # and the popup is idle again
    await eventually(lambda: _idle(services, actor), "the popup idle")


async def _known(cc, user_id: int) -> bool:  # noqa: ANN001
    return any(a.agent_id == str(user_id) and a.state.value == "ready" for a in cc.acd.agents())


async def _idle(services, actor) -> bool:  # noqa: ANN001
    return await call_popup.current_call(services, actor, "vi") is None


@pytest.mark.parametrize("query", ["call=abc", "call=0", "phone=" + "9" * 40])
async def test_a_bad_prefill_address_is_a_clear_422(client, query) -> None:
    cookies = await browser(client, "dieuphoi")
    answer = await page(client, cookies, f"/desk/new/add?{query}")
    assert answer.status_code == 422 and "Địa chỉ trang có giá trị không dùng được" in answer.text


async def test_only_agents_get_the_popup_stream(client) -> None:
    assert (await page(client, await browser(client, "cv.tranbien"), "/calls/events")).status_code == 403


async def test_the_agent_transfers_from_the_popup(app, client, center, ari) -> None:  # noqa: F811
    from tests.integration.test_telephony_api import _talking_call

    uniqueid, call_id, desk_api = await _talking_call(client, center, ari)
    me = (await client.get("/api/v1/agents/me", headers=desk_api)).json()
    actor = type("A", (), {"user_id": me["user_id"]})()
    shown = await call_popup.current_call(app.state.services, actor, "vi")  # type: ignore[arg-type]
    assert shown is not None and shown["mine"] and {"extension:102", "queue:hotline"} <= {t["value"] for t in shown["targets"]}
    cookies = await browser(client, "dieuphoi")
    token = csrf_of((await page(client, cookies, "/agent")).text)
    bad = await post(client, cookies, f"/calls/{call_id}/transfer", {"csrf_token": token, "target": "nowhere"})
    assert bad.status_code == 422 and bad.json() == {"ok": False, "message": "Hãy chọn một máy nhánh hoặc một hàng đợi."}
    sent = await post(client, cookies, f"/calls/{call_id}/transfer",
                      {"csrf_token": token, "target": "extension:102", "mode": "attended"})
    assert sent.status_code == 202 and sent.json()["ok"] is True
    await ari.wait_for(lambda: any(c.endpoint == "PJSIP/102" and c.state == "Ringing" for c in ari.channels.values()))
    consulting = await eventually(lambda: _consulting(app.state.services, actor), "the popup shows the consultation")
    assert consulting["transfer_to"] == "extension:102"
    cancel = await post(client, cookies, f"/calls/{call_id}/transfer/cancel", {"csrf_token": token})
    assert cancel.status_code == 202
    await ari.wait_for(lambda: not any(c.endpoint == "PJSIP/102" for c in ari.channels.values()))
    ari.hang_up(uniqueid)
    row = await ended(app.state.services.sessions, uniqueid)
    assert row.disposition == "answered"


async def _consulting(services, actor) -> dict | None:  # noqa: ANN001
    shown = await call_popup.current_call(services, actor, "vi")
    return shown if shown and shown["transfer_to"] else None
