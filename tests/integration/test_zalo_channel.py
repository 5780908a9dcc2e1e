"""The Zalo Official Account channel end to end (INT-06): a citizen's Zalo message, signed as Zalo
signs it, is stored once however often Zalo retries it; the desk makes a report of it (no phone
number needed); the citizen is told on Zalo that it was received; the desk answers on Zalo from
the ticket — once per Idempotency-Key, through the OA API's local double — and Zalo's delivery
event marks the answer delivered. A ticket without a Zalo conversation cannot be answered there."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlmodel import col, select

from core.db import unit_of_work
from core.models import Area, TicketField
from core.models.messages import Message
from core.models.tickets import Ticket
from core.ports import ConsoleNotifier, Notification
from messaging import zalo_gateway
from messaging.notifier import GatewayNotifier
from tests.doubles.zalo_double import (
    ACCESS_TOKEN,
    APP_ID,
    OA_SECRET_KEY,
    ZaloDouble,
    signed_event,
    user_received_message,
    user_send_text,
)
from tests.integration.test_sms_inbox_pages import browser, csrf_of, page, post
from tests.support import eventually

ZALO_USER = "246845883529197922"
ANSWER = "Chào anh/chị, Phường Trấn Biên đã nhận phản ánh và sẽ xử lý trong 3 ngày."


@pytest.fixture
def double() -> Iterator[ZaloDouble]:
    with ZaloDouble() as server:
        yield server


@pytest.fixture
def settings(settings, double):  # noqa: ANN001, ANN201 - the Zalo OA through its double
    settings.zalo_access_token, settings.zalo_oa_secret_key = SecretStr(ACCESS_TOKEN), SecretStr(OA_SECRET_KEY)
    settings.zalo_app_id, settings.zalo_api_base, settings.zalo_timeout_seconds = APP_ID, double.url, 2
    return settings


async def zalo_rows(services) -> list[Message]:  # noqa: ANN001
    async with services.sessions() as session:
        return list((await session.exec(select(Message).where(Message.channel == "zalo").order_by(col(Message.id)))).all())


async def test_a_zalo_message_becomes_a_report_answered_on_zalo(running, double) -> None:  # noqa: ANN001
    client, services = running.client, running.services
    # given a citizen writes to the OA, and Zalo delivers the event twice
    event = user_send_text("Cống thoát nước bị tắc ở hẻm 45 Phạm Văn Thuận, nước tràn lên đường.", user_id=ZALO_USER)
    webhook = signed_event(event)
    for _ in range(2):
        answer = await client.post("/webhooks/zalo/inbound", content=webhook.body, headers=dict(webhook.headers))
        assert answer.status_code == 200, answer.text
    rows = await zalo_rows(services)
    assert [(r.direction, r.address, r.provider) for r in rows] == [("in", ZALO_USER, "zalo")]
    message_id = rows[0].id
    # a forged event is refused and stores nothing
    forged = await client.post("/webhooks/zalo/inbound", content=webhook.body.replace(b"45", b"46"),
                               headers=dict(webhook.headers))
    assert forged.status_code == 403 and len(await zalo_rows(services)) == 1

    # when the desk makes a report of it: no phone number asked, the channel is Zalo
    desk = await browser(client, "dieuphoi")
    form = await page(client, desk, f"/sms/{message_id}/ticket")
    assert form.status_code == 200 and ZALO_USER not in re.findall(r'name="citizen_phone" [^>]*value="([^"]*)"', form.text)
    async with unit_of_work(services.sessions) as session:
        field_id = (await session.exec(select(TicketField.id))).first()
        area_id = (await session.exec(select(Area.id))).first()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    made = await post(client, desk, f"/sms/{message_id}/ticket", {
        "csrf_token": csrf_of(form.text), "idempotency_key": key, "citizen_phone": "", "field_id": str(field_id),
        "area_id": str(area_id), "address": "Hẻm 45 Phạm Văn Thuận", "description": event["message"]["text"]})
    assert made.status_code == 303, made.text
    async with unit_of_work(services.sessions) as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.idempotency_key == f"message:{message_id}"))).one()
    assert ticket.channel == "zalo" and ticket.citizen_phone is None

    # then the citizen is told on Zalo that it was received (the life cycle's first step)
    async def received() -> Notification | None:
        return next((n for n in running.notifier.sent if n.kind == "citizen_received"), None)

    notice = await eventually(received, "the received notice")
    assert notice.zalo_user_id == ZALO_USER and notice.phone is None and ticket.code in notice.body

    # when the desk answers from the ticket (the page offers Zalo only: there is no phone number)
    client.cookies.clear()
    client.cookies.update(desk)
    shown = await client.get(f"/tickets/{ticket.code}", headers={"Accept-Language": "vi"})
    assert 'name="channel" value="zalo"' in shown.text and "Gửi tin nhắn" in shown.text
    client.cookies.clear()
    from tests.conftest import login

    api = await login(client, "dieuphoi")
    for _ in range(2):  # a retried request: the same key answers once
        sent = await client.post(f"/api/v1/tickets/{ticket.code}/messages", json={"text": ANSWER, "channel": "zalo"},
                                 headers={**api, "Idempotency-Key": "zalo-answer-1"})
        assert sent.status_code == 202, sent.text

    async def answered() -> Message | None:
        out = [r for r in await zalo_rows(services) if r.direction == "out" and r.status == "sent"]
        return out[0] if out else None

    reply = await eventually(answered, "the answer sent on Zalo")
    assert [(m["user_id"], m["text"]) for m in double.sent] == [(ZALO_USER, ANSWER)]
    assert reply.ticket_id == ticket.id and reply.provider_message_id == double.sent[0]["message_id"]
    # and Zalo's delivery event marks it delivered
    report = signed_event(user_received_message(reply.provider_message_id or "", user_id=ZALO_USER))
    assert (await client.post("/webhooks/zalo/status", content=report.body, headers=dict(report.headers))).status_code == 200
    assert [r.status for r in await zalo_rows(services) if r.direction == "out"] == ["delivered"]
    # an SMS answer is refused: the ticket has no phone number
    refused = await client.post(f"/api/v1/tickets/{ticket.code}/messages", json={"text": ANSWER, "channel": "sms"},
                                headers={**api, "Idempotency-Key": "sms-answer-1"})
    assert refused.status_code == 422


async def test_a_ticket_without_a_zalo_conversation_is_not_answered_there(running) -> None:  # noqa: ANN001
    from tests.conftest import login

    client = running.client
    desk = await login(client, "dieuphoi")
    made = await client.post("/api/v1/tickets", headers={**desk, "Idempotency-Key": "zalo-none-1"}, json={
        "channel": "call", "citizen_name": "Nguyễn Văn An", "citizen_phone": "0912345678",
        "description": "Đèn đường hỏng trên đường Võ Thị Sáu"})
    code = made.json()["code"]
    refused = await client.post(f"/api/v1/tickets/{code}/messages", json={"text": ANSWER, "channel": "zalo"},
                                headers={**desk, "Idempotency-Key": "zalo-none-2", "Accept-Language": "vi"})
    assert refused.status_code == 422
    assert refused.json()["details"][0]["message"].startswith("Phản ánh này không có cuộc trò chuyện Zalo")
    assert (await client.post(f"/api/v1/tickets/{code}/messages", json={"text": ANSWER, "channel": "fax"},
                              headers={**desk, "Idempotency-Key": "zalo-none-3"})).status_code == 422


async def test_the_notifier_tells_a_zalo_citizen_on_zalo_and_logs_it(app, settings, double) -> None:  # noqa: ANN001
    sessions = app.state.services.sessions
    zalo = zalo_gateway(settings, sessions)
    notifier = GatewayNotifier(zalo, sessions, fallback=ConsoleNotifier(), zalo=zalo)
    try:
        notice = Notification(key="citizen:zalo-1", recipient_user_id=None, phone=None, email=None, subject="1022",
                              body="Tổng đài 1022 Đồng Nai đã tiếp nhận phản ánh 1022-2026-000001 của bạn.",
                              kind="citizen_received", zalo_user_id=ZALO_USER)
        for _ in range(2):  # a retried activity: the key the OA already took is not sent again
            provider_id = await notifier.send(notice)
        assert provider_id == f"zalo:{double.sent[0]['message_id']}" and len(double.sent) == 1
        rows = await zalo_rows(app.state.services)
        assert [(r.direction, r.address, r.status) for r in rows] == [("out", ZALO_USER, "sent")]
        # without a configured OA a Zalo notice fails for good (the SMS path is not tried with a Zalo id)
        from core.ports import PermanentSendError

        with pytest.raises(PermanentSendError):
            await GatewayNotifier(zalo, sessions, fallback=ConsoleNotifier()).send(
                Notification(key="citizen:zalo-2", recipient_user_id=None, phone=None, email=None, subject="1022",
                             body="x", zalo_user_id=ZALO_USER))
    finally:
        await zalo.aclose()
