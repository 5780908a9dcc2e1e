"""The message log (SMS-05…07, SMS-09, CRM-09) on a real PostgreSQL: idempotent recording in and
out, statuses that only move forward, the history's filters, totals and pages, unit scoping,
personal-data masking and its access log, and the API's answers to bad input and wrong roles."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select, update

from core.authz import Scope
from core.models import AuditLog, Message, OrgUnit
from core.models.messages import MessageChannel, MessageDirection, MessageStatus
from core.models.tickets import Channel, Ticket, TicketCreate
from core.ports import DeliveryReport, InboundMessage, SendResult
from core.services import messages, tickets
from core.services.actor import Actor, system_actor
from core.services.crud import Page
from core.services.messages import MessageFilters, ReportOutcome
from core.services.tickets import LOCAL_TZ
from tests.conftest import login

PHONE = "0912345678"
OTHER = "0987654321"
DESK = Actor(user_id=None, username="desk", roles=frozenset({"coordinator"}), scope=Scope.all)


def inbound(provider_id: str, sender: str = PHONE, body: str = "Đèn đường hỏng ở khu phố 3") -> InboundMessage:
    return InboundMessage(provider="twilio", provider_message_id=provider_id, sender=sender, body=body,
                          recipient="1022")


async def test_a_retried_webhook_stores_the_message_once(app) -> None:
    # given a message stored from a webhook
    async with app.state.services.sessions() as session:
        first, created = await messages.record_inbound(session, inbound("SM001"), MessageChannel.sms)
        await session.commit()
    assert created and first.status == MessageStatus.received
    # when the provider delivers the same webhook again (same provider message id)
    async with app.state.services.sessions() as session:
        again, created_again = await messages.record_inbound(session, inbound("SM001", body="changed"), "sms")
        await session.commit()
        count = (await session.exec(select(sa.func.count()).select_from(Message))).one()
    # then there is still one row, the first one
    assert not created_again and again.id == first.id and again.body == "Đèn đường hỏng ở khu phố 3"
    assert count == 1


async def test_the_same_provider_id_from_another_provider_is_another_message(app) -> None:
    async with app.state.services.sessions() as session:
        a, _ = await messages.record_inbound(session, inbound("X1"), "sms")
        b, created = await messages.record_inbound(session, InboundMessage("zalo", "X1", "84123456789012", "xin chào"),
                                                   MessageChannel.zalo)
        await session.commit()
    assert created and a.id != b.id and b.channel == "zalo"


async def test_outbound_is_recorded_once_per_key_and_sent_once(app) -> None:
    async with app.state.services.sessions() as session:
        # given an outbound message recorded twice with the same key (a retried activity)
        first, created = await messages.record_outbound(session, "ticket:1:citizen:sms", "sms", PHONE, "Đã tiếp nhận",
                                                        provider="twilio", segments=1, encoding="UCS-2")
        second, created_again = await messages.record_outbound(session, "ticket:1:citizen:sms", "sms", PHONE, "other")
        # when the provider's answer is recorded (twice)
        sent = await messages.mark_sent(session, "ticket:1:citizen:sms", SendResult("twilio", "SM900", "queued"))
        assert sent is not None and (sent.provider_message_id, sent.status, sent.sent_at) == ("SM900", "queued", None)
        sent_again = await messages.mark_sent(session, "ticket:1:citizen:sms", SendResult("twilio", "SM900", "sent"))
        await session.commit()
    # then one row, with the provider's id, and the status moved forward
    assert created and not created_again and first.id == second.id and second.body == "Đã tiếp nhận"
    assert sent_again is not None and sent_again.status == "sent" and sent_again.sent_at is not None
    assert first.segments == 1 and first.encoding == "UCS-2"
    async with app.state.services.sessions() as session:
        assert await messages.mark_sent(session, "no-such-key", SendResult("twilio", "SM1", "sent")) is None


async def test_status_moves_only_forward(app) -> None:
    async with app.state.services.sessions() as session:
        await messages.record_outbound(session, "k-forward", "sms", PHONE, "Kết quả xử lý")
        await messages.mark_sent(session, "k-forward", SendResult("twilio", "SMF", "sent"))
        # delivered, then a late "sent" and a repeated "delivered"
        outcome, row = await messages.apply_report(session, DeliveryReport("twilio", "SMF", "delivered"))
        late, _ = await messages.apply_report(session, DeliveryReport("twilio", "SMF", "sent"))
        repeated, _ = await messages.apply_report(session, DeliveryReport("twilio", "SMF", "delivered"))
        queued, _ = await messages.apply_report(session, DeliveryReport("twilio", "SMF", "queued"))
        await session.commit()
        stored = (await session.exec(select(Message).where(Message.idempotency_key == "k-forward"))).one()
    assert outcome is ReportOutcome.applied and row is not None and row.delivered_at is not None
    assert (late, repeated, queued) == (ReportOutcome.stale,) * 3
    assert stored.status == "delivered"


async def test_failed_is_final_and_says_why(app) -> None:
    async with app.state.services.sessions() as session:
        await messages.record_outbound(session, "k-failed", "sms", PHONE, "Kết quả")
        await messages.mark_sent(session, "k-failed", SendResult("twilio", "SMX", "queued"))
        outcome, row = await messages.apply_report(session, DeliveryReport("twilio", "SMX", "failed", "30003",
                                                                           "Unreachable destination handset"))
        after_delivered, _ = await messages.apply_report(session, DeliveryReport("twilio", "SMX", "delivered"))
        after_sent, _ = await messages.apply_report(session, DeliveryReport("twilio", "SMX", "sent"))
        # a permanent send error before the provider took the message
        await messages.record_outbound(session, "k-refused", "sms", "0911111111", "Kết quả")
        refused = await messages.mark_failed(session, "k-refused", "21408", "Permission to send to region not enabled")
        retried = await messages.mark_sent(session, "k-refused", SendResult("twilio", "SMR", "sent"))
        await session.commit()
    assert outcome is ReportOutcome.applied and row is not None and row.status == "failed"
    assert (row.error_code, row.error_message) == ("30003", "Unreachable destination handset")
    assert (after_delivered, after_sent) == (ReportOutcome.stale, ReportOutcome.stale)
    assert refused is not None and refused.status == "failed" and refused.error_code == "21408"
    assert retried is not None and retried.status == "failed"


async def test_a_report_for_an_unknown_message_stores_nothing(app) -> None:
    async with app.state.services.sessions() as session:
        await messages.record_inbound(session, inbound("IN-1"), "sms")  # an inbound row never takes a report
        unknown, row = await messages.apply_report(session, DeliveryReport("twilio", "NOT-OURS", "delivered"))
        inbound_report, _ = await messages.apply_report(session, DeliveryReport("twilio", "IN-1", "delivered"))
        await session.commit()
        statuses = (await session.exec(select(Message.status))).all()
    assert (unknown, row, inbound_report) == (ReportOutcome.unknown, None, ReportOutcome.unknown)
    assert statuses == ["received"]


async def test_an_unknown_status_is_refused(app) -> None:
    async with app.state.services.sessions() as session:
        with pytest.raises(ValueError):
            await messages.apply_report(session, DeliveryReport("twilio", "SM1", "undelivered"))


async def _ticket(session, key: str) -> Ticket:
    ticket, _ = await tickets.open_ticket(session, system_actor(), TicketCreate(
        channel=Channel.sms, description="Đèn đường hỏng ở khu phố 3", citizen_phone=PHONE), key)
    return ticket


async def test_linking_a_ticket_takes_the_message_out_of_the_desk_inbox(app) -> None:
    async with app.state.services.sessions() as session:
        older, _ = await messages.record_inbound(session, inbound("Q1"), "sms")
        newer, _ = await messages.record_inbound(session, inbound("Q2", OTHER), "sms")
        spam, _ = await messages.record_inbound(session, inbound("Q3", OTHER, "quảng cáo"), "sms")
        await messages.record_outbound(session, "k-q", "sms", PHONE, "trả lời")  # outbound never waits in the inbox
        ticket = await _ticket(session, "from-q1")
        await session.commit()
        queue = await messages.inbound_queue(session, DESK, Page(1, 50), True)
        assert [m.id for m in queue.items] == [older.id, newer.id, spam.id] and queue.total == 3
        linked = await messages.link_ticket(session, DESK, older.id, ticket.id)
        again = await messages.link_ticket(session, DESK, older.id, ticket.id)  # the same link twice: no change
        await messages.mark_handled(session, DESK, spam.id)
        await session.commit()
        assert linked.ticket_id == ticket.id and linked.handled_at is not None and again.id == older.id
        queue = await messages.inbound_queue(session, DESK, Page(1, 50), False)
        assert [m.id for m in queue.items] == [newer.id] and queue.total == 1
        other = await _ticket(session, "another")
        with pytest.raises(messages.MessageAlreadyLinked):
            await messages.link_ticket(session, DESK, older.id, other.id)


async def _fill(app, now: datetime) -> dict[str, int]:
    """30 messages of PHONE over the last 30 days (one a day, in and out alternately), 5 Zalo
    messages and 3 of OTHER today; returns a few ids."""
    ids: dict[str, int] = {}
    async with app.state.services.sessions() as session:
        for day in range(30):
            if day % 2:
                row, _ = await messages.record_inbound(session, inbound(f"P{day}", body=f"tin {day}"), "sms")
            else:
                row, _ = await messages.record_outbound(session, f"out-{day}", "sms", PHONE, f"trả lời {day}")
            await session.exec(update(Message).where(col(Message.id) == row.id).values(  # type: ignore[call-overload]
                created_at=now - timedelta(days=day)))
            ids[f"day{day}"] = row.id  # type: ignore[assignment]
        for n in range(5):
            await messages.record_inbound(session, InboundMessage("zalo", f"Z{n}", "8412345678901234", "xin chào"), "zalo")
        for n in range(3):
            await messages.record_inbound(session, inbound(f"O{n}", OTHER), "sms")
        await session.commit()
    return ids


async def test_history_filters_by_phone_typed_any_way_channel_direction_and_local_dates(app) -> None:
    now = datetime.now(LOCAL_TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    await _fill(app, now)
    today = now.date()

    async def ids(filters: MessageFilters, per_page: int = 50) -> list[str]:
        async with app.state.services.sessions() as session:
            page = await messages.history(session, DESK, filters, Page(1, per_page), True)
        return [m.body for m in page.items]

    typed = messages.normalize_address("+84 912 345 678")
    assert typed == PHONE and messages.normalize_address(" 0912.345.678 ") == PHONE
    assert messages.normalize_address("+1 (202) 555-0100") == "+12025550100"
    mine = await ids(MessageFilters(address=typed))
    assert len(mine) == 30 and mine[0] == "trả lời 0" and mine[-1] == "tin 29"  # newest first
    assert len(await ids(MessageFilters(address=typed, direction=MessageDirection.inbound))) == 15
    assert len(await ids(MessageFilters(channel=MessageChannel.zalo))) == 5
    assert len(await ids(MessageFilters(address=OTHER, status=MessageStatus.received))) == 3
    assert len(await ids(MessageFilters(status=MessageStatus.queued, direction=MessageDirection.outbound))) == 15
    assert len(await ids(MessageFilters(status=MessageStatus.failed))) == 0
    assert len(await ids(MessageFilters(address="+84 999 999 999"))) == 0
    # local days, both ends included: the last 7 days are 7 of PHONE's messages, plus today's others
    week = await ids(MessageFilters(address=PHONE, date_from=today - timedelta(days=6), date_to=today))
    assert week == ["trả lời 0", "tin 1", "trả lời 2", "tin 3", "trả lời 4", "tin 5", "trả lời 6"]
    one_day = await ids(MessageFilters(date_from=today - timedelta(days=3), date_to=today - timedelta(days=3)))
    assert one_day == ["tin 3"]


async def test_history_pages_carry_the_total_and_the_number_of_pages(app) -> None:
    now = datetime.now(LOCAL_TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    ids = await _fill(app, now)
    async with app.state.services.sessions() as session:
        first = await messages.history(session, DESK, MessageFilters(address=PHONE), Page(1, 7), True)
        third = await messages.history(session, DESK, MessageFilters(address=PHONE), Page(3, 7), True)
        last = await messages.history(session, DESK, MessageFilters(address=PHONE), Page(5, 7), True)
        beyond = await messages.history(session, DESK, MessageFilters(address=PHONE), Page(9, 7), True)
        keyset = await messages.history(session, DESK, MessageFilters(address=PHONE), Page(1, 7), True,
                                        after=first.next_after)
        everything = await messages.history(session, DESK, MessageFilters(), Page(1, 10), True)
    assert (first.total, first.pages, first.total_is_estimate) == (30, 5, False)
    assert [m.id for m in first.items][:1] == [ids["day0"]] and first.next_after == ids["day6"]
    assert [m.id for m in third.items] == [ids[f"day{d}"] for d in range(14, 21)]
    assert (last.total, len(last.items), last.next_after) == (30, 2, None)
    assert (beyond.total, beyond.items) == (30, [])
    assert [m.id for m in keyset.items] == [ids[f"day{d}"] for d in range(7, 14)]
    assert (everything.total, everything.pages, everything.total_is_estimate) == (38, 4, False)


async def test_unit_people_see_only_messages_of_their_units_tickets(app) -> None:
    async with app.state.services.sessions() as session:
        units = {u.code: u for u in (await session.exec(select(OrgUnit))).all()}
        mine, other = await _ticket(session, "unit-mine"), await _ticket(session, "unit-other")
        for ticket, unit in ((mine, "P.TRANBIEN"), (other, "SXD")):
            await session.exec(update(Ticket).where(col(Ticket.id) == ticket.id).values(  # type: ignore[call-overload]
                current_unit_id=units[unit].id))
        a, _ = await messages.record_inbound(session, inbound("U1"), "sms")
        b, _ = await messages.record_inbound(session, inbound("U2"), "sms")
        await messages.record_inbound(session, inbound("U3"), "sms")  # linked to nothing
        await messages.link_ticket(session, DESK, a.id, mine.id)
        await messages.link_ticket(session, DESK, b.id, other.id)
        await session.commit()
        unit = units["P.TRANBIEN"]
        manager = Actor(user_id=None, username="ld", roles=frozenset({"unit_manager"}), unit_id=unit.id,
                        unit_path=unit.path, scope=Scope.unit)
        page = await messages.history(session, manager, MessageFilters(address=PHONE), Page(1, 50), True)
        assert [m.id for m in page.items] == [a.id] and page.total == 1 and page.items[0].ticket_code == mine.code
        by_ticket = await messages.history(session, manager, MessageFilters(ticket_id=mine.id), Page(1, 50), False)
        assert [m.id for m in by_ticket.items] == [a.id] and by_ticket.items[0].address == "091*****78"
        with pytest.raises(messages.NotFound):
            await messages.get_message(session, manager, b.id, True)
        # a unit reads one ticket's or one person's messages at a time
        with pytest.raises(messages.ValidationFailed):
            await messages.history(session, manager, MessageFilters(), Page(1, 50), True)
        assert (await messages.inbound_queue(session, manager, Page(1, 50), True)).items == []
        nobody = Actor(user_id=None, username="own", roles=frozenset(), scope=Scope.own)
        assert (await messages.history(session, nobody, MessageFilters(address=PHONE), Page(1, 50), True)).items == []


# ---- through the API ----

async def test_api_history_with_a_phone_typed_as_people_write_it(app, client) -> None:
    await _fill(app, datetime.now(LOCAL_TZ))
    desk = await login(client, "dieuphoi")
    response = await client.get("/api/v1/messages", headers=desk,
                                params={"phone": "+84 912 345 678", "per_page": 10, "page": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["pages"], body["page"], body["per_page"], body["total_is_estimate"]) == (30, 3, 2, 10, False)
    assert len(body["items"]) == 10 and body["items"][0]["address"] == PHONE
    one = await client.get(f"/api/v1/messages/{body['items'][0]['id']}", headers=desk)
    assert one.status_code == 200 and one.json()["address"] == PHONE
    async with app.state.services.sessions() as session:
        logged = (await session.exec(select(AuditLog.action).where(AuditLog.entity == "message"))).all()
    assert sorted(logged) == ["pii.list", "pii.read"]  # every unmasked read is in the access log


async def test_api_masks_numbers_for_a_role_without_personal_data(app, client) -> None:
    await _fill(app, datetime.now(LOCAL_TZ))
    auditor = await login(client, "kiemtra")
    body = (await client.get("/api/v1/messages", headers=auditor, params={"phone": PHONE})).json()
    assert body["total"] == 30 and {m["address"] for m in body["items"]} == {"091*****78"}
    one = await client.get(f"/api/v1/messages/{body['items'][0]['id']}", headers=auditor)
    assert one.json()["address"] == "091*****78"
    async with app.state.services.sessions() as session:
        assert (await session.exec(select(AuditLog).where(AuditLog.entity == "message"))).first() is None


async def test_api_refuses_a_citizen(client) -> None:
    admin = await login(client, "admin")
    roles = {r["code"]: r["id"] for r in (await client.get("/api/v1/roles", headers=admin)).json()}
    group = await client.post("/api/v1/groups", headers=admin, json={"code": "ONLY_CITIZEN", "name": "Công dân thử",
                                                                     "role_ids": [roles["citizen"]]})
    user = await client.post("/api/v1/users", headers=admin, json={
        "username": "congdan.thu", "password": "Role-Test-2026!", "full_name": "Công dân thử",
        "group_ids": [group.json()["id"]]})
    assert user.status_code == 201, user.text
    citizen = await login(client, "congdan.thu", "Role-Test-2026!")
    assert (await client.get("/api/v1/messages", headers=citizen)).status_code == 403
    assert (await client.get("/api/v1/messages/1", headers=citizen)).status_code == 403
    assert (await client.get("/api/v1/messages")).status_code == 401


@pytest.mark.parametrize("params, field", [
    ({"date_from": "2025-02-30"}, "date_from"),
    ({"date_to": "hôm qua"}, "date_to"),
    ({"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_to"),
    ({"per_page": 201}, "per_page"),
    ({"page": 0}, "page"),
    ({"page": 300}, "page"),  # 300 x 50 rows deep: continue with `after` instead
    ({"channel": "fax"}, "channel"),
    ({"status": "lost"}, "status"),
    ({"after": 99999999}, "after"),
    ({"phone": "x" * 65}, "phone"),
])
async def test_api_bad_input_is_422_naming_the_field(client, params, field) -> None:
    desk = await login(client, "dieuphoi")
    response = await client.get("/api/v1/messages", headers=desk, params=params)
    assert response.status_code == 422, response.text
    assert field in response.text and response.json()["message"]


async def test_api_unknown_message_is_404(client) -> None:
    desk = await login(client, "dieuphoi")
    assert (await client.get("/api/v1/messages/123456789", headers=desk)).status_code == 404
    assert (await client.get("/api/v1/messages/0", headers=desk)).status_code == 422
