"""A ticket's whole life over HTTP, on real Temporal + PostgreSQL with the shipped BPMN:
normal path with a rejection, spam, out-of-area re-dispatch, support, sub-unit assignment,
auto-dispatch and the SLA timer (OPS-05)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import select

from api.lifecycle import complete
from core.db import unit_of_work
from core.models import OrgUnit, TicketField
from core.models.tickets import AutoDispatchRule
from core.services.actor import Actor
from tests.conftest import login
from tests.support import eventually

DEADLINE_S = 60  # generous: a busy 2-core machine, and retries after a killed worker


@pytest.fixture
def client(running):  # noqa: ANN001, ANN201
    return running.client


@pytest.fixture
async def people(client) -> dict[str, dict[str, str]]:
    names = ["dieuphoi", "ld.tranbien", "cv.tranbien", "ld.sxd", "ld.moitruong", "admin"]
    return {n: await login(client, n) for n in names}


@pytest.fixture
async def units(client, people) -> dict[str, str]:
    listed = (await client.get("/api/v1/org-units", headers=people["admin"])).json()
    return {u["code"]: u["path"] for u in listed}


async def open_ticket(client, desk, key: str, **extra: Any) -> str:  # noqa: ANN001
    body = {"channel": "call", "description": "Đèn tín hiệu tại ngã tư Tân Phong bị hỏng, xe cộ lộn xộn.",
            "citizen_name": "Nguyễn Văn An", "citizen_phone": "0912345678", **extra}
    response = await client.post("/api/v1/tickets", headers={**desk, "Idempotency-Key": key}, json=body)
    assert response.status_code == 201, response.text
    return response.json()["code"]


async def task(client, headers, code: str, bpmn_id: str) -> dict[str, Any]:  # noqa: ANN001
    """Wait (with a deadline) until the task is in this person's inbox."""
    async with asyncio.timeout(DEADLINE_S):
        while True:
            items = (await client.get("/api/v1/inbox", headers=headers, params={"per_page": 200})).json()["items"]
            found = [i for i in items if i["ticket_code"] == code and i["bpmn_id"] == bpmn_id]
            if found:
                return found[0]
            await asyncio.sleep(0.05)


async def do(client, headers, code: str, bpmn_id: str, **data: Any) -> dict[str, Any]:  # noqa: ANN001
    item = await task(client, headers, code, bpmn_id)
    response = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=headers, json={"data": data})
    assert response.status_code == 200, response.text
    return response.json()


async def ticket(client, headers, code: str) -> dict[str, Any]:  # noqa: ANN001
    return (await client.get(f"/api/v1/tickets/{code}", headers=headers)).json()


async def actions(client, headers, code: str) -> list[str]:  # noqa: ANN001
    return [e["action"] for e in (await client.get(f"/api/v1/tickets/{code}/progress", headers=headers)).json()["list"]
            if not e["action"].startswith("task_")]


async def status_is(client, headers, code: str, status: str) -> dict[str, Any]:  # noqa: ANN001
    """The workflow's service tasks run right after a completion returns: wait for their effect."""
    async def reached() -> dict[str, Any] | None:
        current = await ticket(client, headers, code)
        return current if current["status"] == status else None

    return await eventually(reached, f"status {status}")


async def test_normal_path_with_a_rejection(client, people, units, running) -> None:
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-normal-1")
    # the desk dispatches to Phường Trấn Biên; its manager assigns the officer
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"], note="Chuyển phường xử lý")
    await status_is(client, desk, code, "dispatched")
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien", note="Xử lý trong ngày")
    # the task goes to that officer only; they send a result; the manager rejects it
    officer = people["cv.tranbien"]
    assert (await task(client, officer, code, "process"))["status"] == "claimed"
    await do(client, officer, code, "process", outcome="result", result="Đã báo điện lực")
    await status_is(client, desk, code, "pending_approval")
    await do(client, people["ld.tranbien"], code, "approve_result", decision="reject", note="Cần xác nhận đã sửa xong")
    # the officer gets it back, answers again, the manager approves, the desk closes
    await do(client, officer, code, "process", outcome="result", result="Đèn đã sửa xong lúc 15h")
    await do(client, people["ld.tranbien"], code, "approve_result", decision="approve")
    await do(client, desk, code, "close", note="Đã báo người dân")
    final = await status_is(client, desk, code, "resolved")
    assert final["closed_at"]
    assert await actions(client, desk, code) == ["received", "dispatched", "assigned", "sla_started", "result_sent",
                                                 "rejected", "result_sent", "approved", "resolved"]
    # the citizen got the result by SMS exactly once, and the workflow ended
    async def sent() -> list[Any]:
        return [m for m in running.notifier.sent if m.kind == "citizen_resolved"]

    sms = await eventually(sent, "the citizen's SMS")
    handle = running.services.temporal.get_workflow_handle(f"{running.services.settings.workflow_id_prefix}{code}")
    async with asyncio.timeout(DEADLINE_S):
        await handle.result()
    assert len(sms) == 1 and sms[0].phone == "0912345678" and "Đèn đã sửa xong" in sms[0].body
    # and the officer was texted once for each time the ticket came to them to process (PERM-10 defaults)
    to_process = [m for m in running.notifier.sent if m.kind == "task_process"]
    assert len(to_process) == 2 and len({m.key for m in to_process}) == 2 and all(m.phone for m in to_process)


