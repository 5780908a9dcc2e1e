"""The people-and-access administration in a real browser: an administrator creates an account
(a weak password is explained next to its field), edits its SMS settings, deactivates, unlocks
and sets its password; creates a custom role, ticks its menus and gives it through a permission
group to a person, who then sees exactly those menus; permission group create / edit / delete;
a coordinator is refused in Vietnamese; axe-core on every screen; bad posts are 4xx, never 500.

Rows are created with unique names in the shared browser database; seeded rows are not changed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from core.db import normalize_url
from core.services.seed import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible
from tests.e2e.test_ui_shell import main_menu, sign_in

GOOD_PASSWORD = "Dong-Nai-1022!"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def api(live_server: str) -> Iterator[httpx.Client]:
    """The JSON API as the administrator (for setting up rows and reading results back)."""
    with httpx.Client(base_url=live_server, timeout=10) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD})
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def new_account(api: httpx.Client, group_codes: tuple[str, ...] = ("CVXL",), phone: str | None = "0912345678") -> dict:
    groups = {g["code"]: g["id"] for g in api.get("/api/v1/groups").json()}
    units = {u["code"]: u["id"] for u in api.get("/api/v1/org-units").json()}
    created = api.post("/api/v1/users", json={
        "username": unique("cv.e2e"), "password": GOOD_PASSWORD, "full_name": "Trần Thị Kiểm Thử", "phone": phone,
        "unit_id": units["P.TRANBIEN"], "group_ids": [groups[c] for c in group_codes]})
    assert created.status_code == 201, created.text
    return created.json()


def as_admin(page: Page) -> Page:
    sign_in(page, "admin")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    return page


def choose(select: Locator, text: str) -> None:
    """Unit pickers indent tree levels with spaces: choose the option by the text it holds."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    assert value, text
    select.select_option(value)


def field_error(page: Page, name: str):  # noqa: ANN201 - a Playwright locator
    return page.locator(f"#f-{name}-error")


# ---- users (PERM-08, 09) ----

