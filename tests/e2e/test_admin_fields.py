"""The fields administration (/admin/fields, CRM-20…25, PERM-11) in a real browser: tree and
table with search, a field created (a wrong SLA first: the Vietnamese message beside it), its SLA
changed and audited, a parent deleted only after two confirmations, a field added back from the
default catalogue, a CSV import with one bad row (progress bar, report, new fields), a
non-administrator refused, and axe-core on each screen.

This module serves the app on a database of its own: it deletes seeded fields, which the
other browser tests' shared database must keep."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from cli.asgi import create_full_app
from core.services.seed import DEMO_PASSWORD
from core.settings import Settings
from tests.e2e.axe import assert_accessible
from tests.e2e.test_ui_shell import sign_in
from tests.support import database_copy, serve_in_thread


@pytest.fixture(scope="module")
def fields_server(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database_copy(template_url, "e2e_fields") as url:
        settings = Settings(database_url=url, env="test", data_dir=tmp_path_factory.mktemp("fields-data"),
                            temporal_address=None, log_json=False, log_level="WARNING")
        with serve_in_thread(create_full_app(settings)) as base:
            yield base


@pytest.fixture()
def admin_page(browser: Browser, fields_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=fields_server, locale="vi-VN", viewport={"width": 1366, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    try:
        sign_in(page, "admin")
        expect(page.get_by_test_id("user-name")).to_be_visible()
        yield page
    finally:
        context.close()


def api(base: str, username: str = "admin") -> httpx.Client:
    token = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}).json()
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"


def test_the_screen_shows_the_tree_and_the_table_and_finds_fields(admin_page: Page, artifacts: Path) -> None:
    page = admin_page
    # given the admin, when they open Lĩnh vực from the menu
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Lĩnh vực").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lĩnh vực")
    # then the tree lists the top-level fields and the table every field with its SLA and clock
    tree = page.get_by_role("region", name="Cây lĩnh vực")
    expect(tree.get_by_role("link", name="Giao thông GT", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Danh sách lĩnh vực theo thứ tự cây")
    expect(table.locator("tr[data-code='GT'] td").nth(4)).to_have_text("72")
    expect(table.locator("tr[data-code='GT.VIPHAM'] td").nth(4)).to_contain_text("72 (theo lĩnh vực cha)")
    assert_accessible(page)

    # when they search without diacritics, the table narrows (htmx) and the address keeps the search
    page.get_by_label("Mã hoặc tên").fill("den tin hieu")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr").first).to_have_attribute("data-code", "GT.DEN")
    expect(page).to_have_url(re.compile(r"q=den(\+|%20)tin(\+|%20)hieu"))

    # when they open a top-level field in the tree, the table shows it and its children
    page.goto("/admin/fields")
    tree.get_by_role("link", name="Môi trường MT", exact=True).click()
    expect(page.get_by_text("Thuộc Môi trường:")).to_be_visible()
    expect(tree.get_by_role("link", name="Môi trường MT", exact=True)).to_have_attribute("aria-current", "true")
    expect(tree.get_by_role("link", name="Rác thải, vệ sinh môi trường MT.RAC")).to_be_visible()  # its branch open
    page.screenshot(path=str(artifacts / "admin-fields.png"), full_page=False)
    codes = page.locator("#fields-results tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes[0] == "MT" and all(c.startswith("MT.") for c in codes[1:]) and len(codes) > 1


def test_a_field_with_an_invalid_sla_is_refused_beside_the_field_then_created_and_its_sla_audited(
        admin_page: Page, fields_server: str) -> None:
    page, code = admin_page, unique("CN")
    page.goto("/admin/fields")
    page.get_by_role("link", name="Thêm lĩnh vực", exact=True).click()
    assert_accessible(page)
    # given a child field under Môi trường with 9000 hours
    page.get_by_label("Lĩnh vực con (thuộc một lĩnh vực cha)").check()
    page.get_by_label("Lĩnh vực cha", exact=True).select_option(label="Môi trường (MT)")
    page.get_by_label("Tên", exact=True).fill("Cây xanh đô thị")
    page.get_by_label("Mã lĩnh vực", exact=True).fill(code)
    page.get_by_label("Thời hạn xử lý (giờ)", exact=True).fill("9000")
    page.get_by_role("button", name="Lưu").click()
    # then the form comes back with the Vietnamese message beside the SLA and the values kept
    sla = page.get_by_label("Thời hạn xử lý (giờ)", exact=True)
    expect(sla).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-sla_hours-error")).to_have_text("Thời hạn xử lý phải là số giờ nguyên từ 1 đến 8760 (một năm).")
    expect(page.get_by_label("Tên", exact=True)).to_have_value("Cây xanh đô thị")
    assert_accessible(page)

    # when the SLA is fixed, office hours ticked and an icon picked with the keyboard
    sla.fill("48")
    page.get_by_label("Chỉ tính giờ hành chính (không tính ban đêm, ngày nghỉ, ngày lễ)").check()
    page.get_by_label("Không có biểu tượng").focus()
    page.keyboard.press("ArrowRight")  # the next icon of the radio group
    page.get_by_role("button", name="Lưu").click()
    # then the list says so and shows the field under its parent with its SLA and clock
    expect(page.get_by_role("status").first).to_have_text(f"Đã tạo lĩnh vực {code}.")
    row = page.locator(f"tr[data-code='{code}']")
    expect(row.locator("td").nth(3)).to_have_text("Môi trường")
    expect(row.locator("td").nth(4)).to_have_text("48")
    expect(row.locator("td").nth(5)).to_have_text("Giờ hành chính")
    expect(row.locator("svg use")).to_have_attribute("href", re.compile(r"fields\.svg#stoplights$"))

    # when the SLA is changed in the edit dialog (PERM-11's popup)
    row.get_by_role("link", name=re.compile("^Sửa")).click()
    dialog = page.get_by_role("dialog", name="Sửa lĩnh vực")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Khu vực", exact=True)).to_be_focused()
    expect(dialog.get_by_label("Tên", exact=True)).to_have_value("Cây xanh đô thị")
    assert_accessible(page)
    dialog.get_by_label("Thời hạn xử lý (giờ)", exact=True).fill("24")
    dialog.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status").first).to_have_text(f"Đã lưu lĩnh vực {code}.")
    # then the audit log has the SLA change with the hours before and after
    with api(fields_server) as client:
        field_id = next(f["id"] for f in client.get("/api/v1/fields").json() if f["code"] == code)
        log = client.get("/api/v1/audit", params={"entity": "ticket_field", "entity_id": str(field_id)}).json()
    change = next(e for e in log["items"] if e["action"] == "sla.update")
    assert (change["before"]["sla_hours"], change["after"]["sla_hours"]) == (48, 24)


def test_deleting_a_parent_asks_twice(admin_page: Page, fields_server: str) -> None:
    page, parent_code = admin_page, unique("XOA")
    with api(fields_server) as client:
        parent = client.post("/api/v1/fields", json={"code": parent_code, "name": "Lĩnh vực sẽ xóa"}).json()
        for n in (1, 2):
            client.post("/api/v1/fields", json={"code": f"{parent_code}.{n}", "name": f"Con {n}", "parent_id": parent["id"]})
    page.goto(f"/admin/fields?q={parent_code}")
    page.locator(f"tr[data-code='{parent_code}']").get_by_role("link", name=re.compile("^Xóa")).click()
    # first confirmation: it says a second one will follow
    expect(page.get_by_role("heading", name="Xóa lĩnh vực này?")).to_be_visible()
    expect(page.get_by_text("hệ thống sẽ hỏi lại lần nữa")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Xóa", exact=True).click()
    # second confirmation: names the children; nothing is deleted yet
    expect(page.get_by_role("heading", name="Xác nhận lần hai: xóa cả các lĩnh vực con?")).to_be_visible()
    expect(page.get_by_test_id("descendants").locator("li")).to_have_count(2)
    with api(fields_server) as client:
        assert any(f["code"] == parent_code for f in client.get("/api/v1/fields").json())
    assert_accessible(page)
    page.get_by_role("button", name="Xóa Lĩnh vực sẽ xóa và 2 lĩnh vực con").click()
    expect(page.get_by_role("status").first).to_have_text(
        f"Đã xóa lĩnh vực {parent_code} cùng các lĩnh vực con (tổng cộng 3 lĩnh vực).")
    with api(fields_server) as client:
        assert not [f for f in client.get("/api/v1/fields").json() if f["code"].startswith(parent_code)]


def test_a_field_is_added_back_from_the_default_catalogue(admin_page: Page, fields_server: str) -> None:
    page = admin_page
    with api(fields_server) as client:  # given a catalogue field this system no longer has
        field = next(f for f in client.get("/api/v1/fields").json() if f["code"] == "KHAC.KHENNGOI")
        assert client.delete(f"/api/v1/fields/{field['id']}").status_code == 204
    page.goto("/admin/fields")
    page.get_by_role("link", name="Thêm từ danh mục mặc định").click()
    expect(page.get_by_text("Trong đó 1 lĩnh vực chưa có trong hệ thống.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Thêm các lĩnh vực đã chọn").click()  # nothing ticked
    expect(page.locator("#f-code-error")).to_have_text("Hãy chọn ít nhất một lĩnh vực trong danh mục.")
    page.get_by_label(re.compile("Khen ngợi")).check()
    page.get_by_role("button", name="Thêm các lĩnh vực đã chọn").click()
    expect(page.get_by_role("status").first).to_have_text("Đã thêm 1 lĩnh vực từ danh mục mặc định.")
    expect(page.locator("tr[data-code='KHAC.KHENNGOI'] td").nth(3)).to_have_text("Khác")


def test_a_csv_import_with_one_bad_row_shows_progress_report_and_new_fields(admin_page: Page, artifacts: Path) -> None:
    page, code = admin_page, unique("NUOC")
    csv_text = ("code;name;parent_code;description;icon;sla_hours\n"
                f"{code}.MAT;Mất nước;{code};Mất nước kéo dài;droplet-half;24\n"  # the child first: parents go first anyway
                f"{code};Cấp nước;;Cấp nước sinh hoạt;droplet;72\n"
                f"{code}.DUC;Nước đục;{code};;water;99999\n")
    page.goto("/admin/fields")
    page.get_by_role("link", name="Nhập từ tệp CSV").click()
    expect(page.get_by_role("link", name="Tải tệp mẫu")).to_be_visible()
    assert_accessible(page)
    # given an Excel-style file (BOM, semicolons) with one bad row
    page.get_by_label("Tệp CSV").set_input_files(
        {"name": "linh-vuc.csv", "mimeType": "text/csv", "buffer": ("\ufeff" + csv_text).encode("utf-8")})
    page.get_by_role("button", name="Nhập từ tệp", exact=True).click()
    # then the job page shows the progress bar, filled when done, and the completion notice
    progress = page.get_by_label("Tiến độ nhập")
    expect(progress).to_be_visible()
    expect(page.get_by_test_id("import-done")).to_have_text(
        "Đã nhập xong: 2 lĩnh vực mới, 0 lĩnh vực được cập nhật, 1 dòng bị từ chối.", timeout=30_000)
    expect(progress).to_have_attribute("value", "100")
    # and the report names the bad row (the header is row 1) with its Vietnamese reason
    report = page.get_by_role("table", name="Các dòng trong tệp không được nhập và lý do")
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody td").nth(0)).to_have_text("4")
    expect(report.locator("tbody td").nth(1)).to_have_text("Thời hạn xử lý phải là số giờ nguyên từ 1 đến 8760 (một năm).")
    imported = page.get_by_role("table", name="Các lĩnh vực được tạo mới hoặc cập nhật trong lần nhập này")
    expect(imported.locator("tbody tr")).to_have_count(2)
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "admin-fields-import.png"), full_page=True)
    # when they press OK, the list marks the new fields
    page.get_by_role("link", name="Đồng ý").click()
    expect(page.locator(f"tr[data-code='{code}'] .badge")).to_have_text("mới")
    expect(page.locator(f"tr[data-code='{code}.MAT'] td").nth(3)).to_have_text("Cấp nước")


def test_a_file_that_is_not_csv_is_refused_beside_the_file_input(admin_page: Page) -> None:
    page = admin_page
    page.goto("/admin/fields/import")
    page.get_by_label("Tệp CSV").set_input_files(
        {"name": "linh-vuc.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04" + bytes(64)})
    page.get_by_role("button", name="Nhập từ tệp", exact=True).click()
    expect(page.locator("#f-file-error")).to_have_text(
        "Đây là tệp Excel, không phải tệp CSV: trong Excel hãy chọn Lưu thành, CSV UTF-8.")


def test_a_coordinator_is_refused(browser: Browser, fields_server: str) -> None:
    context = browser.new_context(base_url=fields_server, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, "dieuphoi")
        expect(page.get_by_test_id("user-name")).to_be_visible()
        expect(page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Lĩnh vực")).to_have_count(0)
        for path in ("/admin/fields", "/admin/fields/new", "/admin/fields/import"):
            response = page.goto(path)
            assert response is not None and response.status == 403
            expect(page.get_by_text("Bạn không có quyền thực hiện thao tác này.")).to_be_visible()
    finally:
        context.close()


def test_bad_posts_get_4xx_pages_never_500(fields_server: str) -> None:
    with httpx.Client(base_url=fields_server, follow_redirects=False, timeout=10) as http:
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)  # type: ignore[union-attr]
        assert http.post("/login", data={"csrf_token": token, "username": "admin", "password": DEMO_PASSWORD}).status_code == 303
        form = {"csrf_token": token, "level": "child", "name": "x", "code": "bad code!", "sla_hours": "abc",
                "parent_id": "99999999999", "area_id": "-1", "icon": "../../etc"}
        answer = http.post("/admin/fields/new", data=form)
        assert answer.status_code == 422 and "Thời hạn xử lý phải là số giờ nguyên" in answer.text
        assert http.post("/admin/fields/new", data={"name": "x"}).status_code == 403  # no CSRF token
        assert http.post("/admin/fields/abc/edit", data={"csrf_token": token}).status_code == 404
        edit_page = http.get("/admin/fields/1/edit")  # without script: the edit form as a page of its own
        assert edit_page.status_code == 200 and "<h1>Sửa lĩnh vực Giao thông</h1>" in edit_page.text
        assert http.post("/admin/fields/1/edit", data={"csrf_token": token, "name": "", "sla_hours": "0"}).status_code == 422
        assert http.post("/admin/fields/2147483647/delete", data={"csrf_token": token}).status_code == 404
        assert http.post("/admin/fields/catalogue", data={"csrf_token": token, "code": "NOPE"}).status_code == 422
        assert http.post("/admin/fields/import", data={"csrf_token": token}).status_code == 422  # no file
        big = {"file": ("big.csv", b"code,name\n" + b"A,b\n" * 200_000, "text/csv")}
        too_large = http.post("/admin/fields/import", data={"csrf_token": token}, files=big)
        assert too_large.status_code == 413 and "Tệp quá lớn" in too_large.text
        assert http.get("/admin/fields/import/no-such-job").status_code == 404
        sample = http.get("/admin/fields/import/sample.csv")
        assert sample.status_code == 200 and sample.content.startswith(b"\xef\xbb\xbfcode,name,parent_code")
