"""Officers' and citizens' SMS through a real provider adapter (Twilio SDK against its local
double): each is written to the message log with the provider's id once the provider took it; a
permanent refusal (Twilio 21408, blocked region) fails the message for good, visible in the log,
and is never retried; a secret never reaches the log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlmodel import select

from core.db import unit_of_work
from core.models.messages import Message
from core.models.notifications import DeliveryStatus, NotificationDelivery
from core.models.tickets import TicketCreate
from core.ports import ConsoleNotifier, Notification
from core.services import delivery
from core.services.actor import system_actor
from core.services.tickets import open_ticket
from messaging import twilio_gateway
from messaging.notifier import HIDDEN, GatewayNotifier
from tests.doubles.twilio_double import ACCOUNT_SID, AUTH_TOKEN, TwilioDouble


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as server:
        yield server


@pytest.fixture
def notifier(app, settings, double) -> GatewayNotifier:  # noqa: ANN001
    settings.twilio_account_sid, settings.twilio_auth_token = ACCOUNT_SID, SecretStr(AUTH_TOKEN)
    settings.twilio_from_number, settings.twilio_api_base = "+15005550006", double.url
    return GatewayNotifier(twilio_gateway(settings), app.state.services.sessions, fallback=ConsoleNotifier())


async def queue(app, key: str, phone: str, body: str, ticket_id: int | None = None) -> None:  # noqa: ANN001
    async with unit_of_work(app.state.services.sessions) as session:
        await delivery.queue_message(session, key, "sms", phone, body, "task_waiting", ticket_id=ticket_id)


async def logged(app) -> list[Message]:  # noqa: ANN001
    async with app.state.services.sessions() as session:
        return list((await session.exec(select(Message).order_by(Message.id))).all())


async def test_a_notice_is_sent_once_and_logged_with_the_provider_id(app, notifier, double) -> None:  # noqa: ANN001
    async with unit_of_work(app.state.services.sessions) as session:
        ticket, _ = await open_ticket(session, system_actor(), TicketCreate(channel="call", description="Đèn đường hỏng"),
                                      "sms-notice-1")
    await queue(app, "op:1:user:5:sms", "0912345678", f"Phản ánh {ticket.code} đang chờ đồng chí xử lý.", ticket.id)
    report = await delivery.send_pending(app.state.services.sessions, notifier, "op:1:")
    again = await delivery.send_pending(app.state.services.sessions, notifier, "op:1:")
    assert (report.sent, again.sent) == (1, 0)
    assert len([r for r in double.requests if r.method == "POST"]) == 1
    [row] = await logged(app)
    # Twilio took it ("queued" until its delivery reports say sent / delivered, which find it by this id)
    assert (row.direction, row.status, row.provider, row.address) == ("out", "queued", "twilio", "0912345678")
    assert row.provider_message_id.startswith("SM") and row.encoding == "UCS-2" and row.segments == 1
    assert row.ticket_id == ticket.id  # the ticket's messages include the notices about it


async def test_a_blocked_region_fails_for_good_and_shows_in_the_log(app, notifier, double) -> None:  # noqa: ANN001
    double.fail_next_with_region_block()
    await queue(app, "1022-2026-000002:notify", "0912345678", "Kết quả xử lý phản ánh 1022-2026-000002")
    report = await delivery.send_pending(app.state.services.sessions, notifier, "1022-2026-000002:",
                                         retry_errors=True)  # the citizen's SMS: retried unless refused for good
    assert (report.sent, report.failed, report.refused) == (0, 0, 1)
    [row] = await logged(app)
    assert row.status == "failed" and row.error_code == "21408"
    async with app.state.services.sessions() as session:
        ledger = (await session.exec(select(NotificationDelivery))).one()
    assert ledger.status == DeliveryStatus.failed
    retry = await delivery.send_pending(app.state.services.sessions, notifier, "1022-2026-000002:", retry_errors=True)
    assert (retry.sent, retry.failed, retry.refused) == (0, 0, 0)


async def test_a_secret_never_reaches_the_log(app, notifier) -> None:  # noqa: ANN001
    await notifier.send(Notification(key="reset-abc", recipient_user_id=1, phone="0912345678", email=None,
                                     subject="Đặt lại mật khẩu", body="Mã: https://x/reset?token=SECRET",
                                     kind="password_reset", sensitive=True))
    [row] = await logged(app)
    assert row.body == HIDDEN and "SECRET" not in row.body
