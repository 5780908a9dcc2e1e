"""Message templates (issue 6): administrators edit the citizen's and the staff's SMS texts with a
preview; the texts are checked on save (syntax, variables, the sandbox); the life cycle's
messages use them; a citizen message can be switched off; everything is audited."""

from __future__ import annotations

import pytest
from temporalio.testing import ActivityEnvironment

from activities.ticket_ops import TicketOperations
from core.engine_types import ServiceCallInput
from core.services import message_templates
from tests.integration.test_notification_settings import RecordingNotifier, open_ticket, sessions  # noqa: F401
from tests.integration.test_sms_inbox_pages import browser, csrf_of, page, post

API = "/api/v1/message-templates"


async def test_the_list_names_every_message_with_its_default_text(client, as_user) -> None:
    listed = (await client.get(API, headers={**await as_user("admin"), "Accept-Language": "vi"})).json()
    assert [t["key"] for t in listed] == list(message_templates.KINDS)
    received = listed[0]
    assert received["label"] == "SMS cho người dân: đã tiếp nhận phản ánh" and received["audience"] == "citizen"
    assert received["is_default"] and received["enabled"] and received["can_disable"]
    assert received["variables"]["code"] == "mã phản ánh"
    staff = next(t for t in listed if t["key"] == "staff_task_process")
    assert staff["body"] == "Tổng đài 1022 Đồng Nai: phản ánh {{ code }} chờ anh/chị xử lý." and not staff["can_disable"]


async def test_only_administrators_see_or_change_templates(client, as_user) -> None:
    for user in ("dieuphoi", "cv.tranbien", "ld.tranbien"):
        headers = await as_user(user)
        assert (await client.get(API, headers=headers)).status_code == 403
        assert (await client.put(f"{API}/citizen_received", headers=headers, json={"body": "x"})).status_code == 403


async def test_an_edited_text_is_used_audited_and_reset(client, as_user, sessions) -> None:  # noqa: F811
    admin = await as_user("admin")
    # when the administrator words the "received" SMS with the receiving time
    text = "Đã nhận phản ánh {{ code }} lúc {{ received_at }}. Tra cứu tại 1022.dongnai.gov.vn"
    saved = await client.put(f"{API}/citizen_received", headers=admin, json={"body": f"  {text} "})
    assert saved.status_code == 200, saved.text
    assert saved.json()["body"] == text and not saved.json()["is_default"]
    # then the next citizen is told with it (the receiving time in local time)
    code = await open_ticket(sessions)
    gateway = RecordingNotifier()
    ops = TicketOperations(sessions, gateway)
    call = ServiceCallInput(business_key=code, task_id="spiff-r", operator="notify_citizen", params={"kind": "received"})
    assert await ActivityEnvironment().run(ops.notify_citizen, call) == {"sent": True}
    assert gateway.calls[0].body.startswith(f"Đã nhận phản ánh {code} lúc ") and gateway.calls[0].kind == "citizen_received"
    # and the change is in the audit trail
    log = (await client.get("/api/v1/audit", headers=admin, params={"entity": "message_template"})).json()["items"]
    assert log[0]["action"] == "message_template.update" and log[0]["after"]["body"] == text
    # when it is put back, the built-in text is used again
    back = (await client.delete(f"{API}/citizen_received", headers=admin)).json()
    assert back["is_default"] and back["body"] == message_templates.KINDS["citizen_received"].default
    assert (await client.get(f"{API}/citizen_received", headers=admin)).json()["is_default"]


async def test_a_switched_off_citizen_message_is_not_sent(client, as_user, sessions) -> None:  # noqa: F811
    admin = await as_user("admin")
    body = message_templates.KINDS["citizen_received"].default
    assert (await client.put(f"{API}/citizen_received", headers=admin, json={"body": body, "enabled": False})).status_code == 200
    code = await open_ticket(sessions)
    gateway = RecordingNotifier()
    call = ServiceCallInput(business_key=code, task_id="spiff-off", operator="notify_citizen", params={"kind": "received"})
    assert await ActivityEnvironment().run(TicketOperations(sessions, gateway).notify_citizen, call) == {
        "sent": False, "switched_off": True}
    assert gateway.calls == []
    # staff messages cannot be switched off here (each person chooses in their own settings)
    refused = await client.put(f"{API}/staff_task_process", headers=admin, json={"body": "x {{ code }}", "enabled": False})
    assert refused.status_code == 422 and refused.json()["details"][0]["field"] == "enabled"


