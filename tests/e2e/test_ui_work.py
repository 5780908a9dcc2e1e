"""The work screens in a real browser with the real worker: the desk creates a report and
dispatches it, the ward's manager assigns the officer, the officer sends the result, the manager
approves it and the desk closes it; the desk marks a prank call as spam with a reason; an
out-of-area report comes back to the desk and goes to the right ward; people without the role
are refused in Vietnamese; a double submit of the add form makes one report."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import signed_in_people
from tests.e2e.worker_server import serve_with_worker

DEADLINE_MS = 60_000  # the worker's steps on a busy 2-core machine
REQUIRED = "Trường này là bắt buộc."


@pytest.fixture(scope="module")
def work_server(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_with_worker(template_url, tmp_path_factory.mktemp("work-data")) as base:
        yield base


@pytest.fixture
def person(browser: Browser, work_server: str) -> Iterator[Callable[[str], Page]]:
    with signed_in_people(browser, work_server) as open_as:
        yield open_as


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def reload_until_visible(page: Page, locator: Locator, timeout_ms: int = DEADLINE_MS) -> None:
    """Lists are not live here: reload until the worker's step shows (deadline, no fixed sleep)."""
    deadline = page.evaluate("Date.now()") + timeout_ms
    while True:
        try:
            expect(locator).to_be_visible(timeout=2_000)
            return
        except AssertionError:
            if page.evaluate("Date.now()") > deadline:
                raise
            page.reload()


def picker(scope: Page | Locator, label: str) -> Locator:
    return scope.get_by_role("combobox", name=re.compile(f"^{re.escape(label)}"))


