"""Units and areas administration in a real browser (PERM-06, PERM-07, CRM-26…29): the admin
creates a department under a unit and finds it in the tree, renames it, is told in Vietnamese
next to the code field that a code is taken, cannot delete a unit that still has sub-units,
deactivates and deletes one; creates, finds, edits and deletes an area with its national code,
cannot delete an area a unit names; opens tree nodes with the keyboard (the area tree loads a
node's communes when it opens); people without the role are refused; plain HTTP: bad posts are
4xx, never 500. Rows are created with unique codes: the browser database is shared."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from core.services.seed import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible
from tests.e2e.test_ui_shell import sign_in

REQUIRED = "Trường này là bắt buộc."


def unique() -> str:
    return uuid.uuid4().hex[:6].upper()


@pytest.fixture
def admin(page: Page) -> Page:
    sign_in(page, "admin")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    return page


def notice(page: Page) -> Locator:
    return page.locator("main .alert--success")


def unit_tree(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Cây tổ chức")


def area_tree(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Cây khu vực")


def choose(select: Locator, text: str) -> None:
    """Pickers indent tree levels with spaces: find the option by its text, choose its value."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    assert value is not None, text
    select.select_option(value)


def confirm_in_dialog(page: Page, opener: Locator, button: str) -> None:
    opener.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button, exact=True).click()


def create_unit(page: Page, code: str, name: str, parent: str | None = None) -> None:
    page.goto("/admin/units/new")
    page.get_by_label("Mã đơn vị").fill(code)
    page.get_by_label("Tên đơn vị").fill(name)
    if parent:
        choose(page.get_by_label("Đơn vị cấp trên"), parent)
        page.get_by_label("Loại đơn vị").select_option("department")
    page.get_by_role("button", name="Lưu").click()
    expect(notice(page)).to_have_text("Đã tạo đơn vị.")


# ---- units ----

def test_admin_creates_a_department_under_a_unit_renames_it_and_sees_it_in_the_tree(admin: Page) -> None:
    page = admin
    tag = unique()
    # given the units screen, the unit tree beside the top-level units
    page.goto("/admin/units")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đơn vị")
    expect(unit_tree(page).get_by_role("link", name=re.compile("^UBND tỉnh Đồng Nai"))).to_be_visible()
    assert_accessible(page)
    # when they choose Sở Y tế in the tree and add a department under it
    unit_tree(page).get_by_role("link", name=re.compile("^Sở Y tế")).click()
    expect(page.get_by_test_id("unit-details").get_by_role("heading")).to_have_text("Sở Y tế")
    page.get_by_role("link", name="Thêm đơn vị trực thuộc").click()
    expect(page.get_by_label("Đơn vị cấp trên")).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_label("Loại đơn vị")).to_have_value("department")
    assert_accessible(page)
    page.get_by_label("Mã đơn vị").fill(f"SYT.T{tag}")
    page.get_by_label("Tên đơn vị").fill(f"Phòng Thử nghiệm {tag}")
    page.get_by_label("Số điện thoại").fill("0251 3822 111")
    page.get_by_role("button", name="Lưu").click()
    # then it is created, selected, and shown in the tree under Sở Y tế
    expect(notice(page)).to_have_text("Đã tạo đơn vị.")
    details = page.get_by_test_id("unit-details")
    expect(details.get_by_role("heading")).to_have_text(f"Phòng Thử nghiệm {tag}")
    expect(details).to_contain_text("Sở Y tế")
    expect(details).to_contain_text("02513822111")
    node = unit_tree(page).get_by_role("link", name=re.compile(f"^Phòng Thử nghiệm {tag}"))
    expect(node).to_be_visible()
    expect(node).to_have_attribute("aria-current", "true")

    # when they rename it
    details.get_by_role("link", name=re.compile("^Sửa")).click()
    expect(page.get_by_label("Tên đơn vị")).to_have_value(f"Phòng Thử nghiệm {tag}")
    page.get_by_label("Tên đơn vị").fill(f"Phòng Kiểm nghiệm {tag}")
    page.get_by_role("button", name="Lưu").click()
    # then the tree shows the new name
    expect(notice(page)).to_have_text("Đã lưu đơn vị.")
    expect(unit_tree(page).get_by_role("link", name=re.compile(f"^Phòng Kiểm nghiệm {tag}"))).to_be_visible()