async def test_spam_is_approved_confirmed_and_hidden(client, people, units) -> None:
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-spam-1")
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"])
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
    await do(client, people["cv.tranbien"], code, "process", outcome="spam", note="Gọi quấy rối")
    await do(client, people["ld.tranbien"], code, "approve_spam", decision="approve")
    await do(client, desk, code, "confirm_spam")
    await status_is(client, desk, code, "spam")
    assert await actions(client, desk, code) == ["received", "dispatched", "assigned", "sla_started", "spam_reported",
                                                 "spam"]


async def test_the_desk_marks_spam_itself_with_a_reason(client, people, units) -> None:
    # CRM-33: a prank call needs no unit; the desk says why, and the ticket leaves public lists
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-desk-spam-1")
    item = await task(client, desk, code, "dispatch")
    no_reason = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=desk, json={"data": {"decision": "spam"}})
    assert no_reason.status_code == 422 and "note" in no_reason.json()["details"][0]["message"]
    await do(client, desk, code, "dispatch", decision="spam", note="Gọi quấy rối, không có nội dung phản ánh")
    final = await status_is(client, desk, code, "spam")
    assert final["closed_at"]
    assert await actions(client, desk, code) == ["received", "spam"]


async def test_the_desk_corrects_a_new_report_until_it_is_dispatched(client, people, units) -> None:
    # CRM-31: a typo in the address and a wrong phone are fixed before dispatch; afterwards the
    # report belongs to the unit and the desk's edit is refused with a clear 409
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-desk-edit-1")
    bad = await client.patch(f"/api/v1/tickets/{code}", headers=desk, json={"citizen_phone": "12", "description": None})
    assert bad.status_code == 422, bad.text
    assert {d["field"] for d in bad.json()["details"]} == {"citizen_phone", "description"}
    fixed = await client.patch(f"/api/v1/tickets/{code}", headers=desk,
                               json={"address": "Số 12 đường Phạm Văn Thuận, phường Trấn Biên", "citizen_phone": "0987654321"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["address"] == "Số 12 đường Phạm Văn Thuận, phường Trấn Biên"
    progress = (await client.get(f"/api/v1/tickets/{code}/progress", headers=desk)).json()["list"]
    edited = [e for e in progress if e["action"] == "edited"]
    assert len(edited) == 1 and edited[0]["data"] == {"fields": ["address", "citizen_phone"]}
    log = (await client.get("/api/v1/audit", headers=people["admin"], params={"entity": "ticket", "entity_id": code})).json()
    change = [e for e in log["items"] if e["action"] == "update"][0]
    assert change["after"]["citizen_phone"] != "0987654321"  # personal data masked in the log
    same = await client.patch(f"/api/v1/tickets/{code}", headers=desk, json={"address": fixed.json()["address"]})
    assert same.status_code == 200  # nothing changed: no second event
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"])
    await status_is(client, desk, code, "dispatched")
    late = await client.patch(f"/api/v1/tickets/{code}", headers=desk, json={"address": "Chỗ khác"})
    assert late.status_code == 409 and late.json()["error_id"] == "ticket_not_editable"
    assert code in late.json()["message"]
    assert [e["action"] for e in (await client.get(f"/api/v1/tickets/{code}/progress", headers=desk)).json()["list"]
            ].count("edited") == 1


async def test_the_desk_deletes_a_mistaken_report_with_a_reason(client, people, units) -> None:
    # CRM-31: a duplicate entered by mistake is deleted (kept, hidden, closed) with a reason
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-desk-delete-1")
    item = await task(client, desk, code, "dispatch")
    no_reason = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=desk,
                                  json={"data": {"decision": "delete"}})
    assert no_reason.status_code == 422
    await do(client, desk, code, "dispatch", decision="delete", note="Nhập trùng")
    final = await status_is(client, desk, code, "deleted")
    assert final["closed_at"]
    assert await actions(client, desk, code) == ["received", "deleted"]
    late = await client.patch(f"/api/v1/tickets/{code}", headers=desk, json={"address": "Chỗ khác"})
    assert late.status_code == 409


async def test_out_of_area_goes_back_to_the_desk_and_is_redispatched(client, people, units) -> None:
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-ooa-1")
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"])
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
    await do(client, people["cv.tranbien"], code, "process", outcome="out_of_area", note="Thuộc Sở Xây dựng")
    await do(client, people["ld.tranbien"], code, "approve_out_of_area", decision="approve")
    await status_is(client, desk, code, "out_of_area")
    await do(client, desk, code, "redispatch", unit_path=units["SXD"], note="Chuyển Sở Xây dựng")
    # the right unit's manager now has it to assign; the first unit no longer sees it
    assert (await task(client, people["ld.sxd"], code, "assign"))["ticket_code"] == code
    await status_is(client, desk, code, "dispatched")
    officer_view = await client.get(f"/api/v1/tickets/{code}", headers=people["cv.tranbien"])
    assert officer_view.status_code == 404


async def test_support_answer_returns_to_the_officer_and_subunit_assignment(client, people, units) -> None:
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-support-1")
    # the department manager passes it down to its sub-unit (CRM-14) ...
    await do(client, desk, code, "dispatch", unit_path=units["SNNMT"])
    await do(client, people["ld.moitruong"], code, "assign", decision="subunit", subunit_path=units["P.TRANBIEN"])
    # ... whose manager assigns an officer; the officer asks for a supporting unit (CRM-17)
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
    await do(client, people["cv.tranbien"], code, "process", outcome="support", support_unit_path=units["SXD"],
             note="Cần Sở Xây dựng kiểm tra")
    await do(client, people["ld.tranbien"], code, "approve_support", decision="approve")
    await do(client, people["ld.sxd"], code, "support_answer", answer="Đã cử đội kiểm tra ngày 26/11")
    # the answer comes back to the requesting officer
    back = await task(client, people["cv.tranbien"], code, "process")
    assert back["status"] == "claimed"
    assert await actions(client, desk, code) == ["received", "dispatched", "assigned_subunit", "assigned", "sla_started",
                                                 "support_requested", "support_answered"]


async def test_refusals_are_clear_and_record_nothing(client, people, units) -> None:
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-refuse-1")
    item = await task(client, desk, code, "dispatch")
    missing = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=desk, json={"data": {"note": "x"}})
    assert missing.status_code == 422 and "unit_path" in missing.json()["details"][0]["message"]
    extra = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=desk,
                              json={"data": {"unit_path": units["SXD"], "hack": 1}})
    assert extra.status_code == 422
    officer = people["cv.tranbien"]
    assert (await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=officer, json={"data": {}})).status_code == 404
    assert await actions(client, desk, code) == ["received"]
    ok = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=desk, json={"data": {"unit_path": units["SXD"]}})
    assert ok.status_code == 200
    again = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=desk, json={"data": {"unit_path": units["SXD"]}})
    assert again.status_code == 409