def choose_option(select: Locator, text: str) -> None:
    """Pickers indent tree levels with spaces: find the option by its text, choose its value."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    assert value, text
    select.select_option(value)


def create_report(page: Page, description: str, citizen: str = "Nguyễn Văn An", attach: bool = False) -> str:
    page.goto("/desk/new")
    page.get_by_role("link", name="Thêm phản ánh").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thêm phản ánh")
    page.get_by_label("Họ và tên người phản ánh").fill(citizen)
    page.get_by_label("Số điện thoại").fill("0912345678")
    choose_option(picker(page, "Lĩnh vực"), "Đèn tín hiệu, biển báo")
    choose_option(picker(page, "Khu vực"), "Phường Trấn Biên")
    page.get_by_label("Địa chỉ").fill("Ngã tư Tân Phong, phường Trấn Biên")
    page.get_by_label("Nội dung phản ánh").fill(description)
    if attach:
        page.get_by_label("Tệp đính kèm").set_input_files({"name": "hien-truong.png", "mimeType": "image/png",
                                                           "buffer": tiny_png()})
    page.get_by_role("button", name="Lưu phản ánh").click()
    notice = page.get_by_role("status")
    expect(notice).to_have_text(re.compile(r"^Đã tạo phản ánh 1022-\d{4}-\d{6}\.$"))
    code = re.search(r"1022-\d{4}-\d{6}", notice.inner_text())
    assert code is not None
    return code.group(0)


def open_task(page: Page, code: str, task: str) -> None:
    page.goto("/inbox")
    row = page.locator(f"tr[data-ticket='{code}'][data-task='{task}']")
    reload_until_visible(page, row)
    row.get_by_role("link", name=re.compile("^Mở")).click()
    expect(page.get_by_role("heading", level=2, name="Xử lý công việc")).to_be_visible()


def submit_task(page: Page) -> None:
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Đã hoàn thành công việc.")


# ---- the whole story ----

def test_a_report_goes_from_the_desk_through_the_ward_and_back_closed(person, artifacts: Path) -> None:
    desk = person("dieuphoi")
    # given the add form: nothing filled says, next to each field, what is required
    desk.goto("/desk/new/add")
    desk.get_by_role("button", name="Lưu phản ánh").click()
    for name in ("citizen_name", "citizen_phone", "field_id", "area_id", "address", "description"):
        expect(desk.locator(f"#f-{name}-error")).to_have_text(REQUIRED)
    expect(desk.get_by_role("alert")).to_have_text("Vui lòng sửa các trường được đánh dấu bên dưới.")
    # when the coordinator fills it in with a photo
    code = create_report(desk, "Đèn tín hiệu tại ngã tư Tân Phong bị hỏng, xe cộ lộn xộn.", attach=True)
    # then the report waits in the new list; its popup shows the data and the dispatch form
    row = desk.locator(f"tr[data-ticket='{code}']")
    dispatch = row.get_by_role("link", name=re.compile("^Điều phối"))
    reload_until_visible(desk, dispatch)
    desk.screenshot(path=str(artifacts / "desk-new.png"), full_page=True)
    dispatch.click()
    dialog = desk.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("ticket-code")).to_have_text(code)
    expect(dialog.get_by_test_id("ticket-status")).to_have_text("Mới")
    expect(dialog.get_by_test_id("ticket-files")).to_have_text("hien-truong.png")
    expect(dialog.get_by_label("Đánh dấu tin rác")).to_be_visible()
    # when the desk sends it to the ward
    choose_option(picker(dialog, "Đơn vị xử lý"), "UBND phường Trấn Biên")
    dialog.get_by_role("textbox", name=re.compile(r"^Ghi chú \/ lý do")).fill("Chuyển phường xử lý")
    desk.screenshot(path=str(artifacts / "desk-dispatch.png"))
    dialog.get_by_role("button", name="Gửi", exact=True).click()
    expect(desk.get_by_role("status")).to_have_text("Đã hoàn thành công việc.")
    expect(desk.locator(f"tr[data-ticket='{code}']")).to_have_count(0)

    # the ward's manager assigns the officer (the officer picker shows only for that answer)
    manager = person("ld.tranbien")
    # the manager's home counts the task waiting for the ward, and links to the inbox
    reload_until_visible(manager, manager.get_by_test_id("home-waiting").filter(has_text=re.compile("^1$")))
    expect(manager.get_by_test_id("home-overdue")).to_have_text("0")
    manager.get_by_role("link", name=re.compile("đang chờ tôi hoặc đơn vị")).click()
    expect(manager.get_by_test_id("count-waiting")).to_have_text("1")
    open_task(manager, code, "assign")
    # they may take the task for themselves and give it back to the unit
    manager.get_by_role("button", name="Nhận công việc này").click()
    expect(manager.get_by_role("status")).to_have_text("Bạn đã nhận công việc.")
    manager.get_by_role("button", name="Trả lại cho đơn vị").click()
    expect(manager.get_by_role("status")).to_have_text("Bạn đã trả công việc về đơn vị.")
    officer_picker = picker(manager, "Chuyên viên xử lý")
    expect(officer_picker).to_be_hidden()
    manager.get_by_label("Giao chuyên viên xử lý").check()
    expect(officer_picker).to_be_visible()
    submit = manager.get_by_role("button", name="Gửi", exact=True)
    submit.click()
    expect(manager.locator("#t-officer-error")).to_have_text(REQUIRED)
    manager.get_by_label("Giao chuyên viên xử lý").check()
    choose_option(picker(manager, "Chuyên viên xử lý"), "Bùi Thị Trấn")
    manager.get_by_role("textbox", name=re.compile(r"^Ghi chú \/ lý do")).fill("Xử lý trong ngày")
    manager.screenshot(path=str(artifacts / "inbox-assign.png"), full_page=True)
    submit_task(manager)

    # the officer sends the result
    officer = person("cv.tranbien")
    open_task(officer, code, "process")
    officer.get_by_label("Gửi kết quả xử lý").check()
    officer.get_by_role("textbox", name=re.compile("^Kết quả xử lý")).fill("Đã phối hợp điện lực sửa đèn lúc 15h.")
    submit_task(officer)

    # the manager, still on the inbox, sees the new task arrive live (Server-Sent Events)
    expect(manager.get_by_test_id("count-waiting")).to_have_text("1", timeout=DEADLINE_MS)
    expect(manager.get_by_role("status").filter(has_text="Có công việc mới.")).to_be_visible()
    manager.get_by_role("link", name="Tải lại danh sách").click()
    # and approves it
    open_task(manager, code, "approve_result")
    manager.get_by_label("Duyệt", exact=True).check()
    submit_task(manager)

    # the desk receives it, closes it and sees it resolved
    open_task(desk, code, "close")
    desk.get_by_role("textbox", name=re.compile(r"^Ghi chú \/ lý do")).fill("Đã báo người dân")
    submit_task(desk)
    desk.goto(f"/desk/ticket/{code}")
    reload_until_visible(desk, desk.get_by_test_id("ticket-status").filter(has_text="Đã giải quyết"))


def test_the_desk_marks_a_prank_call_as_spam_with_a_reason(person) -> None:
    desk = person("dieuphoi")
    code = create_report(desk, "Gọi đến chỉ để trêu đùa tổng đài viên.", citizen="Không rõ")
    dispatch = desk.locator(f"tr[data-ticket='{code}']").get_by_role("link", name=re.compile("^Điều phối"))
    reload_until_visible(desk, dispatch)
    dispatch.click()
    dialog = desk.get_by_role("dialog")
    # choosing spam hides the unit picker; the reason becomes required
    dialog.get_by_label("Đánh dấu tin rác").check()
    expect(picker(dialog, "Đơn vị xử lý")).to_be_hidden()
    dialog.get_by_role("button", name="Gửi", exact=True).click()
    # without a reason, the form comes back with the message beside the reason
    expect(desk.locator("[id$='-note-error']")).to_have_text(REQUIRED)
    expect(picker(desk, "Đơn vị xử lý")).to_be_hidden()
    desk.get_by_role("textbox", name=re.compile(r"^Ghi chú \/ lý do")).fill("Cuộc gọi quấy rối")
    desk.get_by_role("button", name="Gửi", exact=True).click()
    expect(desk.get_by_role("status")).to_have_text("Đã hoàn thành công việc.")
    expect(desk).to_have_url(re.compile(r"/desk/new\?notice=done$"))
    desk.goto(f"/desk/ticket/{code}")
    reload_until_visible(desk, desk.get_by_test_id("ticket-status").filter(has_text="Tin rác"))


def test_an_out_of_area_report_comes_back_to_the_desk_and_goes_to_the_right_ward(person) -> None:
    desk = person("dieuphoi")
    code = create_report(desk, "Rác thải đổ trộm ven đường tại khu phố 3, nhưng thuộc phường Biên Hòa.")
    dispatch = desk.locator(f"tr[data-ticket='{code}']").get_by_role("link", name=re.compile("^Điều phối"))
    reload_until_visible(desk, dispatch)
    dispatch.click()
    choose_option(picker(desk.get_by_role("dialog"), "Đơn vị xử lý"), "UBND phường Trấn Biên")
    desk.get_by_role("dialog").get_by_role("button", name="Gửi", exact=True).click()
    expect(desk.get_by_role("status")).to_have_text("Đã hoàn thành công việc.")
    manager = person("ld.tranbien")
    open_task(manager, code, "assign")
    manager.get_by_label("Giao chuyên viên xử lý").check()
    choose_option(picker(manager, "Chuyên viên xử lý"), "Bùi Thị Trấn")
    submit_task(manager)
    # the officer reports it out of area: a reason is required for that answer
    officer = person("cv.tranbien")
    open_task(officer, code, "process")
    officer.get_by_label("Báo ngoài địa bàn").check()
    officer.get_by_role("button", name="Gửi", exact=True).click()
    expect(officer.locator("#t-note-error")).to_have_text(REQUIRED)
    officer.get_by_role("textbox", name=re.compile(r"^Ghi chú \/ lý do")).fill("Địa điểm thuộc phường Biên Hòa")
    submit_task(officer)
    manager.goto("/inbox")
    open_task(manager, code, "approve_out_of_area")
    manager.get_by_label("Duyệt", exact=True).check()
    submit_task(manager)
    # the desk dispatches it again, to the right ward
    open_task(desk, code, "redispatch")
    choose_option(picker(desk, "Đơn vị xử lý"), "UBND phường Biên Hòa")
    submit_task(desk)
    desk.goto(f"/desk/ticket/{code}")
    reload_until_visible(desk, desk.get_by_text("UBND phường Biên Hòa", exact=True))
    expect(desk.get_by_test_id("ticket-status")).to_have_text("Đã chuyển đơn vị")


def test_the_desk_pins_the_place_on_the_map_corrects_a_report_then_deletes_it(person) -> None:
    # CRM-31: the add form's map fills the coordinates (no map server here: the page says so and
    # the pin still works), the desk corrects the report, then deletes it with a reason
    desk = person("dieuphoi")
    desk.goto("/desk/new/add")
    pick = desk.locator("#pick-map")
    expect(pick).to_be_visible()
    expect(desk.get_by_role("status").filter(has_text="Không tải được nền bản đồ")).to_be_visible(timeout=DEADLINE_MS)
    pick.click(position={"x": 200, "y": 120})
    expect(desk.get_by_label("Vĩ độ")).to_have_value(re.compile(r"^\d{1,2}\.\d{6}$"))
    expect(desk.get_by_label("Kinh độ")).to_have_value(re.compile(r"^\d{3}\.\d{6}$"))
    desk.get_by_role("button", name="Bỏ ghim").click()
    expect(desk.get_by_label("Vĩ độ")).to_have_value("")
    assert_accessible(desk)

    code = create_report(desk, "Nắp cống bị vỡ trước số 12 đường Phạm Văn Thuận, rất nguy hiểm.")
    row = desk.locator(f"tr[data-ticket='{code}']")
    reload_until_visible(desk, row.get_by_role("link", name=re.compile("^Sửa")))
    assert_accessible(desk)
    row.get_by_role("link", name=re.compile("^Sửa")).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(f"Sửa phản ánh {code}")
    expect(desk.get_by_label("Địa chỉ")).to_have_value("Ngã tư Tân Phong, phường Trấn Biên")
    # a cleared required field is named next to it, in Vietnamese, and nothing is saved
    desk.get_by_label("Địa chỉ").fill("")
    desk.get_by_role("button", name="Lưu thay đổi").click()
    expect(desk.locator("#f-address-error")).to_have_text(REQUIRED)
    desk.get_by_label("Địa chỉ").fill("Số 12 đường Phạm Văn Thuận, phường Trấn Biên")
    desk.get_by_label("Vĩ độ").fill("10.9561")
    desk.get_by_label("Kinh độ").fill("106.8412")
    desk.get_by_role("button", name="Lưu thay đổi").click()
    expect(desk.get_by_role("status")).to_have_text(f"Đã lưu phản ánh {code}.")

    # deleting asks for a reason in a dialog; the report leaves the list and reads "Đã xóa"
    desk.locator(f"tr[data-ticket='{code}']").get_by_role("link", name=re.compile("^Xóa")).click()
    dialog = desk.get_by_role("dialog", name=re.compile("^Xóa phản ánh"))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("textbox", name=re.compile("^Lý do xóa"))).to_be_focused()
    dialog.get_by_role("textbox", name=re.compile("^Lý do xóa")).fill("Nhập trùng với phản ánh khác")
    dialog.get_by_role("button", name="Xác nhận xóa").click()
    expect(desk.get_by_role("status")).to_have_text("Đã hoàn thành công việc.")
    expect(desk.locator(f"tr[data-ticket='{code}']")).to_have_count(0)
    desk.goto(f"/tickets/{code}")
    reload_until_visible(desk, desk.get_by_test_id("ticket-status").filter(has_text="Đã xóa"))
    expect(desk.get_by_text("Số 12 đường Phạm Văn Thuận, phường Trấn Biên").first).to_be_visible()
    # and it can no longer be edited
    answer = desk.goto(f"/desk/ticket/{code}/edit")
    assert answer is not None and answer.status == 409
    expect(desk.get_by_role("alert")).to_contain_text("không thể sửa")


# ---- refusals ----

@pytest.mark.parametrize(("username", "path"), [("kiemtra", "/desk/new"), ("cv.tranbien", "/desk/new/add"),
                                                 ("kiemtra", "/inbox")])
def test_people_without_the_role_are_refused_in_vietnamese(person, username: str, path: str) -> None:
    page = person(username)
    with page.expect_response(lambda r: r.url.endswith(path)) as answer:
        page.goto(path)
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Lỗi 403")
    expect(page.get_by_role("alert")).to_have_text("Bạn không có quyền thực hiện thao tác này.")


def test_a_double_submit_of_the_add_form_makes_one_report(work_server: str) -> None:
    with httpx.Client(base_url=work_server, follow_redirects=False, timeout=30) as http:
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)  # type: ignore[union-attr]
        signed = http.post("/login", data={"csrf_token": token, "username": "dienthoai", "password": "Hotline@1022"})
        assert signed.status_code == 303
        form = http.get("/desk/new/add").text
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        body = {"csrf_token": token, "idempotency_key": key, "citizen_name": "Trần Thị Bình",
                "citizen_phone": "0987654321", "field_id": "2", "area_id": "46", "address": "Phường Trấn Biên",
                "description": "Cây đổ chắn ngang đường sau mưa lớn.", "channel": "call"}
        first, second = http.post("/desk/new/add", data=body), http.post("/desk/new/add", data=body)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
