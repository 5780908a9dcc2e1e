"""Ticket lists (CRM-03, CRM-11) and the desk's lists (CRM-34…36): filters, keyset pages, unit
scoping and personal-data masking as in the API, htmx partial updates, and Excel exports read
back with openpyxl."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from urllib.parse import unquote

import openpyxl
import pytest
from sqlmodel import col, select, update

from core.authz import Scope
from core.models import Area, OrgUnit, TicketField
from core.models.tickets import Channel, Ticket, TicketCreate, TicketStatus
from core.services import ticket_list, tickets
from core.services.actor import Actor, system_actor
from core.services.tickets import LOCAL_TZ, TicketFilters
from tests.conftest import login

PHONE = "0912345678"
# (key, description, status, unit code, channel, days ago, overdue)
TICKETS = (
    ("t1", "Đèn giao thông ngã tư Tân Phong bị hỏng", TicketStatus.assigned, "SXD.QLGT", Channel.call, 40, False),
    ("t2", "Ổ gà trên đường Đồng Khởi gây nguy hiểm", TicketStatus.dispatched, "SXD", Channel.web, 20, True),
    ("t3", "Rác thải tràn ra đường khu phố 3", TicketStatus.assigned, "SNNMT.CCBVMT", Channel.zalo, 10, False),
    ("t4", "Quảng cáo bán hàng không liên quan", TicketStatus.spam, None, Channel.sms, 5, False),
    ("t5", "Phản ánh về việc ở tỉnh Bình Dương cũ", TicketStatus.out_of_area, None, Channel.call, 4, False),
    ("t6", "Cống thoát nước bị tắc đã được nạo vét", TicketStatus.resolved, "P.TRANBIEN", Channel.call, 3, False),
    ("t7", "Cây xanh gãy đổ đã được dọn dẹp xong", TicketStatus.closed, "SXD", Channel.app, 2, False),
    ("t8", "Tiếng ồn công trình xây dựng ban đêm", TicketStatus.new, None, Channel.desk, 0, False),
)


@pytest.fixture
async def seeded(app) -> dict[str, object]:
    """Eight tickets in several units, statuses and channels; returns codes by key and ids."""
    async with app.state.services.sessions() as session:
        units = {u.code: u.id for u in (await session.exec(select(OrgUnit))).all()}
        field = (await session.exec(select(TicketField).where(col(TicketField.active)).order_by(col(TicketField.id)))).first()
        area = (await session.exec(select(Area).where(col(Area.name) == "Phường Trấn Biên"))).first()
        codes: dict[str, str] = {}
        now = datetime.now(LOCAL_TZ)
        for key, text, status, unit, channel, days_ago, overdue in TICKETS:
            data = TicketCreate(channel=channel, description=text, citizen_name="Nguyễn Văn An", citizen_phone=PHONE,
                                citizen_id_number="079123456789", field_id=field.id if key in ("t1", "t2") else None,
                                area_id=area.id if key in ("t1", "t6") else None, address="phường Trấn Biên")
            ticket, _created = await tickets.open_ticket(session, system_actor(), data, key)
            await session.exec(update(Ticket).where(col(Ticket.id) == ticket.id).values(  # type: ignore[call-overload]
                status=status, current_unit_id=units[unit] if unit else None, overdue=overdue,
                created_at=now - timedelta(days=days_ago), due_at=now + timedelta(days=3)))
            codes[key] = ticket.code
        await session.commit()
    return {"codes": codes, "field_id": field.id, "area_id": area.id, "units": units}


def desk_actor() -> Actor:
    return Actor(user_id=None, username="desk", roles=frozenset({"coordinator"}), scope=Scope.all)


async def _codes(app, filters: TicketFilters, **kw) -> list[str]:
    async with app.state.services.sessions() as session:
        page = await ticket_list.ticket_page(session, desk_actor(), filters, True, **kw)
    return [r.code for r in page.rows]


async def test_each_filter_narrows_the_list(app, seeded) -> None:
    c = seeded["codes"]
    today = datetime.now(LOCAL_TZ).date()
    cases = [
        (TicketFilters(), [c[k] for k in ("t8", "t7", "t6", "t5", "t4", "t3", "t2", "t1")]),
        (TicketFilters(q="ngã tư tân phong"), [c["t1"]]),
        (TicketFilters(q=c["t3"]), [c["t3"]]),
        # a phone number as people write it finds the stored national form
        (TicketFilters(q="+84 " + PHONE[1:4] + " " + PHONE[4:]), [c[k] for k in ("t8", "t7", "t6", "t5", "t4", "t3", "t2", "t1")]),
        (TicketFilters(q="+84 999 999 999"), []),
        (TicketFilters(statuses=(TicketStatus.resolved, TicketStatus.closed)), [c["t7"], c["t6"]]),
        (TicketFilters(field_id=seeded["field_id"]), [c["t2"], c["t1"]]),
        (TicketFilters(area_id=seeded["area_id"]), [c["t6"], c["t1"]]),
        (TicketFilters(unit_id=seeded["units"]["SXD"]), [c["t7"], c["t2"]]),
        (TicketFilters(channel=Channel.call), [c["t6"], c["t5"], c["t1"]]),
        (TicketFilters(overdue=True), [c["t2"]]),
        (TicketFilters(created_from=today - timedelta(days=5), created_to=today - timedelta(days=3)),
         [c["t6"], c["t5"], c["t4"]]),
        (TicketFilters(created_to=today - timedelta(days=30)), [c["t1"]]),
    ]
    for filters, expected in cases:
        assert await _codes(app, filters) == expected, filters


async def test_keyset_pages_walk_forward_and_back_without_gaps(app, seeded) -> None:
    async with app.state.services.sessions() as session:
        first = await ticket_list.ticket_page(session, desk_actor(), TicketFilters(), False, per_page=3)
        second = await ticket_list.ticket_page(session, desk_actor(), TicketFilters(), False, per_page=3,
                                               after=first.next_after)
        third = await ticket_list.ticket_page(session, desk_actor(), TicketFilters(), False, per_page=3,
                                              after=second.next_after)
        back = await ticket_list.ticket_page(session, desk_actor(), TicketFilters(), False, per_page=3,
                                             before=third.prev_before)
    walked = [r.code for p in (first, second, third) for r in p.rows]
    assert walked == list(reversed(list(seeded["codes"].values())))
    assert (first.prev_before, third.next_after) == (None, None) and first.total == 8
    assert [r.code for r in back.rows] == [r.code for r in second.rows]
    assert (back.prev_before, back.next_after) == (back.rows[0].id, back.rows[-1].id)


# ---- the pages ----

def _row_codes(html: str) -> list[str]:
    return re.findall(r'data-href="/tickets/(1022-\d{4}-\d{6})"', html)


async def test_an_officer_sees_only_their_units_tickets(client, seeded) -> None:
    c = seeded["codes"]
    officer = await login(client, "cv.giaothong")  # Phòng Quản lý giao thông (under Sở Xây dựng)
    manager = await login(client, "ld.sxd")  # Sở Xây dựng and its sub-units
    page = await client.get("/tickets", headers=officer)
    assert page.status_code == 200 and _row_codes(page.text) == [c["t1"]]
    assert _row_codes((await client.get("/tickets", headers=manager)).text) == [c["t7"], c["t2"], c["t1"]]
    # another unit's ticket cannot be reached by filtering for that unit either
    narrowed = await client.get("/tickets", headers=officer, params={"unit": seeded["units"]["SXD"]})
    assert _row_codes(narrowed.text) == []


async def test_personal_data_is_masked_for_roles_without_pii(client, seeded) -> None:
    auditor = await login(client, "kiemtra")
    desk = await login(client, "dieuphoi")
    masked = (await client.get("/tickets", headers=auditor)).text
    assert PHONE not in masked and tickets.mask(PHONE) in masked
    assert PHONE in (await client.get("/tickets", headers=desk)).text


async def test_htmx_asks_for_the_results_only(client, seeded) -> None:
    desk = await login(client, "dieuphoi")
    headers = {**desk, "HX-Request": "true", "HX-Target": "ticket-results"}
    partial = await client.get("/tickets", headers=headers, params={"status": "spam"})
    assert partial.status_code == 200 and "<html" not in partial.text and "<table" in partial.text
    assert _row_codes(partial.text) == [seeded["codes"]["t4"]]
    full = await client.get("/tickets", headers=desk, params={"status": "spam"})
    assert "<html" in full.text and 'option value="spam" selected' in full.text


async def test_desk_lists_are_fixed_to_their_statuses_and_refused_to_units(client, seeded) -> None:
    c = seeded["codes"]
    desk = await login(client, "dieuphoi")
    assert _row_codes((await client.get("/desk/spam", headers=desk)).text) == [c["t4"]]
    assert _row_codes((await client.get("/desk/out-of-area", headers=desk)).text) == [c["t5"]]
    processed = await client.get("/desk/processed", headers=desk, params={"status": "new"})  # cannot widen it
    assert _row_codes(processed.text) == [c["t7"], c["t6"]]
    officer = await login(client, "cv.giaothong")
    refused = await client.get("/desk/spam", headers=officer)
    assert refused.status_code == 403 and "<html" in refused.text


async def test_a_bad_date_is_shown_next_to_its_field(client, seeded) -> None:
    desk = await login(client, "dieuphoi")
    page = await client.get("/tickets", headers=desk, params={"from": "2026-13-45"})
    assert page.status_code == 200
    assert 'id="f-from-error"' in page.text and len(_row_codes(page.text)) == 8


# ---- Excel ----

def _workbook(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    return openpyxl.load_workbook(io.BytesIO(response.content))


async def test_export_all_matching_rows_to_excel(client, seeded) -> None:
    c = seeded["codes"]
    desk = await login(client, "dieuphoi")
    response = await client.get("/tickets", headers=desk, params={"channel": "call", "export": "xlsx"})
    disposition = unquote(response.headers["content-disposition"])
    assert "Danh sách tin báo" in disposition and disposition.endswith(".xlsx")
    sheet = _workbook(response).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Mã phản ánh", "Ngày tiếp nhận", "Kênh tiếp nhận", "Trạng thái", "Người phản ánh",
                           "Số điện thoại")
    assert [r[0] for r in rows[1:]] == [c["t6"], c["t5"], c["t1"]]
    received = sheet["B2"].value
    assert isinstance(received, datetime) and sheet["B2"].is_date
    assert received.date() == (datetime.now(LOCAL_TZ) - timedelta(days=3)).date()
    assert rows[1][2] == "Gọi điện thoại" and rows[1][3] == "Đã giải quyết" and rows[1][5] == PHONE
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:O{len(rows)}"
    assert sheet.column_dimensions["L"].width > sheet.column_dimensions["A"].width


async def test_export_masks_personal_data_like_the_list(client, seeded) -> None:
    auditor = await login(client, "kiemtra")
    rows = list(_workbook(await client.get("/tickets", headers=auditor, params={"export": "xlsx"})).active
                .iter_rows(min_row=2, values_only=True))
    assert len(rows) == 8 and {r[5] for r in rows} == {tickets.mask(PHONE)}


async def test_export_selected_rows_only_within_scope(client, seeded) -> None:
    c = seeded["codes"]
    officer = await login(client, "cv.giaothong")
    page = await client.get("/tickets", headers=officer)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = await client.post("/tickets", headers=officer,
                                 data={"csrf_token": token, "code": [c["t1"], c["t3"]], "export": "selected"})
    rows = list(_workbook(response).active.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [c["t1"]]  # t3 belongs to another unit: not exported
    nothing = await client.post("/tickets", headers=officer, data={"csrf_token": token})
    assert nothing.status_code == 422
    forged = await client.post("/tickets", headers=officer, data={"code": [c["t1"]]})
    assert forged.status_code == 403


async def test_desk_list_export_keeps_its_status(client, seeded) -> None:
    desk = await login(client, "dieuphoi")
    response = await client.get("/desk/spam", headers=desk, params={"export": "xlsx"})
    assert "Tin rác" in unquote(response.headers["content-disposition"])
    rows = list(_workbook(response).active.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [seeded["codes"]["t4"]]


def test_dates_filter_uses_local_days() -> None:
    start = tickets._local_midnight(date(2026, 1, 2))
    assert start.utcoffset() == timedelta(hours=7) and start.hour == 0