def test_admin_creates_an_account_after_a_weak_password_is_explained(page: Page) -> None:
    # given the administrator on the users screen
    as_admin(page)
    main_menu(page).get_by_role("link", name="Người dùng").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Người dùng")
    assert_accessible(page)
    page.get_by_role("link", name="Thêm tài khoản").click()
    assert_accessible(page)
    # when they fill the form with a weak password
    username = unique("cv.moi")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Họ và tên").fill("Nguyễn Văn Mới")
    page.get_by_label("Số điện thoại").fill("0987 654 321")
    choose(page.get_by_label("Đơn vị / phòng ban"), "UBND phường Trấn Biên")
    page.get_by_role("checkbox", name=re.compile("^Chuyên viên xử lý")).check()
    page.get_by_label("Mật khẩu ban đầu").fill("abc123")
    page.get_by_label("Nhập lại mật khẩu").fill("abc123")
    page.get_by_role("button", name="Tạo tài khoản").click()
    # then the rule it breaks is shown next to the password, in Vietnamese, and the rest is kept
    expect(field_error(page, "password")).to_contain_text("Mật khẩu phải có ít nhất 10 ký tự.")
    expect(page.get_by_label("Mật khẩu ban đầu")).to_be_focused()
    expect(page.get_by_label("Tên đăng nhập")).to_have_value(username)
    expect(page.get_by_role("checkbox", name=re.compile("^Chuyên viên xử lý"))).to_be_checked()
    assert_accessible(page)
    # when a good password is given (typed differently the second time first)
    page.get_by_label("Mật khẩu ban đầu").fill(GOOD_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(GOOD_PASSWORD + "x")
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(field_error(page, "password_confirm")).to_have_text("Hai mật khẩu không khớp nhau.")
    page.get_by_label("Mật khẩu ban đầu").fill(GOOD_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Tạo tài khoản").click()
    # then the account is created and found in the table with its unit and group
    expect(page.get_by_role("status")).to_have_text("Đã tạo tài khoản.")
    page.get_by_role("link", name="← Người dùng").click()
    page.get_by_role("searchbox", name="Tìm kiếm").fill(username)
    row = page.locator(f"tr[data-username='{username}']")
    expect(row).to_be_visible()
    expect(page.get_by_test_id("user-count")).to_have_text("1 tài khoản")
    expect(row).to_contain_text("Nguyễn Văn Mới")
    expect(row).to_contain_text("UBND phường Trấn Biên")
    expect(row).to_contain_text("Chuyên viên xử lý")
    expect(row).to_contain_text("Đang hoạt động")
    # and the same username cannot be taken twice
    page.goto("/admin/users/new")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Họ và tên").fill("Người trùng tên")
    page.get_by_label("Mật khẩu ban đầu").fill(GOOD_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(field_error(page, "username")).to_have_text("Tên đăng nhập đã tồn tại.")


def test_filters_find_system_accounts_and_accounts_of_a_group(page: Page, api: httpx.Client) -> None:
    groups = {g["code"]: g["id"] for g in api.get("/api/v1/groups").json()}
    system = api.post("/api/v1/users", json={"username": unique("he.thong"), "password": GOOD_PASSWORD,
                                             "full_name": "Hệ thống kết nối thử", "is_system": True,
                                             "group_ids": [groups["APIKN"]]}).json()
    as_admin(page)
    page.goto("/admin/users")
    page.get_by_label("Loại tài khoản").select_option(label="Tài khoản hệ thống")
    expect(page).to_have_url(re.compile(r"kind=system"))
    expect(page.locator(f"tr[data-username='{system['username']}']")).to_contain_text("Tài khoản hệ thống")
    expect(page.locator("tr[data-username='dieuphoi']")).to_have_count(0)
    # a group's members, from the filter (the address keeps the filters: a reload shows the same)
    page.goto("/admin/users")
    page.get_by_label("Nhóm quyền").select_option(label="Điều phối viên Tổng đài 1022")
    expect(page.locator("tr[data-username='dieuphoi']")).to_be_visible()
    expect(page.locator("tr[data-username='admin']")).to_have_count(0)
    page.reload()
    expect(page.locator("tr[data-username='dieuphoi']")).to_be_visible()
    expect(page.get_by_label("Nhóm quyền")).to_have_value(str(groups["DPV"]))


def test_sms_settings_are_validated_and_persist(page: Page, api: httpx.Client) -> None:
    # given an officer with a mobile number
    user = new_account(api)
    as_admin(page)
    page.goto(f"/admin/users/{user['id']}")
    page.get_by_role("link", name="Cấu hình gửi SMS").click()
    expect(page.get_by_role("heading", name="Cấu hình gửi SMS")).to_be_visible()
    expect(page.get_by_text("Tin nhắn SMS được gửi tới 0912345678")).to_be_visible()
    assert_accessible(page)
    process = page.locator("fieldset[data-event='task_process']")
    approve = page.locator("fieldset[data-event='task_approve']")
    expect(process.get_by_role("checkbox", name="Nhận SMS")).to_be_checked()
    # when the SMS for reports to process is switched off and a text with an unknown placeholder is given
    process.get_by_role("checkbox", name="Nhận SMS").uncheck()
    approve.get_by_label("Nội dung SMS").fill("Phản ánh {{ ma }} chờ anh/chị duyệt")
    page.get_by_role("button", name="Lưu cấu hình gửi SMS").click()
    # then the text is refused next to its field, and the unticked box stays unticked
    expect(page.locator("#f-sms_text_task_approve-error")).to_have_text("Không có biến ma. Chỉ được dùng: {{ code }}, {{ title }}.")
    expect(process.get_by_role("checkbox", name="Nhận SMS")).not_to_be_checked()
    assert_accessible(page)
    # when the text is corrected
    approve.get_by_label("Nội dung SMS").fill("Tổng đài 1022: phản ánh {{ code }} chờ anh/chị duyệt")
    page.get_by_role("button", name="Lưu cấu hình gửi SMS").click()
    # then it is saved, shown again after a reload, and the service has it (and audited it)
    expect(page.get_by_role("status")).to_have_text("Đã lưu cấu hình gửi SMS.")
    page.reload()
    expect(process.get_by_role("checkbox", name="Nhận SMS")).not_to_be_checked()
    expect(approve.get_by_label("Nội dung SMS")).to_have_value("Tổng đài 1022: phản ánh {{ code }} chờ anh/chị duyệt")
    items = {i["event"]: i for i in api.get(f"/api/v1/users/{user['id']}/notification-settings").json()["items"]}
    assert items["task_process"]["sms"] is False
    assert items["task_approve"]["sms_text"] == "Tổng đài 1022: phản ánh {{ code }} chờ anh/chị duyệt"
    audit = api.get("/api/v1/audit", params={"entity": "user", "entity_id": str(user["id"])}).json()["items"]
    assert any(e["action"] == "notification_settings.update" for e in audit)


def test_sms_cannot_be_switched_on_without_a_mobile_number(page: Page, api: httpx.Client) -> None:
    user = new_account(api, phone=None)
    api.put(f"/api/v1/users/{user['id']}/notification-settings", json={"items": [
        {"event": "task_process", "in_app": True, "sms": False}]})
    as_admin(page)
    page.goto(f"/admin/users/{user['id']}/sms")
    expect(page.get_by_text("Tài khoản chưa có số điện thoại di động")).to_be_visible()
    process = page.locator("fieldset[data-event='task_process']")
    process.get_by_role("checkbox", name="Nhận SMS").check()
    page.get_by_role("button", name="Lưu cấu hình gửi SMS").click()
    expect(page.locator("#f-sms_task_process-error")).to_contain_text("Cần có số điện thoại di động")


def test_deactivate_with_confirmation_unlock_and_set_a_password(page: Page, browser: Browser, api: httpx.Client,
                                                                 e2e_database_url: str, base_url: str) -> None:
    user = new_account(api)
    with psycopg.connect(normalize_url(e2e_database_url).replace("+psycopg", "")) as conn:  # locked by failed sign-ins
        conn.execute("UPDATE app_user SET failed_logins = 10, locked_until = now() + interval '15 minutes' "
                     "WHERE id = %s", (user["id"],))
    as_admin(page)
    # the locked account shows under the "locked" filter, and is unlocked from its page
    page.goto("/admin/users?status=locked")
    row = page.locator(f"tr[data-username='{user['username']}']")
    expect(row).to_contain_text("Đang bị khóa")
    row.get_by_role("link", name=re.compile("^Sửa")).click()
    assert_accessible(page)
    page.get_by_role("button", name="Mở khóa tài khoản").click()
    expect(page.get_by_role("status")).to_have_text("Đã mở khóa tài khoản.")
    expect(page.get_by_test_id("user-state")).to_have_text("Đang hoạt động")
    # deactivating asks first (a dialog, keyboard only); Cancel changes nothing
    page.get_by_role("link", name="Ngừng hoạt động tài khoản").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Ngừng hoạt động tài khoản {user['username']}?")
    expect(dialog).to_be_visible()
    assert_accessible(page)
    expect(dialog.get_by_role("button", name="Hủy")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("user-state")).to_have_text("Đang hoạt động")
    page.get_by_role("link", name="Ngừng hoạt động tài khoản").click()
    dialog.get_by_role("button", name="Ngừng hoạt động").click()
    expect(page.get_by_role("status")).to_have_text("Đã ngừng hoạt động tài khoản: tài khoản không thể đăng nhập nữa.")
    expect(page.get_by_test_id("user-state")).to_have_text("Ngừng hoạt động")
    page.get_by_role("button", name="Kích hoạt lại tài khoản").click()
    expect(page.get_by_test_id("user-state")).to_have_text("Đang hoạt động")
    # a new password: a weak one is explained, a good one lets the person sign in
    page.get_by_role("link", name="Đặt mật khẩu mới").click()
    assert_accessible(page)
    page.get_by_label("Mật khẩu mới").fill(user["username"] + "A1!")
    page.get_by_label("Nhập lại mật khẩu").fill(user["username"] + "A1!")
    page.get_by_role("button", name="Đặt mật khẩu").click()
    expect(field_error(page, "password")).to_contain_text("Mật khẩu không được chứa tên đăng nhập.")
    page.get_by_label("Mật khẩu mới").fill("Bien-Hoa-2026?")
    page.get_by_label("Nhập lại mật khẩu").fill("Bien-Hoa-2026?")
    page.get_by_role("button", name="Đặt mật khẩu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã đặt mật khẩu mới.")
    context = browser.new_context(base_url=base_url, locale="vi-VN")
    try:
        person = context.new_page()
        sign_in(person, user["username"], "Bien-Hoa-2026?")
        expect(person.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    finally:
        context.close()


def test_an_administrator_cannot_deactivate_their_own_account(page: Page, api: httpx.Client) -> None:
    me = next(u for u in api.get("/api/v1/users", params={"q": "admin"}).json()["items"] if u["username"] == "admin")
    as_admin(page)
    page.goto(f"/admin/users/{me['id']}/deactivate")  # the confirmation page (no JavaScript needed)
    assert_accessible(page)
    page.get_by_role("button", name="Ngừng hoạt động").click()
    expect(page.get_by_role("alert")).to_have_text("bạn không thể vô hiệu hóa tài khoản của chính mình")
    expect(page.get_by_test_id("user-state")).to_have_text("Đang hoạt động")


# ---- roles, menus and groups (PERM-04, 05) ----

def test_a_custom_role_opens_exactly_its_menus_to_a_group_member(page: Page, browser: Browser, api: httpx.Client,
                                                                 base_url: str) -> None:
    as_admin(page)
    # given a new custom role that inherits the officer's permissions
    page.goto("/admin/roles")
    assert_accessible(page)
    expect(page.locator("tr[data-role='admin']")).to_contain_text("Vai trò hệ thống")
    expect(page.locator("tr[data-role='admin']").get_by_role("link", name=re.compile("^Xóa"))).to_have_count(0)
    page.get_by_role("link", name="Thêm vai trò").click()
    assert_accessible(page)
    code = unique("TRA_CUU_")
    page.get_by_label("Mã").fill(code)
    page.get_by_label("Tên", exact=True).fill("Tra cứu phản ánh")
    page.get_by_label("Quyền theo vai trò hệ thống").select_option("officer")
    page.get_by_role("button", name="Tạo vai trò").click()
    expect(page.get_by_role("status")).to_have_text("Đã tạo vai trò. Tiếp theo, hãy chọn các menu của vai trò.")
    assert_accessible(page)
    # when its menu is ticked: home, the ticket list, and a whole group (the desk) ticked then unticked but one
    page.get_by_role("checkbox", name=re.compile("^Trang chủ")).check()
    page.get_by_role("checkbox", name=re.compile("^Thống kê tin báo")).check()
    page.get_by_role("checkbox", name=re.compile("^Tổng đài 1022")).check()
    expect(page.get_by_role("checkbox", name=re.compile("^Tin rác"))).to_be_checked()
    page.get_by_role("checkbox", name=re.compile("^Tổng đài 1022")).uncheck()
    page.get_by_role("checkbox", name=re.compile("^Ngoài địa bàn")).check()
    page.get_by_role("button", name="Lưu menu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu menu của vai trò.")
    expect(page.get_by_role("checkbox", name=re.compile("^Ngoài địa bàn"))).to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("^Tin rác"))).not_to_be_checked()
    # and a permission group grants it
    group_code = unique("G_TRACUU_")
    page.goto("/admin/groups/new")
    page.get_by_label("Mã").fill(group_code)
    page.get_by_label("Tên", exact=True).fill("Nhóm tra cứu phản ánh")
    page.get_by_role("checkbox", name=re.compile("^Tra cứu phản ánh")).check()
    page.get_by_role("button", name="Tạo nhóm quyền").click()
    expect(page.get_by_role("status")).to_have_text("Đã tạo nhóm quyền.")
    group_id = int(re.search(r"/admin/groups/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    # and a person is put in the group from their account page
    user = new_account(api, group_codes=())
    page.goto(f"/admin/users/{user['id']}")
    page.get_by_role("checkbox", name=re.compile("^Nhóm tra cứu phản ánh")).check()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu thông tin tài khoản.")
    page.goto(f"/admin/groups/{group_id}")
    expect(page.get_by_role("heading", name="Thành viên (1)")).to_be_visible()
    expect(page.locator(f"tr[data-username='{user['username']}']")).to_be_visible()
    # then that person sees exactly the ticked entries after signing in
    context = browser.new_context(base_url=base_url, locale="vi-VN")
    try:
        person = context.new_page()
        sign_in(person, user["username"], GOOD_PASSWORD)
        expect(person.get_by_role("heading", level=1)).to_contain_text("Xin chào")
        links = main_menu(person).get_by_role("link")
        expect(links).to_have_text(["Trang chủ", "Ngoài địa bàn", "Thống kê tin báo"])
        expect(main_menu(person).locator("summary")).to_have_text(["Tổng đài 1022"])
    finally:
        context.close()


def test_a_system_role_cannot_be_deleted(http_as_admin: httpx.Client, api: httpx.Client) -> None:
    roles = {r["code"]: r["id"] for r in api.get("/api/v1/roles").json()}
    token = csrf_of(http_as_admin.get("/admin/roles").text)
    answer = http_as_admin.post(f"/admin/roles/{roles['officer']}/delete", data={"csrf_token": token})
    assert answer.status_code == 422
    assert "Không thể xóa vai trò hệ thống." in answer.text


def test_permission_group_create_edit_and_delete(page: Page) -> None:
    as_admin(page)
    page.goto("/admin/groups")
    assert_accessible(page)
    expect(page.locator("tr[data-group='DPV']")).to_contain_text("Điều phối viên")
    page.get_by_role("link", name="Thêm nhóm quyền").click()
    assert_accessible(page)
    # a code with spaces is refused next to the field; a code taken already too
    page.get_by_label("Mã").fill("nhóm sai")
    page.get_by_label("Tên", exact=True).fill("Nhóm thử nghiệm")
    page.get_by_role("checkbox", name=re.compile("^Chuyên viên xử lý")).check()
    page.get_by_role("button", name="Tạo nhóm quyền").click()
    expect(field_error(page, "code")).to_have_text("Định dạng không hợp lệ.")
    expect(page.get_by_role("checkbox", name=re.compile("^Chuyên viên xử lý"))).to_be_checked()
    page.get_by_label("Mã").fill("DPV")
    page.get_by_role("button", name="Tạo nhóm quyền").click()
    expect(field_error(page, "code")).to_have_text("Mã nhóm quyền đã tồn tại.")
    code = unique("THU_")
    page.get_by_label("Mã").fill(code)
    choose(page.get_by_label("Đơn vị quản lý"), "Sở Xây dựng")
    page.get_by_role("button", name="Tạo nhóm quyền").click()
    expect(page.get_by_role("status")).to_have_text("Đã tạo nhóm quyền.")
    assert_accessible(page)
    # edit: a new name and one more role
    page.get_by_label("Tên", exact=True).fill("Nhóm thử nghiệm (đã sửa)")
    page.get_by_role("checkbox", name=re.compile("^Lãnh đạo đơn vị")).check()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu nhóm quyền.")
    expect(page.get_by_role("checkbox", name=re.compile("^Lãnh đạo đơn vị"))).to_be_checked()
    page.goto("/admin/groups")
    row = page.locator(f"tr[data-group='{code}']")
    expect(row).to_contain_text("Nhóm thử nghiệm (đã sửa)")
    expect(row).to_contain_text("Sở Xây dựng")
    expect(row).to_contain_text("Chuyên viên xử lý")
    expect(row).to_contain_text("Lãnh đạo đơn vị")
    # delete, after the dialog's confirmation
    row.get_by_role("link", name=re.compile("^Xóa")).click()
    dialog = page.get_by_role("dialog", name="Xóa nhóm quyền Nhóm thử nghiệm (đã sửa)?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Xóa").click()
    expect(page.get_by_role("status")).to_have_text("Đã xóa nhóm quyền.")
    expect(page.locator(f"tr[data-group='{code}']")).to_have_count(0)


# ---- refusals and bad input ----

def test_a_coordinator_is_refused_in_vietnamese(page: Page) -> None:
    sign_in(page, "dieuphoi")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    expect(main_menu(page).get_by_role("link", name="Người dùng")).to_have_count(0)
    for path in ("/admin/users", "/admin/users/new", "/admin/roles", "/admin/groups"):
        with page.expect_response(lambda r, p=path: r.url.endswith(p)) as answer:
            page.goto(path)
        assert answer.value.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Lỗi 403")
        expect(page.get_by_role("alert")).to_have_text("Bạn không có quyền thực hiện thao tác này.")


def test_an_inspector_reads_roles_and_groups_without_changing_them(page: Page, api: httpx.Client) -> None:
    roles = {r["code"]: r["id"] for r in api.get("/api/v1/roles").json()}
    groups = {g["code"]: g["id"] for g in api.get("/api/v1/groups").json()}
    sign_in(page, "kiemtra")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    page.goto("/admin/roles")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vai trò và menu")
    expect(page.get_by_role("link", name="Thêm vai trò")).to_have_count(0)
    expect(page.locator("tr[data-role='officer']").get_by_role("link", name=re.compile("^Sửa"))).to_have_count(0)
    page.goto(f"/admin/roles/{roles['officer']}/menus")
    expect(page.get_by_role("checkbox", name=re.compile("^Công việc của tôi"))).to_be_disabled()
    expect(page.get_by_role("button", name="Lưu menu")).to_have_count(0)
    assert_accessible(page)
    page.goto(f"/admin/groups/{groups['CVXL']}")
    expect(page.get_by_role("checkbox", name=re.compile("^Chuyên viên xử lý"))).to_be_disabled()
    expect(page.get_by_role("button", name="Lưu")).to_have_count(0)
    expect(page.locator("tr[data-username='cv.tranbien']")).to_be_visible()
    assert_accessible(page)
    with page.expect_response(lambda r: r.url.endswith("/admin/users")) as answer:
        page.goto("/admin/users")
    assert answer.value.status == 403

def csrf_of(html: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    return token.group(1)


@pytest.fixture
def http_as_admin(http: httpx.Client) -> httpx.Client:
    """The plain HTTP client signed in as the administrator through the sign-in form."""
    answer = http.post("/login", data={"csrf_token": csrf_of(http.get("/login").text), "username": "admin",
                                       "password": DEMO_PASSWORD})
    assert answer.status_code == 303
    return http


def test_bad_posts_are_refused_with_a_4xx_never_a_500(http: httpx.Client, http_as_admin: httpx.Client,
                                                       api: httpx.Client) -> None:
    client = http_as_admin
    token = csrf_of(client.get("/admin/users/new").text)
    user = new_account(api)
    # no CSRF token
    assert client.post("/admin/users/new", data={"username": "x"}).status_code == 403
    # nonsense values: a page with the messages, not a crash
    bad = client.post("/admin/users/new", data={"csrf_token": token, "username": "Có Dấu", "full_name": "",
                                                "unit_id": "abc", "group_ids": ["x", "999999"], "password": "a",
                                                "password_confirm": "a", "email": "not-an-email"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    assert "Trường này là bắt buộc." in bad.text
    unknown_group = client.post("/admin/users/new", data={
        "csrf_token": token, "username": unique("cv.x"), "full_name": "A", "group_ids": "2147483647",
        "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD})
    assert unknown_group.status_code == 422
    too_long = client.post(f"/admin/users/{user['id']}/sms", data={"csrf_token": token, "sms_text_task_process": "x" * 400})
    assert too_long.status_code == 422
    # addresses that name nothing
    for path in ("/admin/users/abc", "/admin/users/99999999999", "/admin/users/2147483647", "/admin/roles/0",
                 "/admin/groups/abc/delete", "/admin/users/2147483647/sms"):
        assert client.get(path).status_code == 404, path
    assert client.post("/admin/roles/2147483647/menus", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/groups/2147483647/delete", data={"csrf_token": token}).status_code == 404
    # filters that make no sense are ignored
    assert client.get("/admin/users", params={"page": "abc", "unit": "x", "group": "-1", "kind": "??"}).status_code == 200
    # not signed in: to the sign-in page
    assert httpx.get(f"{client.base_url}/admin/users", follow_redirects=False).status_code == 303

