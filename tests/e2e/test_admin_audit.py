"""The system log (/admin/audit) in a real browser: filters (text, object type, who, action,
dates) with keyset pages, one entry's before/after with the changed fields marked (keyboard),
a coordinator's unmasked read of a report's personal data listed, the Excel export read back
with openpyxl (Vietnamese headers, times as dates) and itself logged; an officer is refused in
Vietnamese, an inspector reads it; bad addresses are 4xx, never 500.

Entries are written with a word of their own into the shared browser database, so each test
sees its own rows among whatever the other tests logged."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from cli.tasks import in_transaction
from core.models.tickets import Channel, TicketCreate
from core.services import audit, tickets
from core.services.actor import Actor, system_actor
from core.services.tickets import LOCAL_TZ
from tests.e2e.axe import assert_accessible
from tests.e2e.test_ui_shell import main_menu

LOG = "/admin/audit"
FORBIDDEN = "Bạn không có quyền thực hiện thao tác này."
HEADERS = ["Số thứ tự", "Thời gian", "Tên đăng nhập", "Người thực hiện", "Thao tác", "Loại đối tượng", "Mã đối tượng",
           "Trường đã thay đổi", "Trước", "Sau", "Địa chỉ IP", "Mã yêu cầu"]
UNIT_CHANGES = 60  # more than one page (50)


@pytest.fixture(scope="module")
def word(e2e_database_url: str) -> str:
    """A word only this module's entries contain: 60 unit renames by a batch job, and one rule created."""
    word = f"nk{uuid.uuid4().hex[:8]}"
    batch = Actor(user_id=None, username=f"batch-{word}", ip="10.0.0.7", request_id=f"req-{word}")

    async def write(session: AsyncSession) -> None:
        for n in range(UNIT_CHANGES):
            await audit.record(session, batch, "update", "org_unit", 900_000 + n,
                               before={"name": f"Tổ {n} {word} cũ", "phone": "02513822222", "active": True},
                               after={"name": f"Tổ {n} {word} mới", "phone": "02513822222", "active": True})
        await audit.record(session, system_actor(), "create", "auto_dispatch_rule", 987_654,
                           after={"name": f"Quy tắc {word}", "field_ids": [2, 3], "active": False})

    with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run beside Playwright's loop in this thread
        pool.submit(in_transaction, e2e_database_url, write).result()
    return word


def rows(page: Page):  # noqa: ANN201
    return page.get_by_test_id("audit-row")


def test_admin_filters_pages_and_reads_an_entry_with_the_keyboard(person, word: str) -> None:
    admin = person("admin")
    main_menu(admin).get_by_role("link", name="Nhật ký hệ thống").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Nhật ký hệ thống")
    assert_accessible(admin)
    # when the administrator searches the module's word, the newest 50 of its 61 entries show
    admin.get_by_label("Nội dung").fill(word)
    expect(admin).to_have_url(re.compile(f"q={word}"))  # the filtered results are in (pushed by htmx)
    expect(rows(admin)).to_have_count(50)
    expect(rows(admin).first).to_contain_text("Quy tắc điều phối tự động")
    # and the older ones are one page further, and back
    admin.get_by_role("link", name="Cũ hơn").click()
    expect(rows(admin)).to_have_count(UNIT_CHANGES + 1 - 50)
    expect(admin.get_by_role("link", name="Cũ hơn")).to_have_count(0)
    admin.get_by_role("link", name="Mới hơn").click()
    expect(rows(admin)).to_have_count(50)
    # when the object type is chosen, only those entries remain
    admin.get_by_label("Loại đối tượng").select_option(label="Quy tắc điều phối tự động")
    expect(rows(admin)).to_have_count(1)
    expect(rows(admin).first).to_contain_text("Thêm mới")
    admin.get_by_label("Loại đối tượng").select_option(label="Đơn vị")
    expect(rows(admin)).to_have_count(50)
    for text in rows(admin).locator("td:nth-child(4)").all_inner_texts():
        assert text.startswith("Đơn vị"), text
    # when the person is a batch job's name, its entries are found by that name
    admin.get_by_label("Người thực hiện").fill(f"batch-{word}")
    admin.get_by_role("button", name="Lọc", exact=True).click()
    expect(admin).to_have_url(re.compile(f"batch-{word}"))  # the new results are in, not the previous ones
    expect(rows(admin)).to_have_count(50)
    newest = rows(admin).first
    expect(newest).to_contain_text(f"Tên: Tổ {UNIT_CHANGES - 1} {word} cũ → Tổ {UNIT_CHANGES - 1} {word} mới")
    # when the newest is opened with the keyboard
    newest.get_by_role("link", name=re.compile("^Xem")).focus()
    admin.keyboard.press("Enter")
    dialog = admin.get_by_role("dialog", name="Mục nhật ký")
    expect(dialog).to_be_visible()
    changed = dialog.get_by_test_id("changed-line")
    expect(changed).to_have_count(1)  # only the name changed
    expect(changed.get_by_role("cell")).to_have_text([f"Tổ {UNIT_CHANGES - 1} {word} cũ", f"Tổ {UNIT_CHANGES - 1} {word} mới"])
    expect(dialog.get_by_text("Các trường không thay đổi (2)")).to_be_visible()
    expect(dialog).to_contain_text("10.0.0.7")
    assert_accessible(admin)
    # then Escape closes it and the focus is back on the row's button
    admin.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(newest.get_by_role("link", name=re.compile("^Xem"))).to_be_focused()