def test_an_organization_manages_permission_groups_and_gets_a_manager_among_its_users(admin: Page, live_server: str) -> None:
    page = admin
    tag = unique()
    # given a permission group of its own and a new organization with one user
    with httpx.Client(base_url=live_server, timeout=30) as api:
        token = api.post("/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD}).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        group = api.post("/api/v1/groups", headers=bearer, json={"code": f"NQ{tag}", "name": f"Nhóm thử {tag}"})
        assert group.status_code == 201, group.text
        create_unit(page, f"TC.{tag}", f"Tổ chức thử {tag}")
        unit_id = int(page.url.split("unit=")[1].split("&")[0])
        user = api.post("/api/v1/users", headers=bearer, json={
            "username": f"ld.{tag.lower()}", "password": "Lanh-Dao-2026!", "full_name": f"Lãnh Đạo {tag}", "unit_id": unit_id})
        assert user.status_code == 201, user.text
    # when the admin edits the organization: its manager and the group it manages
    page.get_by_test_id("unit-details").get_by_role("link", name=re.compile("^Sửa")).click()
    choose(page.get_by_role("combobox", name=re.compile("^Lãnh đạo đơn vị")), f"Lãnh Đạo {tag}")
    page.get_by_role("checkbox", name=re.compile(f"^Nhóm thử {tag}")).check()
    page.get_by_role("button", name="Lưu").click()
    # then the unit shows both
    expect(notice(page)).to_have_text("Đã lưu đơn vị.")
    details = page.get_by_test_id("unit-details")
    expect(details).to_contain_text(f"Lãnh Đạo {tag}")
    expect(details).to_contain_text(f"Nhóm thử {tag} (NQ{tag})")
    # and unticking the group leaves it without a managing unit
    details.get_by_role("link", name=re.compile("^Sửa")).click()
    page.get_by_role("checkbox", name=re.compile(f"^Nhóm thử {tag}")).uncheck()
    page.get_by_role("button", name="Lưu").click()
    expect(notice(page)).to_have_text("Đã lưu đơn vị.")
    expect(page.get_by_test_id("unit-details")).not_to_contain_text(f"Nhóm thử {tag}")


def test_a_taken_unit_code_is_explained_next_to_the_code_field(admin: Page) -> None:
    page = admin
    page.goto("/admin/units/new")
    page.get_by_label("Mã đơn vị").fill("SXD")
    page.get_by_label("Tên đơn vị").fill("Sở trùng mã")
    with page.expect_response(lambda r: r.url.endswith("/admin/units/new") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Lưu").click()
    assert answer.value.status == 409
    code = page.get_by_label("Mã đơn vị")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-code-error")).to_have_text("Mã đơn vị đã tồn tại.")
    expect(code).to_be_focused()  # app.js puts the cursor on the first invalid field
    expect(page.get_by_label("Tên đơn vị")).to_have_value("Sở trùng mã")
    # and a blank name is required, in Vietnamese, next to its field
    page.get_by_label("Tên đơn vị").fill("")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#f-name-error")).to_have_text(REQUIRED)
    assert_accessible(page)


def test_a_unit_with_sub_units_cannot_be_deleted_until_they_are_gone(admin: Page) -> None:
    page = admin
    tag = unique()
    create_unit(page, f"CHA.{tag}", f"Đơn vị cha {tag}")
    create_unit(page, f"CON.{tag}", f"Đơn vị con {tag}", parent=f"Đơn vị cha {tag}")
    parent_node = unit_tree(page).get_by_role("link", name=re.compile(f"^Đơn vị cha {tag}"))
    # when the admin deletes the parent (confirming in the dialog)
    parent_node.click()
    page.get_by_role("link", name=re.compile("^Xóa")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Xóa đơn vị Đơn vị cha {tag}?")
    assert_accessible(page)
    dialog.get_by_role("button", name="Xóa", exact=True).click()
    # then it is refused with the reason, and the unit is still there
    expect(page.get_by_role("alert")).to_have_text(
        f"Chưa xóa Đơn vị cha {tag}: Hãy xóa hoặc chuyển các đơn vị trực thuộc trước.")
    expect(parent_node).to_be_visible()

    # when they deactivate the child, then it is marked inactive and can be made active again
    unit_tree(page).get_by_role("link", name=re.compile(f"^Đơn vị con {tag}")).click()
    confirm_in_dialog(page, page.get_by_role("link", name="Ngừng hoạt động", exact=True), "Ngừng hoạt động")
    expect(notice(page)).to_contain_text("Đã ngừng hoạt động đơn vị")
    expect(page.get_by_test_id("unit-details").get_by_role("heading")).to_contain_text("Ngừng hoạt động")
    page.get_by_role("button", name="Hoạt động trở lại").click()
    expect(notice(page)).to_have_text("Đơn vị đã hoạt động trở lại.")

    # when they delete the child, then the parent can be deleted too
    confirm_in_dialog(page, page.get_by_role("link", name=re.compile("^Xóa")), "Xóa")
    expect(notice(page)).to_have_text("Đã xóa đơn vị.")
    expect(unit_tree(page).get_by_role("link", name=re.compile(f"^Đơn vị con {tag}"))).to_have_count(0)
    confirm_in_dialog(page, page.get_by_role("link", name=re.compile("^Xóa")), "Xóa")
    expect(notice(page)).to_have_text("Đã xóa đơn vị.")
    expect(parent_node).to_have_count(0)


def test_a_unit_with_users_cannot_be_deleted_and_without_script_the_confirmation_is_a_page(admin: Page) -> None:
    page = admin
    page.goto("/admin/units")
    unit_tree(page).get_by_role("link", name=re.compile("^Trung tâm Tổng đài 1022")).click()
    expect(page).to_have_url(re.compile(r"unit=\d+$"))
    unit_id = page.url.rsplit("=", 1)[1]
    page.goto(f"/admin/units/{unit_id}/delete")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xóa đơn vị Trung tâm Tổng đài 1022?")
    assert_accessible(page)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Xóa", exact=True).click()
    assert answer.value.status == 409
    expect(page.get_by_role("alert")).to_have_text("Chưa xóa Trung tâm Tổng đài 1022: Đơn vị vẫn đang được dữ liệu khác "
                                                   "sử dụng; hãy ngừng sử dụng thay vì xóa.")


def test_the_unit_tree_opens_with_the_keyboard(admin: Page) -> None:
    page = admin
    page.goto("/admin/units")
    tree = unit_tree(page)
    child = tree.get_by_role("link", name=re.compile("^Phòng Quản lý giao thông"))
    expect(child).to_be_hidden()
    # when the admin puts the cursor on Sở Xây dựng and presses the right arrow
    tree.get_by_role("link", name=re.compile("^Sở Xây dựng")).focus()
    page.keyboard.press("ArrowRight")
    # then its sub-unit shows and the toggle says it is open; another right arrow enters it
    expect(child).to_be_visible()
    expect(tree.get_by_role("button", name="Các mục trực thuộc Sở Xây dựng")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowRight")
    expect(child).to_be_focused()
    # left goes back to the parent, a second left closes it
    page.keyboard.press("ArrowLeft")
    expect(tree.get_by_role("link", name=re.compile("^Sở Xây dựng"))).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(child).to_be_hidden()
    # and the disclosure button works with Enter too
    toggle = tree.get_by_role("button", name="Các mục trực thuộc Sở Xây dựng")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(child).to_be_visible()


# ---- areas ----

def test_admin_creates_finds_edits_and_deletes_an_area_with_its_national_code(admin: Page) -> None:
    page = admin
    tag = unique()
    code = str(90000 + int(tag, 16) % 9999)
    # given the areas screen on the map in force
    page.goto("/admin/areas")
    expect(page.get_by_role("heading", level=1)).to_have_text("Khu vực")
    expect(page.get_by_role("link", name="Hai cấp (từ 01/7/2025) (đang áp dụng)")).to_have_attribute("aria-current", "page")
    expect(area_tree(page).get_by_role("link", name=re.compile("^Tỉnh Đồng Nai"))).to_be_visible()
    assert_accessible(page)
    # when they add a commune under the province with its national code
    page.get_by_role("link", name="Thêm khu vực").click()
    page.get_by_label("Tên khu vực").fill(f"Xã Thử Nghiệm {tag}")
    page.get_by_label("Mã hành chính").fill(code)
    page.get_by_label("Loại khu vực").fill("Xã")
    page.get_by_label("Cấp").select_option("commune")
    choose(page.get_by_label("Trực thuộc"), "Tỉnh Đồng Nai")
    assert_accessible(page)
    page.get_by_role("button", name="Lưu").click()
    # then it is in the table under the province
    expect(notice(page)).to_have_text("Đã tạo khu vực.")
    row = page.get_by_role("row").filter(has_text=f"Xã Thử Nghiệm {tag}")
    expect(row).to_contain_text(code)
    expect(row).to_contain_text("Xã, phường")

    # when they search all the areas of the map by its name, the table finds it
    page.get_by_role("link", name="Xem tất cả khu vực trên bản đồ này").click()
    page.get_by_label("Tìm khu vực theo tên hoặc mã hành chính").fill(f"thử nghiệm {tag.lower()}")
    expect(page.get_by_role("row").filter(has_text=f"Xã Thử Nghiệm {tag}")).to_contain_text("Tỉnh Đồng Nai")
    expect(page.locator("#area-results tbody tr")).to_have_count(1)
    # and by its code
    page.get_by_label("Tìm khu vực theo tên hoặc mã hành chính").fill(code)
    expect(page.locator("#area-results tbody tr")).to_have_count(1)

    # when they edit its name and code
    page.get_by_role("link", name=f"Sửa Xã Thử Nghiệm {tag}").click()
    page.get_by_label("Tên khu vực").fill(f"Xã Thử Nghiệm Mới {tag}")
    page.get_by_role("button", name="Lưu").click()
    expect(notice(page)).to_have_text("Đã lưu khu vực.")
    expect(page.get_by_role("row").filter(has_text=f"Xã Thử Nghiệm Mới {tag}")).to_contain_text(code)

    # when they delete it, confirming in the dialog
    confirm_in_dialog(page, page.get_by_role("link", name=f"Xóa Xã Thử Nghiệm Mới {tag}"), "Xóa")
    expect(notice(page)).to_have_text("Đã xóa khu vực.")
    page.get_by_label("Tìm khu vực theo tên hoặc mã hành chính").fill(code)
    expect(page.get_by_text("Không có khu vực nào phù hợp với điều kiện tìm kiếm.")).to_be_visible()


def test_a_taken_area_code_is_explained_next_to_the_code_field(admin: Page) -> None:
    page = admin
    page.goto("/admin/areas/new")
    page.get_by_label("Tên khu vực").fill("Xã Trùng Mã")
    page.get_by_label("Mã hành chính").fill("75")
    page.get_by_label("Cấp").select_option("commune")
    choose(page.get_by_label("Trực thuộc"), "Tỉnh Đồng Nai")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#f-code-error")).to_have_text("mã 75 đã được dùng cho Tỉnh Đồng Nai")
    expect(page.get_by_label("Mã hành chính")).to_have_attribute("aria-invalid", "true")
    # and a commune needs a province above it
    choose(page.get_by_label("Trực thuộc"), "— không có")
    page.get_by_label("Mã hành chính").fill("99998")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#f-parent_id-error")).to_have_text("quận/huyện hoặc xã/phường phải thuộc một khu vực cấp trên")


def test_an_area_a_unit_works_in_cannot_be_deleted(admin: Page) -> None:
    page = admin
    page.goto("/admin/areas?q=Trấn Biên")
    row = page.get_by_role("row").filter(has_text="Phường Trấn Biên")
    confirm_in_dialog(page, row.get_by_role("link", name=re.compile("^Xóa")), "Xóa")
    expect(page.get_by_role("alert")).to_have_text(
        "Chưa xóa Phường Trấn Biên: Khu vực vẫn đang được dữ liệu khác sử dụng; hãy ngừng sử dụng thay vì xóa.")
    expect(page.get_by_role("row").filter(has_text="Phường Trấn Biên")).to_have_count(1)


def test_the_area_tree_loads_a_province_s_communes_when_opened_with_the_keyboard(admin: Page) -> None:
    page = admin
    page.goto("/admin/areas")
    tree = area_tree(page)
    commune = tree.get_by_role("link", name=re.compile("^Phường Trấn Biên"))
    expect(commune).to_have_count(0)  # not loaded before the province opens
    tree.get_by_role("link", name=re.compile("^Tỉnh Đồng Nai")).focus()
    page.keyboard.press("ArrowRight")
    expect(commune).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(tree.locator("[data-tree-link]").nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(tree.locator("[data-tree-link]").last).to_be_focused()
    assert_accessible(page)


def test_the_legacy_map_can_be_looked_at(admin: Page) -> None:
    page = admin
    page.goto("/admin/areas")
    page.get_by_role("link", name=re.compile("^Ba cấp")).click()
    expect(page.get_by_role("link", name=re.compile("^Ba cấp"))).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Bản đồ này không phải bản đồ đang áp dụng")).to_be_visible()
    expect(page.get_by_label("Cấp").locator("option")).to_have_count(4)  # all, province, district, commune


def test_a_province_can_be_added_to_the_legacy_map_without_touching_the_one_in_force(admin: Page) -> None:
    page = admin
    tag = unique()
    code = f"L{tag}"
    # given the legacy map (not seeded here), when the admin adds a province to it
    page.goto("/admin/areas?scheme=legacy")
    page.get_by_role("link", name="Thêm khu vực").click()
    expect(page.get_by_text("Ba cấp (trước 01/7/2025)")).to_be_visible()
    expect(page.get_by_label("Cấp")).to_have_value("province")
    page.get_by_label("Tên khu vực").fill(f"Tỉnh Cũ {tag}")
    page.get_by_label("Mã hành chính").fill(code)
    page.get_by_role("button", name="Lưu").click()
    # then it is on the legacy map's tree, and a district can go under it
    expect(notice(page)).to_have_text("Đã tạo khu vực.")
    province = area_tree(page).get_by_role("link", name=re.compile(f"^Tỉnh Cũ {tag}"))
    expect(province).to_be_visible()
    province.click()
    page.get_by_role("link", name="Thêm khu vực").click()
    expect(page.get_by_label("Cấp")).to_have_value("district")
    page.get_by_label("Tên khu vực").fill(f"Huyện Cũ {tag}")
    page.get_by_label("Mã hành chính").fill(f"{code}1")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("row").filter(has_text=f"Huyện Cũ {tag}")).to_contain_text("Quận, huyện")
    # and the map in force does not have them
    page.goto(f"/admin/areas?scheme=2025&q={code}")
    expect(page.locator("#area-results tbody tr")).to_have_count(0)
    # clean up: the district, then the province
    page.goto(f"/admin/areas?scheme=legacy&q={code}1")
    confirm_in_dialog(page, page.get_by_role("link", name=f"Xóa Huyện Cũ {tag}"), "Xóa")
    expect(notice(page)).to_have_text("Đã xóa khu vực.")
    page.goto(f"/admin/areas?scheme=legacy&q={code}")
    confirm_in_dialog(page, page.get_by_role("link", name=f"Xóa Tỉnh Cũ {tag}"), "Xóa")
    expect(notice(page)).to_have_text("Đã xóa khu vực.")


# ---- refusals and plain HTTP ----

@pytest.mark.parametrize("path", ["/admin/units", "/admin/areas", "/admin/units/new", "/admin/areas/new"])
def test_people_without_the_role_are_refused_in_vietnamese(page: Page, path: str) -> None:
    sign_in(page, "dieuphoi")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    with page.expect_response(lambda r: r.url.endswith(path)) as answer:
        page.goto(path)
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Lỗi 403")
    expect(page.get_by_role("alert")).to_have_text("Bạn không có quyền thực hiện thao tác này.")


def _signed_in(live_server: str, username: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=live_server, follow_redirects=False, timeout=30, headers={"Accept-Language": "vi"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)  # type: ignore[union-attr]
    assert http.post("/login", data={"csrf_token": token, "username": username, "password": DEMO_PASSWORD}).status_code == 303
    return http, token


@pytest.fixture
def admin_http(live_server: str) -> Iterator[tuple[httpx.Client, str]]:
    http, token = _signed_in(live_server, "admin")
    yield http, token
    http.close()


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/admin/units/new", {}, 422),
    ("/admin/units/new", {"code": "có dấu", "name": "X", "kind": "planet", "parent_id": "abc", "phone": "12"}, 422),
    ("/admin/units/new", {"code": "X1", "name": "X", "kind": "department", "parent_id": "2147483647"}, 422),
    ("/admin/units/new", {"code": "X2", "name": "X\x01", "kind": "department", "manager_id": "99999999999"}, 422),
    ("/admin/units/2147483647/edit", {"code": "X", "name": "X", "kind": "department"}, 404),
    ("/admin/units/2147483647/delete", {}, 404),
    ("/admin/areas/new", {}, 422),
    ("/admin/areas/new", {"code": "7/5", "name": "X", "level": "planet", "parent_id": "-1", "scheme": "x"}, 422),
    ("/admin/areas/new", {"code": "99997", "name": "X", "level": "district", "scheme": "legacy", "parent_id": "2147483647"}, 422),
    ("/admin/areas/2147483647/edit", {"code": "1", "name": "X"}, 404),
    ("/admin/areas/2147483647/delete", {}, 404),
])
def test_bad_posts_are_refused_with_a_4xx_page(admin_http: tuple[httpx.Client, str], path: str, body: dict, status: int) -> None:
    http, token = admin_http
    answer = http.post(path, data={"csrf_token": token, **body})
    assert answer.status_code == status, answer.text[:500]
    assert "text/html" in answer.headers["content-type"]


def test_odd_query_strings_still_show_the_page(admin_http: tuple[httpx.Client, str]) -> None:
    http, _token = admin_http
    for path in ("/admin/units?unit=abc&q=" + "x" * 300, "/admin/areas?scheme=1990&page=-3&parent=x&level=planet",
                 "/admin/areas?page=99999"):
        assert http.get(path).status_code == 200, path
    assert http.get("/admin/units?unit=2147483647").status_code == 404


def test_a_post_without_the_role_or_the_csrf_token_is_refused(live_server: str, admin_http: tuple[httpx.Client, str]) -> None:
    http, token = _signed_in(live_server, "dieuphoi")
    answer = http.post("/admin/units/new", data={"csrf_token": token, "code": "NO", "name": "No", "kind": "department"})
    http.close()
    assert answer.status_code == 403
    admin, _token = admin_http
    assert admin.post("/admin/areas/new", data={"code": "1", "name": "X", "level": "province"}).status_code == 403
