"""Replying to a citizen from their ticket, durably (issue 6): the SendMessage workflow on the
real Temporal dev server sends through the real Twilio SDK against its local double — once per
Idempotency-Key even when the request is retried, through the provider's 5xx with backoff, and
failed at once (no retry) when Twilio refuses the region (21408); every outcome is in the message
log and on the ticket's progress."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlmodel import select

from core.models.messages import Message
from tests.conftest import login
from tests.doubles.twilio_double import ACCOUNT_SID, AUTH_TOKEN, TwilioDouble
from tests.support import eventually

REPLY = "Phản ánh của ông/bà đã được chuyển Sở Xây dựng xử lý."


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as server:
        yield server


@pytest.fixture
def settings(settings, double):  # noqa: ANN001, ANN201 - Twilio through its double, for the worker
    settings.sms_gateway = "twilio"
    settings.twilio_account_sid, settings.twilio_auth_token = ACCOUNT_SID, SecretStr(AUTH_TOKEN)
    settings.twilio_from_number, settings.twilio_api_base = "+15005550006", double.url
    settings.twilio_timeout_seconds = 2
    return settings


async def new_ticket(client, headers, key: str) -> str:  # noqa: ANN001
    made = await client.post("/api/v1/tickets", headers={**headers, "Idempotency-Key": key}, json={
        "channel": "call", "citizen_name": "Nguyễn Văn An", "citizen_phone": "0912345678",
        "description": "Đèn đường hỏng trên đường Võ Thị Sáu"})
    assert made.status_code in (200, 201), made.text
    return made.json()["code"]


async def message(running, key: str) -> Message | None:  # noqa: ANN001
    async with running.services.sessions() as session:
        return (await session.exec(select(Message).where(Message.idempotency_key == key))).first()


def creates(double: TwilioDouble) -> int:
    return sum(1 for r in double.requests if r.method == "POST" and r.path.endswith("/Messages.json"))


async def test_a_reply_is_sent_once_per_key_even_through_provider_errors(running, double) -> None:  # noqa: ANN001
    client = running.client
    desk = await login(client, "dieuphoi")
    code = await new_ticket(client, desk, "reply-ticket-1")
    double.fail_next_with_status(503, times=2)  # Twilio down for two attempts: retried with backoff
    headers = {**desk, "Idempotency-Key": "reply-0001"}
    first = await client.post(f"/api/v1/tickets/{code}/messages", headers=headers, json={"text": REPLY})
    again = await client.post(f"/api/v1/tickets/{code}/messages", headers=headers, json={"text": REPLY})
    assert first.status_code == again.status_code == 202, first.text
    assert first.json()["key"] == again.json()["key"] and first.json()["encoding"] == "UCS-2"
    key = first.json()["key"]

    async def taken() -> Message | None:
        row = await message(running, key)
        return row if row is not None and row.provider_message_id else None

    row = await eventually(taken, "the provider to take the reply")
    assert row.status == "queued" and row.ticket_id is not None and row.body == REPLY
    accepted = [r for r in double.requests if r.method == "POST" and r.path.endswith("/Messages.json")]
    assert len(accepted) == 3  # two 503s, then the one Twilio created: one message for two requests
    progress = (await client.get(f"/api/v1/tickets/{code}/progress", headers=desk)).json()
    assert any(e["action"] == "message_sent" and e["note"] == REPLY for e in progress["list"])


async def test_a_blocked_region_fails_the_reply_at_once(running, double) -> None:  # noqa: ANN001
    client = running.client
    desk = await login(client, "dieuphoi")
    code = await new_ticket(client, desk, "reply-ticket-2")
    double.fail_next_with_region_block()
    answer = await client.post(f"/api/v1/tickets/{code}/messages", headers={**desk, "Idempotency-Key": "reply-0002"},
                               json={"text": REPLY})
    key = answer.json()["key"]

    async def failed() -> Message | None:
        row = await message(running, key)
        return row if row is not None and row.status == "failed" else None

    row = await eventually(failed, "the refused reply to be failed")
    assert row.error_code == "21408" and creates(double) == 1  # never retried


async def test_bad_replies_are_refused(running) -> None:  # noqa: ANN001
    client = running.client
    desk = await login(client, "dieuphoi")
    code = await new_ticket(client, desk, "reply-ticket-3")
    url = f"/api/v1/tickets/{code}/messages"
    assert (await client.post(url, headers=desk, json={"text": REPLY})).status_code == 422  # no Idempotency-Key
    keyed = {**desk, "Idempotency-Key": "reply-0003"}
    assert (await client.post(url, headers=keyed, json={"text": "  "})).status_code == 422
    assert (await client.post(url, headers=keyed, json={"text": "x" * 641})).status_code == 422
    assert (await client.post(url, headers=keyed, json={"text": REPLY, "to": "0999"})).status_code == 422
    officer = await login(client, "cv.tranbien")
    assert (await client.post(url, headers={**officer, "Idempotency-Key": "reply-0004"},
                              json={"text": REPLY})).status_code in (403, 404)
    segments = "/api/v1/messages/segments"
    assert (await client.get(segments, headers=desk, params={"text": "Xin chào"})).json() == {
        "encoding": "GSM-7", "characters": 8, "segments": 1}  # à is in the GSM alphabet
    assert (await client.get(segments, headers=desk, params={"text": "Đã tiếp nhận " * 6})).json() == {
        "encoding": "UCS-2", "characters": 78, "segments": 2}


async def test_the_ticket_page_sends_a_reply_once_per_form_and_shows_it(running, double) -> None:  # noqa: ANN001
    client = running.client
    desk = await login(client, "dieuphoi")
    code = await new_ticket(client, desk, "reply-ticket-5")
    cookies = {"hotline_session": desk["Authorization"].split(" ", 1)[1]}
    client.cookies.update(cookies)
    shown = await client.get(f"/tickets/{code}", headers={"Accept-Language": "vi"})
    assert shown.status_code == 200 and "Tin nhắn với người dân" in shown.text and "Chưa có tin nhắn." in shown.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', shown.text).group(1)
    key = re.search(r'name="key" value="([0-9a-f]{32})"', shown.text).group(1)
    form = {"csrf_token": csrf, "key": key, "text": REPLY}
    first = await client.post(f"/tickets/{code}/messages", data=form)
    again = await client.post(f"/tickets/{code}/messages", data=form)  # a double click: the same form's key
    assert first.status_code == again.status_code == 303
    empty = await client.post(f"/tickets/{code}/messages", data={**form, "text": "  "},
                              headers={"Accept-Language": "vi"})
    assert empty.status_code == 422 and "Vui lòng nhập nội dung tin nhắn." in empty.text

    async def listed() -> str | None:
        page = await client.get(f"/tickets/{code}", headers={"Accept-Language": "vi"})
        return page.text if REPLY in page.text and "Gửi người dân" in page.text else None

    await eventually(listed, "the reply on the ticket page")
    assert creates(double) == 1
    client.cookies.clear()