def test_a_coordinators_unmasked_read_of_personal_data_is_listed(person, e2e_database_url: str) -> None:
    async def report(session: AsyncSession) -> str:
        data = TicketCreate(channel=Channel.call, description="Ống nước vỡ trước nhà số 12", citizen_name="Lê Thị Hoa",
                            citizen_phone="0912345678")
        ticket, _created = await tickets.open_ticket(session, system_actor(), data, f"audit-{uuid.uuid4().hex}")
        return ticket.code

    with ThreadPoolExecutor(1) as pool:
        code = pool.submit(in_transaction, e2e_database_url, report).result()
    # given the coordinator opened the report (its phone number is shown to them unmasked)
    desk = person("dieuphoi")
    desk.goto(f"/tickets/{code}")
    expect(desk.get_by_text("0912345678")).to_be_visible()
    # then the administrator finds that read among the personal-data accesses
    admin = person("admin")
    admin.goto(LOG)
    admin.get_by_label("Thao tác").select_option(label="Mọi lần truy cập dữ liệu cá nhân")
    admin.get_by_label("Mã đối tượng").fill(code)
    admin.get_by_role("button", name="Lọc", exact=True).click()
    expect(rows(admin)).to_have_count(1)
    row = rows(admin).first
    expect(row).to_contain_text("Xem dữ liệu cá nhân (một phản ánh)")
    expect(row).to_contain_text("Dữ liệu cá nhân")
    expect(row).to_contain_text("Nguyễn Thị Điều Phối")


def test_the_filtered_entries_export_to_excel_and_the_export_is_logged(person, word: str) -> None:
    admin = person("admin")
    admin.goto(f"{LOG}?q={word}")
    expect(rows(admin)).to_have_count(50)
    with admin.expect_download() as download:
        admin.get_by_role("link", name="Xuất Excel").click()
    assert download.value.suggested_filename.startswith("Nhật ký hệ thống")
    with Path(download.value.path()).open("rb") as file:  # the saved download has no .xlsx suffix
        book = openpyxl.load_workbook(file)
    sheet = book.active
    assert [c.value for c in sheet[1]] == HEADERS
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(body) == UNIT_CHANGES + 1  # every matching entry, not only the page shown
    newest, oldest = body[0], body[-1]
    assert newest[4] == "Thêm mới" and newest[5] == "Quy tắc điều phối tự động" and newest[6] == "987654"
    assert oldest[2] == f"batch-{word}" and oldest[4] == "Cập nhật" and oldest[5] == "Đơn vị" and oldest[7] == "name"
    assert f"Tổ 0 {word} cũ" in oldest[8] and f"Tổ 0 {word} mới" in oldest[9] and oldest[10] == "10.0.0.7"
    assert isinstance(newest[1], datetime)  # a real date, in local time
    assert abs((newest[1] - datetime.now(LOCAL_TZ).replace(tzinfo=None)).total_seconds()) < 3600
    assert sheet.freeze_panes == "A2"
    # and the export itself is in the log
    admin.goto(LOG)
    admin.get_by_label("Thao tác").select_option(label="Xuất nhật ký hệ thống ra Excel")
    expect(rows(admin).first).to_contain_text("Quản trị hệ thống")
    expect(rows(admin).first).to_contain_text(f"{UNIT_CHANGES + 1} dòng")


def test_dates_narrow_the_log_and_a_reversed_range_is_explained(person, word: str) -> None:
    today = datetime.now(LOCAL_TZ).date().isoformat()
    admin = person("admin")
    admin.goto(f"{LOG}?q={word}&from={today}&to={today}")
    expect(rows(admin)).to_have_count(50)
    admin.goto(f"{LOG}?q={word}&from=2020-01-01&to=2020-01-31")
    expect(admin.get_by_test_id("audit-count")).to_have_text("Không có mục nhật ký nào phù hợp với bộ lọc.")
    admin.goto(f"{LOG}?q={word}&from={today}&to=2020-01-31")
    expect(admin.locator("#f-to-error")).to_have_text("Ngày kết thúc trước ngày bắt đầu.")
    expect(admin.get_by_label("Đến ngày")).to_have_attribute("aria-invalid", "true")


def test_an_officer_is_refused_and_an_inspector_reads_the_log(person) -> None:
    officer = person("cv.giaothong")
    expect(main_menu(officer).get_by_role("link", name="Nhật ký hệ thống")).to_have_count(0)
    for path in (LOG, f"{LOG}/export"):
        with officer.expect_response(lambda r, p=path: r.url.endswith(p)) as answer:
            officer.goto(path)
        assert answer.value.status == 403
        expect(officer.get_by_role("heading", level=1)).to_have_text("Lỗi 403")
        expect(officer.get_by_role("alert")).to_have_text(FORBIDDEN)
    inspector = person("kiemtra")
    main_menu(inspector).get_by_role("link", name="Nhật ký hệ thống").click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text("Nhật ký hệ thống")
    expect(rows(inspector).first).to_be_visible()


def test_bad_addresses_are_4xx_pages(live_server: str) -> None:
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=30, headers={"Accept-Language": "vi"}) as http:
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)  # type: ignore[union-attr]
        assert http.post("/login", data={"csrf_token": token, "username": "kiemtra", "password": "Hotline@1022"}) \
            .status_code == 303
        for path in (f"{LOG}/abc", f"{LOG}/99999999999999999999", f"{LOG}/9223372036854775000"):
            answer = http.get(path)
            assert answer.status_code == 404, path
            assert "Lỗi 404" in answer.text
        odd = http.get(LOG, params={"after": "x", "before": "-1", "from": "31/12/2024", "action": "DROP TABLE",
                                    "entity": "'; --", "q": "%_\\"})
        assert odd.status_code == 200
        assert "Nhập ngày theo dạng ngày/tháng/năm." in odd.text
        assert http.post(LOG, data={"csrf_token": token}).status_code == 405
