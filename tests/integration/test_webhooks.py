"""Providers' webhooks over HTTP (SMS-01, SMS-03): a signed Twilio SMS is stored once however
often Twilio retries it and answered with TwiML; a bad signature is a 403 and a malformed body a
400, with nothing stored; delivery reports move a sent message's status forward only."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from sqlmodel import func, select

from core.models.messages import Message
from core.ports import SendResult
from core.services import messages
from messaging.console import sign_body
from tests.doubles.twilio_double import ACCOUNT_SID, AUTH_TOKEN, signed_inbound, signed_status

BASE = "http://testserver"


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201 - Twilio configured (its API is never called here)
    settings.twilio_account_sid = ACCOUNT_SID
    settings.twilio_auth_token = SecretStr(AUTH_TOKEN)
    settings.twilio_from_number = "+15005550006"
    return settings


async def stored(app) -> list[Message]:  # noqa: ANN001
    async with app.state.services.sessions() as session:
        return list((await session.exec(select(Message).order_by(Message.id))).all())


async def post(client, path: str, webhook) -> object:  # noqa: ANN001
    return await client.post(path, content=webhook.body, headers=dict(webhook.headers))


async def test_a_signed_sms_is_stored_once_and_answered_with_twiml(app, client) -> None:  # noqa: ANN001
    path = "/webhooks/twilio/inbound"
    webhook = signed_inbound(BASE + path, "Đèn đường hỏng ở đường Võ Thị Sáu", sid="SM" + "a" * 32)
    first = await post(client, path, webhook)
    retried = await post(client, path, webhook)  # Twilio retries when it did not get our answer
    assert first.status_code == retried.status_code == 200
    assert first.headers["content-type"].startswith("text/xml") and "<Response" in first.text
    rows = await stored(app)
    assert len(rows) == 1
    row = rows[0]
    assert (row.channel, row.direction, row.status, row.provider) == ("sms", "in", "received", "twilio")
    assert row.address == "0912345678" and row.body == "Đèn đường hỏng ở đường Võ Thị Sáu"


async def test_bad_signatures_and_bodies_store_nothing(app, client) -> None:  # noqa: ANN001
    path = "/webhooks/twilio/inbound"
    forged = signed_inbound(BASE + path, "giả mạo", auth_token="not-the-token")
    assert (await post(client, path, forged)).status_code == 403
    other_url = signed_inbound(BASE + "/somewhere-else", "ký cho địa chỉ khác")
    assert (await post(client, path, other_url)).status_code == 403
    unsigned = await client.post(path, data={"From": "+84912345678", "Body": "x", "MessageSid": "SM1"})
    assert unsigned.status_code == 403
    # the console gateway (development) signs JSON with the secret key; a body it cannot read is a 400
    body = b'{"from": "0912345678"}'
    headers = {"x-hotline-signature": sign_body(app.state.services.settings.secret_key.get_secret_value(), body),
               "content-type": "application/json"}
    malformed = await client.post("/webhooks/console/inbound", content=body, headers=headers)
    assert malformed.status_code == 400 and malformed.json()["error_id"] == "malformed_webhook"
    assert (await client.post("/webhooks/nosuch/inbound", content=b"{}")).status_code == 404
    too_big = await client.post(path, content=b"x" * (70 * 1024))
    assert too_big.status_code == 413
    assert await stored(app) == []


async def test_a_console_sms_can_be_simulated_by_a_developer(app, client) -> None:  # noqa: ANN001
    body = json.dumps({"id": "dev-1", "from": "+84 912 345 678", "to": "1022", "text": "Xin chào"}).encode()
    headers = {"x-hotline-signature": sign_body(app.state.services.settings.secret_key.get_secret_value(), body),
               "content-type": "application/json"}
    answer = await client.post("/webhooks/console/inbound", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert [(m.address, m.body) for m in await stored(app)] == [("0912345678", "Xin chào")]


async def test_delivery_reports_move_the_status_forward_only(app, client) -> None:  # noqa: ANN001
    sid = "SM" + "b" * 32
    async with app.state.services.sessions() as session:
        await messages.record_outbound(session, "notify:1", "sms", "0912345678", "Phản ánh 1022-2026-000001 đã được tiếp nhận")
        await messages.mark_sent(session, "notify:1", SendResult("twilio", sid, "queued"))
        await session.commit()
    path = "/webhooks/twilio/status"
    for status in ("sent", "delivered", "sent"):  # the late "sent" changes nothing
        assert (await post(client, path, signed_status(BASE + path, sid, status))).status_code == 200
    unknown = signed_status(BASE + path, "SM" + "c" * 32, "delivered")  # another system's message
    assert (await post(client, path, unknown)).status_code == 200
    rows = await stored(app)
    assert [(m.status, m.provider_message_id) for m in rows] == [("delivered", sid)]
    async with app.state.services.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Message))).one() == 1