async def test_auto_dispatch_then_the_sla_runs_out(client, people, units, running) -> None:
    # given a rule: environment reports in Phường Trấn Biên go to that ward (CRM-37)
    async with unit_of_work(running.services.sessions) as session:
        field = (await session.exec(select(TicketField).where(TicketField.name == "Môi trường",
                                                              TicketField.parent_id.is_(None)))).one()
        ward = (await session.exec(select(OrgUnit).where(OrgUnit.code == "P.TRANBIEN"))).one()
        session.add(AutoDispatchRule(name="Môi trường Trấn Biên", field_ids=[field.id], area_id=ward.area_id, unit_id=ward.id))
    running.services.settings.sla_override_seconds = 2
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-auto-1", field_id=field.id, area_id=ward.area_id)
    # then the ward's manager gets it without the desk (CRM-38) and is notified
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
    # when the officer lets the 2-second SLA pass (reminded at three quarters of it)
    async def overdue() -> bool:
        return (await ticket(client, desk, code))["overdue"]

    await eventually(overdue, "the ticket to be overdue")
    # then it is marked overdue, the officer still has the task, and the progress says so
    assert (await task(client, people["cv.tranbien"], code, "process"))["overdue"] is True
    assert await actions(client, desk, code) == ["received", "auto_dispatched", "assigned", "sla_started", "sla_reminded",
                                                 "overdue"]
    # and the manager and the desk were told (in-app notifications)
    manager = (await client.get("/api/v1/notifications", headers=people["ld.tranbien"], params={"unread": True})).json()
    kinds = {n["kind"] for n in manager["items"] if n["ticket_code"] == code}
    assert {"ticket", "due_soon", "overdue"} <= kinds
    officer = (await client.get("/api/v1/notifications", headers=people["cv.tranbien"], params={"unread": True})).json()
    assert [n["kind"] for n in officer["items"] if n["ticket_code"] == code].count("due_soon") == 1
    assert (await client.post("/api/v1/notifications/read-all", headers=people["ld.tranbien"])).json()["marked"] >= 3
    assert (await client.get("/api/v1/notifications/unread-count", headers=people["ld.tranbien"])).json() == {"unread": 0}
    # and a retried intake request does not open a second ticket or workflow
    again = await client.post("/api/v1/tickets", headers={**desk, "Idempotency-Key": "life-auto-1"},
                              json={"channel": "call", "description": "Đèn tín hiệu tại ngã tư Tân Phong bị hỏng, xe cộ lộn xộn.",
                                    "citizen_name": "Nguyễn Văn An", "citizen_phone": "0912345678",
                                    "field_id": field.id, "area_id": ward.area_id})
    assert again.status_code == 200 and again.json()["code"] == code