async def test_a_staff_template_words_the_officers_sms(client, as_user, sessions) -> None:  # noqa: F811
    from sqlmodel import select

    from core.db import unit_of_work
    from core.models import OrgUnit
    from core.services import delivery, inbox

    admin = await as_user("admin")
    assert (await client.put(f"{API}/staff_task_process", headers=admin,
                             json={"body": "1022: {{ code }} - {{ title|upper }}"})).status_code == 200
    code = await open_ticket(sessions)
    async with unit_of_work(sessions) as session:
        ward = (await session.exec(select(OrgUnit).where(OrgUnit.code == "P.TRANBIEN"))).one()
        await inbox.open_task(session, inbox.OpenTask(
            ticket_code=code, spiff_task_id="spiff-t", bpmn_id="process", name="Xử lý phản ánh", lane="officer",
            candidate_unit_path=ward.path, form_schema={}), outside=True)
    gateway = RecordingNotifier()
    await delivery.send_pending(sessions, gateway, "task:spiff-t:")
    assert [m.body for m in gateway.calls] == [f"1022: {code} - XỬ LÝ PHẢN ÁNH"]


@pytest.mark.parametrize(("body", "message"), [
    ("   ", "Hãy nhập nội dung tin nhắn."),
    ("Mã {{ code", "Nội dung viết chưa đúng ở dòng 1: hãy viết biến theo dạng {{ code }}."),
    ("Mã {code}", "Hãy viết biến trong cặp ngoặc nhọn kép: {{ code }}."),
    ("Mã {{ phone }}", "Không có biến phone. Chỉ được dùng: {{ code }}, {{ received_at }}."),
    ("{{ code.__class__.__mro__ }}", "Mẫu tin nhắn dùng thành phần không được phép."),
    ("{{ code.upper.__globals__ }}", "Mẫu tin nhắn dùng thành phần không được phép."),
    ("{% for x in range(10**9) %}{% endfor %}{{ code }}", "Mẫu tin nhắn dùng thành phần không được phép."),
    ("{{ code|nosuchfilter }}", "Nội dung viết chưa đúng ở dòng 1: hãy viết biến theo dạng {{ code }}."),
    ("{{ code|attr('upper') }}", "Mẫu tin nhắn dùng thành phần không được phép."),
    ("{{ code.upper() }}", "Mẫu tin nhắn dùng thành phần không được phép."),
    ("{% set x = 1 %}{{ code }}", "Mẫu tin nhắn dùng thành phần không được phép."),
    ("{% include 'base.html' %}", "Mẫu tin nhắn dùng thành phần không được phép."),
    ("{% if false %}{{ code }}{% endif %}", "Tin nhắn sẽ không có nội dung."),
    ("Mã\x07 {{ code }}", "Nội dung có ký tự điều khiển không hợp lệ."),
])
async def test_a_bad_template_is_refused_with_a_reason_and_nothing_changes(client, as_user, body, message) -> None:
    admin = {**await as_user("admin"), "Accept-Language": "vi"}
    for path, method in ((f"{API}/citizen_received", "PUT"), (f"{API}/citizen_received/preview", "POST")):
        answer = await client.request(method, path, headers=admin, json={"body": body})
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["details"][0]["message"] == message
    assert (await client.get(f"{API}/citizen_received", headers=admin)).json()["is_default"]


