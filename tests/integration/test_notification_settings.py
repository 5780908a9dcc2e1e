"""Per-user notification settings (PERM-10): defaults, changes, validation, audit, the
administrator's view; and the life cycle's notices honouring them, with an SMS sent at most
once however often the Temporal activity runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlmodel import col, select
from temporalio.testing import ActivityEnvironment

from activities.ticket_ops import TicketOperations
from core.db import unit_of_work
from core.engine_types import ServiceCallInput
from core.models import InAppNotification, NotificationDelivery, OrgUnit, User
from core.models.tickets import TicketCreate
from core.ports import Notification
from core.services import tickets
from core.services.actor import system_actor

ME = "/api/v1/me/notification-settings"
EVENTS = ["ticket_received", "task_dispatch", "task_assign", "task_process", "task_approve", "ticket_due_soon",
          "ticket_overdue"]


def by_event(settings: dict) -> dict[str, dict]:
    return {i["event"]: i for i in settings["items"]}


async def test_defaults_depend_on_the_event_and_the_desk(client, as_user) -> None:
    # given an officer and a coordinator who never changed anything
    officer = (await client.get(ME, headers=await as_user("cv.tranbien"))).json()
    desk = (await client.get(ME, headers=await as_user("dieuphoi"))).json()
    # then everything is shown in-app, nobody gets email, and SMS only say that work waits
    items = by_event(officer)
    assert list(items) == EVENTS
    assert all(i["in_app"] and not i["email"] and i["is_default"] and i["sms_text"] is None for i in officer["items"])
    assert {e for e, i in items.items() if i["sms"]} == {"ticket_received", "task_process", "task_approve", "ticket_due_soon",
                                                         "ticket_overdue"}
    assert officer["sms_phone"] == "0900000009"
    assert "{{ code }}" in items["task_process"]["default_sms_text"] and items["task_process"]["label"]
    # and the desk, which works on screen, gets no SMS at all by default
    assert not any(i["sms"] for i in desk["items"])


async def test_a_person_changes_their_settings_and_can_go_back_to_the_defaults(client, as_user) -> None:
    officer = await as_user("cv.tranbien")
    # when the officer turns the processing SMS off and words the overdue one
    response = await client.put(ME, headers=officer, json={"items": [
        {"event": "task_process", "in_app": True, "sms": False},
        {"event": "ticket_overdue", "in_app": False, "sms": True, "sms_text": "  Quá hạn: {{ code }} ({{ title }})  "}]})
    assert response.status_code == 200, response.text
    # then those change and nothing else does
    items = by_event(response.json())
    assert (items["task_process"]["sms"], items["task_process"]["is_default"]) == (False, False)
    assert items["ticket_overdue"]["sms_text"] == "Quá hạn: {{ code }} ({{ title }})" and not items["ticket_overdue"]["in_app"]
    assert items["task_approve"]["is_default"] and items["task_approve"]["sms"]
    assert by_event((await client.get(ME, headers=officer)).json()) == items
    # and the change is in the audit trail, with the events changed only
    admin = await as_user("admin")
    me = (await client.get("/api/v1/me", headers=officer)).json()
    log = (await client.get("/api/v1/audit", headers=admin, params={"entity": "user", "entity_id": str(me["id"])})).json()
    entry = next(e for e in log["items"] if e["action"] == "notification_settings.update")
    assert set(entry["after"]) == {"task_process", "ticket_overdue"} and entry["before"]["task_process"]["sms"] is True
    # when they send the defaults back, the setting is the default again (and follows later default changes)
    back = await client.put(ME, headers=officer, json={"items": [{"event": "task_process", "in_app": True, "sms": True}]})
    assert by_event(back.json())["task_process"]["is_default"] is True


@pytest.mark.parametrize(("items", "field", "message"), [
    ([{"event": "task_process", "in_app": True, "sms": True, "sms_text": "Việc {{ ma_so }}"}],
     "items.0.sms_text", "Không có biến ma_so. Chỉ được dùng: {{ code }}, {{ title }}."),
    ([{"event": "task_process", "in_app": True, "sms": True, "sms_text": "Việc {code}"}],
     "items.0.sms_text", "Hãy viết biến trong cặp ngoặc nhọn kép: {{ code }}."),
    ([{"event": "task_process", "in_app": True, "sms": True, "sms_text": "Việc {{ code"}],
     "items.0.sms_text", "Nội dung viết chưa đúng ở dòng 1: hãy viết biến theo dạng {{ code }}."),
    ([{"event": "task_process", "in_app": True, "sms": True, "sms_text": "Việc {{ code.__class__ }}"}],
     "items.0.sms_text", "Mẫu tin nhắn dùng thành phần không được phép."),
    ([{"event": "task_process", "in_app": True, "sms": True},
      {"event": "task_process", "in_app": False, "sms": False}], "items.1.event", "Sự kiện task_process bị khai báo hai lần."),
])
async def test_invalid_settings_are_refused_whole(client, as_user, items, field, message) -> None:
    officer = await as_user("cv.tranbien")
    response = await client.put(ME, headers=officer, json={"items": [
        {"event": "task_approve", "in_app": False, "sms": False}, *items]})
    assert response.status_code == 422, response.text
    shifted = f"items.{int(field.split('.')[1]) + 1}.{field.split('.')[2]}"
    assert {"field": shifted, "message": message} in response.json()["details"]
    assert by_event((await client.get(ME, headers=officer)).json())["task_approve"]["is_default"]


@pytest.mark.parametrize("body", [
    {"items": []}, {"items": [{"event": "lunch", "in_app": True, "sms": True}]},
    {"items": [{"event": "task_process", "in_app": True}]}, {"items": [{"event": "task_process", "in_app": True, "sms": True, "x": 1}]},
    {"items": [{"event": "task_process", "in_app": True, "sms": True, "sms_text": "x" * 301}]}, {},
])
async def test_malformed_settings_are_refused(client, as_user, body) -> None:
    assert (await client.put(ME, headers=await as_user("cv.tranbien"), json=body)).status_code == 422


async def test_sms_cannot_be_switched_on_without_a_mobile_number(client, as_user) -> None:
    # given a user with no phone in their profile
    admin = await as_user("admin")
    created = await client.post("/api/v1/users", headers=admin, json={
        "username": "khongdienthoai", "password": "Khong-Phone-2026!", "full_name": "Không Điện Thoại"})
    assert created.status_code == 201, created.text
    headers = await as_user("khongdienthoai", "Khong-Phone-2026!")
    settings = (await client.get(ME, headers=headers)).json()
    assert settings["sms_phone"] is None
    # when they switch an SMS on, it is refused, saying why
    refused = await client.put(ME, headers=headers, json={"items": [{"event": "task_assign", "in_app": True, "sms": True}]})
    assert refused.status_code == 422
    assert refused.json()["details"][0]["field"] == "items.0.sms" and "di động" in refused.json()["details"][0]["message"]
    # but sending back what they read (defaults with SMS on) works
    echo = [{k: i[k] for k in ("event", "in_app", "sms", "email", "sms_text")} for i in settings["items"]]
    assert (await client.put(ME, headers=headers, json={"items": echo})).status_code == 200


async def test_an_administrator_sets_a_users_settings(client, as_user) -> None:
    admin, officer = await as_user("admin"), await as_user("cv.tranbien")
    officer_id = (await client.get("/api/v1/me", headers=officer)).json()["id"]
    url = f"/api/v1/users/{officer_id}/notification-settings"
    response = await client.put(url, headers=admin, json={"items": [{"event": "task_approve", "in_app": True, "sms": False}]})
    assert response.status_code == 200, response.text
    assert by_event((await client.get(ME, headers=officer)).json())["task_approve"]["sms"] is False
    assert (await client.get(url, headers=admin)).json() == response.json()
    # a manager sees their own unit's people only; nobody but the administrator changes them
    assert (await client.get(url, headers=await as_user("ld.tranbien"))).status_code == 200
    assert (await client.get(url, headers=await as_user("ld.sxd"))).status_code == 404
    assert (await client.put(url, headers=await as_user("ld.tranbien"), json={"items": [
        {"event": "task_approve", "in_app": True, "sms": True}]})).status_code == 403
    assert (await client.get("/api/v1/users/999999/notification-settings", headers=admin)).status_code == 404


# ---- the life cycle's notices honour the settings ----


@dataclass
class RecordingNotifier:
    """The SMS gateway as a test sees it: every call, duplicates included."""

    calls: list[Notification] = field(default_factory=list)
    fail: bool = False

    async def send(self, message: Notification) -> str:
        if self.fail:
            raise ConnectionError("gateway down")
        self.calls.append(message)
        return f"provider-{len(self.calls)}"


@pytest.fixture
def sessions(app):  # noqa: ANN001, ANN201
    return app.state.services.sessions


async def open_ticket(sessions) -> str:  # noqa: ANN001
    async with unit_of_work(sessions) as session:
        ticket, _ = await tickets.open_ticket(session, system_actor("test"), TicketCreate(
            channel="call", description="Rác thải đổ trộm ven đường Đồng Khởi, đề nghị xử lý.",
            citizen_phone="0912345678"), "notify-test-1")
        return ticket.code


async def notify_unit(sessions, notifier, code: str, task_id: str = "spiff-1") -> dict:  # noqa: ANN001
    async with unit_of_work(sessions) as session:
        ward = (await session.exec(select(OrgUnit).where(OrgUnit.code == "P.TRANBIEN"))).one()
    call = ServiceCallInput(business_key=code, task_id=task_id, operator="notify_unit",
                            params={"unit_path": ward.path, "role": "unit_manager", "title": "Phản ánh mới được chuyển đến đơn vị"})
    return await ActivityEnvironment().run(TicketOperations(sessions, notifier).notify_unit, call)


async def manager_inbox(sessions) -> tuple[int, list[InAppNotification]]:  # noqa: ANN001
    async with unit_of_work(sessions) as session:
        manager = (await session.exec(select(User).where(User.username == "ld.tranbien"))).one()
        rows = (await session.exec(select(InAppNotification).where(InAppNotification.user_id == manager.id))).all()
        return manager.id, list(rows)  # type: ignore[return-value]


async def test_notify_unit_sends_the_sms_once_even_when_the_activity_runs_twice(sessions) -> None:
    # given a ticket for Phường Trấn Biên, whose manager has the default settings (SMS on)
    code = await open_ticket(sessions)
    gateway = RecordingNotifier()
    # when the notify_unit activity runs, and runs again as a Temporal retry would
    assert await notify_unit(sessions, gateway, code) == {"notified": 1}
    assert await notify_unit(sessions, gateway, code) == {"notified": 1}
    # then the manager got one SMS, to their phone, with the ticket code and no citizen data
    assert len(gateway.calls) == 1
    sms = gateway.calls[0]
    assert sms.phone == "0900000008" and code in sms.body and "0912345678" not in sms.body and "Rác" not in sms.body
    assert sms.kind == "ticket_received" and sms.key.startswith("op:spiff-1:user:")
    # and one in-app notification, and the ledger says it was sent
    manager_id, rows = await manager_inbox(sessions)
    assert [(r.kind, r.title) for r in rows] == [("ticket", "Phản ánh mới được chuyển đến đơn vị")]
    async with unit_of_work(sessions) as session:
        ledger = (await session.exec(select(NotificationDelivery))).all()
    assert [(d.status, d.attempts, d.user_id, d.provider_id) for d in ledger] == [("sent", 1, manager_id, "provider-1")]


async def test_no_sms_when_the_person_turned_it_off_and_no_in_app_row_when_that_is_off(client, as_user, sessions) -> None:
    # given the manager turned both off for tickets reaching the unit
    manager = await as_user("ld.tranbien")
    assert (await client.put(ME, headers=manager, json={"items": [
        {"event": "ticket_received", "in_app": False, "sms": False}]})).status_code == 200
    code = await open_ticket(sessions)
    gateway = RecordingNotifier()
    # when the unit is notified
    assert await notify_unit(sessions, gateway, code) == {"notified": 1}
    # then nothing is sent and nothing is written for them
    assert gateway.calls == []
    assert (await manager_inbox(sessions))[1] == []
    async with unit_of_work(sessions) as session:
        assert (await session.exec(select(col(NotificationDelivery.id)))).all() == []


async def test_a_claimed_sms_is_never_sent_again_and_a_gateway_failure_does_not_stop_the_ticket(sessions) -> None:
    code = await open_ticket(sessions)
    # given the gateway is down: the activity still succeeds (the ticket must move on), the row says why
    assert await notify_unit(sessions, RecordingNotifier(fail=True), code, "spiff-down") == {"notified": 1}
    async with unit_of_work(sessions) as session:
        row = (await session.exec(select(NotificationDelivery))).one()
        assert row.status == "failed" and "gateway down" in (row.error or "")
        # and given a sender died after claiming a message (status `sending`)
        row.status, row.dedupe_key = "sending", "op:spiff-crash:user:1:sms"
        session.add(row)
    # when the activity is retried, the outcome of the claimed one is unknown: it is not resent
    gateway = RecordingNotifier()
    await notify_unit(sessions, gateway, code, "spiff-crash")
    assert [m.key for m in gateway.calls if m.key == "op:spiff-crash:user:1:sms"] == []


async def test_the_citizens_sms_is_recorded_and_sent_once(sessions) -> None:
    code = await open_ticket(sessions)
    gateway = RecordingNotifier()
    ops = TicketOperations(sessions, gateway)
    call = ServiceCallInput(business_key=code, task_id="spiff-9", operator="notify_citizen",
                            params={"kind": "resolved", "result": "Đã thu gom rác"})
    for _ in range(2):
        assert await ActivityEnvironment().run(ops.notify_citizen, call) == {"sent": True}
    assert [(m.phone, m.kind) for m in gateway.calls] == [("0912345678", "citizen_resolved")]
    assert "Đã thu gom rác" in gateway.calls[0].body


async def test_a_task_waiting_for_an_officer_is_texted_once_when_its_caller_sends(sessions) -> None:
    from core.services import delivery, inbox

    code = await open_ticket(sessions)
    async with unit_of_work(sessions) as session:
        ward = (await session.exec(select(OrgUnit).where(OrgUnit.code == "P.TRANBIEN"))).one()
    task = inbox.OpenTask(ticket_code=code, spiff_task_id="spiff-p", bpmn_id="process", name="Xử lý phản ánh",
                          lane="officer", candidate_unit_path=ward.path, form_schema={})
    gateway = RecordingNotifier()
    # when the task opens twice (a retried step) and its SMS are sent after each commit
    for _ in range(2):
        async with unit_of_work(sessions) as session:
            await inbox.open_task(session, task, outside=True)
        await delivery.send_pending(sessions, gateway, "task:spiff-p:")
    # then the ward's officer got one "to process" SMS
    assert [(m.phone, m.kind) for m in gateway.calls] == [("0900000009", "task_process")]
    assert gateway.calls[0].body == f"Tổng đài 1022 Đồng Nai: phản ánh {code} chờ anh/chị xử lý."