async def test_references_to_unknown_units_or_people_are_refused_before_the_engine(client, people, units) -> None:
    desk, manager = people["dieuphoi"], people["ld.tranbien"]
    code = await open_ticket(client, desk, "life-refs-1")
    item = await task(client, desk, code, "dispatch")
    bad_unit = await client.post(f"/api/v1/inbox/{item['id']}/complete", headers=desk, json={"data": {"unit_path": "/9999/"}})
    assert bad_unit.status_code == 422
    assert bad_unit.json()["details"] == [{"field": "data.unit_path", "message": "đơn vị không tồn tại hoặc đã ngừng hoạt động"}]
    assert "dispatched" not in await actions(client, desk, code)
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"])
    assign = await task(client, manager, code, "assign")
    nobody = await client.post(f"/api/v1/inbox/{assign['id']}/complete", headers=manager,
                               json={"data": {"decision": "officer", "officer": "khong.co.ai"}})
    assert nobody.status_code == 422 and nobody.json()["details"][0]["field"] == "data.officer"
    await do(client, manager, code, "assign", decision="officer", officer="cv.tranbien")
    await status_is(client, desk, code, "assigned")


async def test_a_failing_step_is_an_incident_the_desk_sees_and_retries(client, people, units, running) -> None:
    # given a completion that reaches the workflow with a unit path that does not exist (an
    # integration that bypasses the API's reference check, or a unit deleted meanwhile)
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, "life-incident-1")
    state = (await client.get(f"/api/v1/tickets/{code}/process", headers=desk)).json()
    assert [t["bpmn_id"] for t in state["open_tasks"]] == ["dispatch"] and state["incident"] is None
    nothing = await client.post(f"/api/v1/tickets/{code}/process/retry", headers=desk)
    assert nothing.status_code == 409 and nothing.json()["error_id"] == "nothing_to_retry"
    item = await task(client, desk, code, "dispatch")
    await complete(running.services, Actor(user_id=0, username="dieuphoi", roles=frozenset({"coordinator"}),
                                           unit_path="/1/"),
                   f"{running.services.settings.workflow_id_prefix}{code}", item["spiff_task_id"], {"unit_path": "/9999/"})

    # then the process stops on that step and says why, with nothing recorded for it
    async def incident() -> dict[str, Any] | None:
        return (await client.get(f"/api/v1/tickets/{code}/process", headers=desk)).json()["incident"]

    found = await eventually(incident, "the incident")
    assert found["bpmn_id"] == "record_dispatch" and found["retryable"] and "/9999/" in found["message"]
    assert "dispatched" not in await actions(client, desk, code)
    # and a unit's officer cannot retry it, while the desk can (it fails again: the path is still wrong)
    refused = await client.post(f"/api/v1/tickets/{code}/process/retry", headers=people["cv.tranbien"])
    assert refused.status_code in (403, 404)
    retried = await client.post(f"/api/v1/tickets/{code}/process/retry", headers=desk)
    assert retried.status_code == 200 and retried.json()["incident"] is None
    await eventually(incident, "the incident again")
