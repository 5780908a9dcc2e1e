"""The desk's SMS inbox and message history pages over HTTP (SMS-08, SMS-09, CRM-06, CRM-09):
waiting messages oldest first, a report created from a message (channel sms, the phone, linked,
one ticket for a double submit), setting a message aside, masking for a role without personal
data, 403 for a unit officer, the history's filters, and the live long poll."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlmodel import select

from core.db import unit_of_work
from core.models import Area, TicketField
from core.models.messages import Message
from core.models.tickets import Ticket
from core.ports import InboundMessage
from core.services import messages
from tests.conftest import login
from ui.pages import sms_inbox


async def inbound(app: Any, provider_id: str, sender: str = "0912345678", body: str = "Đèn đường hỏng ở hẻm 12.") -> int:
    async with unit_of_work(app.state.services.sessions) as session:
        stored, _ = await messages.record_inbound(
            session, InboundMessage(provider="twilio", provider_message_id=provider_id, sender=sender, body=body), "sms")
        return stored.id  # type: ignore[return-value]


async def browser(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    token = (await login(client, username))["Authorization"].split(" ", 1)[1]
    return {"hotline_session": token}


def _as(client: httpx.AsyncClient, cookies: dict[str, str]) -> httpx.AsyncClient:
    csrf = client.cookies.get("hotline_csrf")
    client.cookies.clear()
    client.cookies.update(cookies)
    if csrf:
        client.cookies.set("hotline_csrf", csrf)
    return client


async def page(client: httpx.AsyncClient, cookies: dict[str, str], path: str) -> httpx.Response:
    return await _as(client, cookies).get(path, headers={"Accept-Language": "vi"})


async def post(client: httpx.AsyncClient, cookies: dict[str, str], path: str, data: dict[str, Any]) -> httpx.Response:
    return await _as(client, cookies).post(path, headers={"Accept-Language": "vi"}, data=data)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def rows_of(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-message="(\d+)"', html)]


async def test_inbox_oldest_first_with_actions_and_unit_officer_refused(client, app) -> None:
    first = await inbound(app, "SM-1", body="Tin thứ nhất")
    second = await inbound(app, "SM-2", sender="0987654321", body="Tin thứ hai")
    desk = await browser(client, "dieuphoi")
    answer = await page(client, desk, "/sms")
    assert answer.status_code == 200, answer.text
    assert "Tin nhắn SMS" in answer.text and "Lịch sử tin nhắn" in answer.text
    assert rows_of(answer.text) == [first, second]
    assert "0912345678" in answer.text and "Tạo phản ánh" in answer.text and "Bỏ qua" in answer.text
    assert 'hx-get="/sms/live?waiting=2&amp;newest=' in answer.text
    officer = await browser(client, "cv.tranbien")
    assert (await page(client, officer, "/sms")).status_code == 403
    assert (await page(client, officer, "/sms/history")).status_code == 403


async def test_a_role_without_personal_data_sees_masked_numbers_and_no_actions(client, app) -> None:
    await inbound(app, "SM-3", sender="0912345678")
    auditor = await browser(client, "kiemtra")
    answer = await page(client, auditor, "/sms")
    assert answer.status_code == 200, answer.text
    assert "0912345678" not in answer.text and "Tạo phản ánh" not in answer.text
    history = await page(client, auditor, "/sms/history")
    assert history.status_code == 200 and "0912345678" not in history.text


async def test_set_aside_after_confirmation(client, app) -> None:
    message_id = await inbound(app, "SM-4")
    desk = await browser(client, "dieuphoi")
    confirm = await page(client, desk, f"/sms/{message_id}/dismiss")
    assert confirm.status_code == 200 and "Bỏ qua tin nhắn" in confirm.text
    done = await post(client, desk, f"/sms/{message_id}/dismiss", {"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 303 and done.headers["location"] == "/sms?notice=dismissed"
    after = await page(client, desk, done.headers["location"])
    assert message_id not in rows_of(after.text) and "Đã bỏ qua tin nhắn." in after.text
    async with unit_of_work(app.state.services.sessions) as session:
        assert (await session.get(Message, message_id)).handled_at is not None  # type: ignore[union-attr]


async def test_a_report_from_a_message_is_linked_once(client, app) -> None:
    message_id = await inbound(app, "SM-5", body="Rác thải ùn ứ trước chợ Tân Hiệp.")
    async with unit_of_work(app.state.services.sessions) as session:
        field_id = (await session.exec(select(TicketField.id))).first()
        area_id = (await session.exec(select(Area.id))).first()
    desk = await browser(client, "dieuphoi")
    form = await page(client, desk, f"/sms/{message_id}/ticket")
    assert form.status_code == 200, form.text
    assert 'value="0912345678"' in form.text and "Rác thải ùn ứ trước chợ Tân Hiệp." in form.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    data = {"csrf_token": csrf_of(form.text), "idempotency_key": key, "citizen_phone": "0912345678",
            "field_id": str(field_id), "area_id": str(area_id), "address": "Chợ Tân Hiệp",
            "description": "Rác thải ùn ứ trước chợ Tân Hiệp."}
    # a missing address is refused beside its field, nothing created
    refused = await post(client, desk, f"/sms/{message_id}/ticket", {**data, "address": ""})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    first = await post(client, desk, f"/sms/{message_id}/ticket", data)
    again = await post(client, desk, f"/sms/{message_id}/ticket", {**data, "idempotency_key": "x" * 20})
    assert first.status_code in (303, 503) and again.status_code in (303, 503), first.text  # 503: no Temporal here
    async with unit_of_work(app.state.services.sessions) as session:
        made = (await session.exec(select(Ticket).where(Ticket.idempotency_key == f"message:{message_id}"))).all()
        assert len(made) == 1
        ticket = made[0]
        assert ticket.channel == "sms" and ticket.citizen_phone == "0912345678"
        assert (await session.get(Message, message_id)).ticket_id == ticket.id  # type: ignore[union-attr]
    assert message_id not in rows_of((await page(client, desk, "/sms")).text)
    history = await page(client, desk, "/sms/history?phone=0912+345+678")
    assert history.status_code == 200 and ticket.code in history.text
    # the form of a message already linked goes to its history
    assert (await page(client, desk, f"/sms/{message_id}/ticket")).status_code == 303


async def test_history_filters_and_refusals(client, app) -> None:
    await inbound(app, "SM-6", sender="0911111111", body="Một")
    await inbound(app, "SM-7", sender="0922222222", body="Hai")
    desk = await browser(client, "dieuphoi")
    only = await page(client, desk, "/sms/history?phone=0911111111&per_page=50")
    assert only.status_code == 200 and "Một" in only.text and "Hai" not in only.text
    wrong = await page(client, desk, "/sms/history?date_from=2026-02-10&date_to=2026-02-01")
    assert wrong.status_code == 422 and "Ngày cuối trước ngày đầu." in wrong.text
    assert (await page(client, desk, "/sms/history?date_from=hôm-nay")).status_code == 422


async def test_the_live_poll_answers_news_or_asks_again(client, app, monkeypatch) -> None:
    monkeypatch.setattr(sms_inbox, "WAIT_SECONDS", 0.2)
    desk = await browser(client, "dieuphoi")
    quiet = await page(client, desk, "/sms/live?waiting=0&newest=0")
    assert quiet.status_code == 200 and 'hx-get="/sms/live?waiting=0&amp;newest=0&amp;page=1"' in quiet.text
    message_id = await inbound(app, "SM-8")
    # a newer message: the list is reloaded in place, and the news said
    news = await page(client, desk, "/sms/live?waiting=0&newest=0&page=1")
    assert 'hx-get="/sms/rows?page=1&amp;news=1"' in news.text
    rows = await page(client, desk, "/sms/rows?page=1&news=1")
    assert rows.status_code == 200 and "<html" not in rows.text and rows_of(rows.text) == [message_id]
    assert 'hx-swap-oob="innerHTML:#sms-live-status">Có tin nhắn mới.' in rows.text
    assert f'hx-get="/sms/live?waiting=1&amp;newest={message_id}&amp;page=1"' in rows.text
    same = await page(client, desk, f"/sms/live?waiting=1&newest={message_id}")
    assert "/sms/rows" not in same.text
    # a colleague handled one: the list is reloaded without saying "new messages"
    gone = await page(client, desk, f"/sms/live?waiting=2&newest={message_id}&page=1")
    assert 'hx-get="/sms/rows?page=1&amp;news=0"' in gone.text
    assert "Có tin nhắn mới." not in (await page(client, desk, "/sms/rows?page=1&news=0")).text
    # the rows are the desk's, like the inbox
    assert (await page(client, await browser(client, "cv.tranbien"), "/sms/rows")).status_code == 403