async def test_bad_requests(client, as_user) -> None:
    admin = await as_user("admin")
    assert (await client.get(f"{API}/nosuch", headers=admin)).status_code == 404
    assert (await client.get(f"{API}/Bad-Key", headers=admin)).status_code == 422
    assert (await client.put(f"{API}/citizen_received", headers=admin, json={"body": "x" * 1001})).status_code == 422
    assert (await client.put(f"{API}/citizen_received", headers=admin, json={"body": "x", "extra": 1})).status_code == 422


async def test_the_preview_shows_the_message_and_its_sms_count(client, as_user) -> None:
    admin = await as_user("admin")
    shown = (await client.post(f"{API}/citizen_resolved/preview", headers=admin,
                                json={"body": "Phản ánh {{ code }} đã xong: {{ result }}"})).json()
    assert shown["text"] == "Phản ánh 1022-2026-000123 đã xong: Đơn vị đã sửa đèn chiếu sáng trên đường Võ Thị Sáu."
    assert (shown["encoding"], shown["segments"]) == ("UCS-2", 2)
    plain = (await client.post(f"{API}/citizen_received/preview", headers=admin, json={"body": "Ma {{ code }}"})).json()
    assert (plain["encoding"], plain["segments"], plain["characters"]) == ("GSM-7", 1, 19)


async def test_the_pages_list_edit_preview_and_reset(client) -> None:
    admin = await browser(client, "admin")
    listing = await page(client, admin, "/admin/message-templates")
    assert listing.status_code == 200 and "Tin nhắn gửi người dân" in listing.text and "Nội dung mặc định" in listing.text
    edit = await page(client, admin, "/admin/message-templates/citizen_resolved")
    assert edit.status_code == 200 and "Xem trước với dữ liệu mẫu" in edit.text and "{{ result }}" in edit.text
    token = csrf_of(edit.text)
    # the preview as the administrator types (htmx) and when asked without JavaScript
    live = await post(client, admin, "/admin/message-templates/citizen_resolved/preview",
                      {"csrf_token": token, "body": "Xong {{ code }}"})
    assert live.status_code == 200 and "Xong 1022-2026-000123" in live.text and "<html" not in live.text
    wrong = await post(client, admin, "/admin/message-templates/citizen_resolved/preview",
                       {"csrf_token": token, "body": "Xong {{ ma }}"})
    assert "Không có biến ma" in wrong.text
    asked = await post(client, admin, "/admin/message-templates/citizen_resolved",
                       {"csrf_token": token, "body": "Xong {{ code }}", "enabled": "on", "action": "preview"})
    assert asked.status_code == 200 and "Xong 1022-2026-000123" in asked.text
    # a refused save keeps what was typed and says why beside the field
    refused = await post(client, admin, "/admin/message-templates/citizen_resolved",
                         {"csrf_token": token, "body": "Xong {{ ma }}", "enabled": "on"})
    assert refused.status_code == 422 and "Không có biến ma" in refused.text and "Xong {{ ma }}" in refused.text
    # saving, then switching off (box unticked), then back to the built-in text after confirming
    saved = await post(client, admin, "/admin/message-templates/citizen_resolved",
                       {"csrf_token": token, "body": "Xong {{ code }}: {{ result }}", "enabled": "on"})
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/message-templates?done=saved"
    off = await post(client, admin, "/admin/message-templates/citizen_resolved",
                     {"csrf_token": token, "body": "Xong {{ code }}: {{ result }}"})
    assert off.status_code == 303
    listing = await page(client, admin, "/admin/message-templates")
    assert "Xong {{ code }}: {{ result }}" in listing.text and "Đã tắt" in listing.text
    confirm = await page(client, admin, "/admin/message-templates/citizen_resolved/reset")
    assert confirm.status_code == 200 and "Dùng lại nội dung mặc định?" in confirm.text
    reset = await post(client, admin, "/admin/message-templates/citizen_resolved/reset", {"csrf_token": token})
    assert reset.status_code == 303
    assert "Đã tắt" not in (await page(client, admin, "/admin/message-templates")).text
    # a desk officer has no access
    desk = await browser(client, "dieuphoi")
    assert (await page(client, desk, "/admin/message-templates")).status_code == 403
