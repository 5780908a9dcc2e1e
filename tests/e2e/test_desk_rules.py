"""Auto-dispatch rules (CRM-37) in a real browser: a coordinator adds a rule (the form first
refuses it with the message beside the field picker), switches it off and on in place with the
keyboard, and the administrator finds both changes with before/after in the system log; editing
and deleting after a confirmation dialog; an inspector reads the rules without any control to
change them and a POST of theirs is refused; an officer is refused the page; bad posts are 4xx.

Rules are created with names of their own in the shared browser database; none is left active
that another test could meet (the browser database has no engine that would dispatch)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
from playwright.sync_api import Locator, Page, expect
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from cli.tasks import in_transaction
from core.models import Area, OrgUnit, TicketField
from core.models.org import OrgUnitKind
from core.models.tickets import AutoDispatchRuleCreate
from core.services import dispatch_rules
from core.services.actor import system_actor
from core.services.seed import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible
from tests.e2e.test_ui_shell import main_menu

RULES = "/desk/dispatch-rules"
FORBIDDEN = "Bạn không có quyền thực hiện thao tác này."


def run(database_url: str, work) -> object:  # noqa: ANN001
    with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run beside Playwright's loop in this thread
        return pool.submit(in_transaction, database_url, work).result()


async def _ids(session: AsyncSession, field_code: str, area_name: str, unit_code: str) -> tuple[int, int, int]:
    field = (await session.exec(select(TicketField).where(TicketField.code == field_code))).one()
    area = (await session.exec(select(Area).where(Area.name == area_name))).one()
    unit = (await session.exec(select(OrgUnit).where(OrgUnit.code == unit_code))).one()
    return field.id, area.id, unit.id  # type: ignore[return-value]


def make_rule(database_url: str, name: str, active: bool = False, field_code: str = "MT.ON",
              priority: int | None = None) -> int:
    async def create(session: AsyncSession) -> int:
        field_id, area_id, unit_id = await _ids(session, field_code, "Phường Long Bình", "P.LONGBINH")
        rule = await dispatch_rules.create_rule(session, system_actor(), AutoDispatchRuleCreate(
            name=name, field_ids=[field_id], area_id=area_id, unit_id=unit_id, active=active,
            priority=priority if priority is not None else 5_000 + uuid.uuid4().int % 5_000))
        return rule.id

    return run(database_url, create)  # type: ignore[return-value]


def rule_row(page: Page, name: str) -> Locator:
    return page.get_by_test_id("rule-row").filter(has=page.get_by_role("rowheader", name=name, exact=True))


def choose(select_box: Locator, text: str) -> None:
    """Pickers indent tree levels with spaces: find the option by its text, choose its value."""
    value = select_box.locator("option", has_text=text).first.get_attribute("value")
    assert value, text
    select_box.select_option(value=value)


@contextmanager
def signed_in_client(base: str, username: str) -> Iterator[tuple[httpx.Client, str]]:
    """A plain HTTP client signed in as `username`, and its form token."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30, headers={"Accept-Language": "vi"}) as http:
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)  # type: ignore[union-attr]
        answer = http.post("/login", data={"csrf_token": token, "username": username, "password": DEMO_PASSWORD})
        assert answer.status_code == 303, answer.text
        yield http, token


# ---- the coordinator's story, seen in the system log ----

def test_coordinator_adds_a_rule_switches_it_off_and_on_and_the_log_shows_it(person) -> None:
    name = f"Đèn tín hiệu Trấn Biên {uuid.uuid4().hex[:6]}"
    desk = person("dieuphoi")
    # given the desk's menu entry
    main_menu(desk).get_by_role("link", name="Tự động điều phối").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Tự động điều phối")
    expect(desk.get_by_text("Mỗi quy tắc chuyển thẳng phản ánh mới có lĩnh vực và khu vực khớp")).to_be_visible()
    assert_accessible(desk)
    desk.get_by_role("link", name="Thêm quy tắc").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Thêm quy tắc điều phối tự động")
    # when the rule is saved with neither a field nor an area
    desk.get_by_label("Tên quy tắc").fill(name)
    choose(desk.get_by_label("Đơn vị tiếp nhận"), "Phòng Quản lý giao thông")
    with desk.expect_response(lambda r: r.request.method == "POST") as answer:
        desk.get_by_role("button", name="Lưu quy tắc").click()
    # then the form comes back with the message beside the field picker, the rest kept
    assert answer.value.status == 422
    expect(desk.locator("#f-field_ids-error")).to_have_text("Quy tắc cần ít nhất một lĩnh vực hoặc một khu vực.")
    expect(desk.get_by_role("group", name="Lĩnh vực")).to_have_attribute("aria-describedby", re.compile("f-field_ids-error"))
    expect(desk.get_by_label("Tên quy tắc")).to_have_value(name)
    expect(desk.get_by_label("Đơn vị tiếp nhận").locator("option:checked")).to_contain_text("Phòng Quản lý giao thông")
    assert_accessible(desk)
    # when the coordinator finds the field by typing without diacritics and ticks it, and picks the ward
    desk.get_by_label("Tìm lĩnh vực").fill("den tin hieu")
    expect(desk.get_by_label("Tiếng ồn", exact=True)).to_be_hidden()
    desk.get_by_label("Đèn tín hiệu, biển báo", exact=True).check()
    expect(desk.locator("[data-field-chosen]")).to_have_text("Đã chọn: Đèn tín hiệu, biển báo")
    choose(desk.get_by_label("Khu vực", exact=True), "Phường Trấn Biên")
    desk.get_by_role("button", name="Lưu quy tắc").click()
    # then the list says so and shows the rule in force
    expect(desk.get_by_role("status").filter(has_text="Đã thêm quy tắc.")).to_be_visible()
    row = rule_row(desk, name)
    expect(row).to_contain_text("Đèn tín hiệu, biển báo")
    expect(row).to_contain_text("Phường Trấn Biên")
    expect(row).to_contain_text("Phòng Quản lý giao thông")
    expect(row.get_by_test_id("rule-state")).to_have_text("Đang áp dụng")
    rule_id = (row.get_attribute("id") or "").removeprefix("rule-")
    # when it is switched off with the keyboard, in place
    row.get_by_role("button", name=f"Tắt {name}").focus()
    desk.keyboard.press("Enter")
    expect(row.get_by_test_id("rule-state")).to_have_text("Đã tắt")
    switch_on = row.get_by_role("button", name=f"Bật {name}")
    expect(switch_on).to_be_focused()  # the focus stays on the switch
    expect(desk.locator("[data-rule-live]")).to_have_text(f"Đã tắt quy tắc {name}.")
    # and on again
    desk.keyboard.press("Enter")
    expect(row.get_by_test_id("rule-state")).to_have_text("Đang áp dụng")
    expect(row.get_by_role("button", name=f"Tắt {name}")).to_be_focused()
    # and the page still shows the state after a reload (it was saved, not only drawn)
    desk.reload()
    expect(rule_row(desk, name).get_by_test_id("rule-state")).to_have_text("Đang áp dụng")
    rule_row(desk, name).get_by_role("button", name=f"Tắt {name}").click()  # leave it off for the other tests
    expect(rule_row(desk, name).get_by_test_id("rule-state")).to_have_text("Đã tắt")

    # then the administrator finds the changes of this rule in the system log
    admin = person("admin")
    main_menu(admin).get_by_role("link", name="Nhật ký hệ thống").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Nhật ký hệ thống")
    admin.get_by_label("Loại đối tượng").select_option(label="Quy tắc điều phối tự động")
    admin.get_by_label("Mã đối tượng").fill(rule_id)
    admin.get_by_role("button", name="Lọc", exact=True).click()
    rows = admin.get_by_test_id("audit-row")
    expect(rows).to_have_count(4)  # created, off, on, off: newest first
    expect(rows.nth(3)).to_contain_text("Thêm mới")
    expect(rows.nth(2)).to_contain_text("Cập nhật")
    expect(rows.nth(2)).to_contain_text("Đang sử dụng: Có → Không")
    expect(rows.nth(1)).to_contain_text("Đang sử dụng: Không → Có")
    expect(rows.nth(1)).to_contain_text("Nguyễn Thị Điều Phối")
    # when the entry that switched it on is opened
    rows.nth(1).get_by_role("link", name=re.compile("^Xem")).click()
    dialog = admin.get_by_role("dialog", name="Mục nhật ký")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("entry-action")).to_have_text("Cập nhật")
    changed = dialog.get_by_test_id("changed-line").filter(has_text="Đang sử dụng")
    expect(changed.get_by_role("cell")).to_have_text(["Không", "Có"])
    expect(changed).to_contain_text("đã thay đổi")
    expect(dialog.get_by_test_id("changed-line").filter(has_text="Tên")).to_have_count(0)  # the name did not change
    assert_accessible(admin)
    admin.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_a_rule_is_edited_then_deleted_after_a_confirmation(person, e2e_database_url: str) -> None:
    name = f"Tiếng ồn Long Bình {uuid.uuid4().hex[:6]}"
    make_rule(e2e_database_url, name)
    desk = person("dieuphoi")
    desk.goto(f"{RULES}?q={name}")
    row = rule_row(desk, name)
    # when the coordinator edits its priority
    row.get_by_role("link", name=f"Sửa {name}").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(f"Sửa quy tắc {name}")
    expect(desk.get_by_label("Tiếng ồn", exact=True)).to_be_checked()
    assert_accessible(desk)
    desk.get_by_label("Độ ưu tiên").fill("-3")
    desk.get_by_role("button", name="Lưu quy tắc").click()
    expect(desk.locator("#f-priority-error")).to_have_text("Nhập một số nguyên từ 0 đến 10.000.")
    desk.get_by_label("Độ ưu tiên").fill("4321")
    desk.get_by_role("button", name="Lưu quy tắc").click()
    expect(desk.get_by_role("status").filter(has_text="Đã lưu quy tắc.")).to_be_visible()
    desk.goto(f"{RULES}?q={name}")
    expect(rule_row(desk, name)).to_contain_text("4321")
    # when they ask to delete it and change their mind (Escape), nothing happens
    rule_row(desk, name).get_by_role("link", name=f"Xóa {name}").click()
    dialog = desk.get_by_role("dialog", name="Xóa quy tắc này?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Quy tắc {name} sẽ bị xóa")
    expect(dialog.get_by_role("button", name="Hủy")).to_be_focused()
    desk.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(rule_row(desk, name).get_by_role("link", name=f"Xóa {name}")).to_be_focused()
    # when they confirm, the rule is gone
    rule_row(desk, name).get_by_role("link", name=f"Xóa {name}").click()
    dialog.get_by_role("button", name="Xóa").click()
    expect(desk.get_by_role("status").filter(has_text="Đã xóa quy tắc.")).to_be_visible()
    expect(rule_row(desk, name)).to_have_count(0)


# ---- who may do what ----

def test_an_inspector_reads_the_rules_but_cannot_change_them(person, e2e_database_url: str) -> None:
    name = f"Kiểm tra chỉ xem {uuid.uuid4().hex[:6]}"
    rule_id = make_rule(e2e_database_url, name)
    inspector = person("kiemtra")
    inspector.goto(f"{RULES}?q={name}")
    expect(inspector.get_by_role("heading", level=1)).to_have_text("Tự động điều phối")
    row = rule_row(inspector, name)
    expect(row).to_contain_text("Tiếng ồn")
    expect(inspector.get_by_test_id("read-only")).to_be_visible()
    expect(inspector.get_by_role("link", name="Thêm quy tắc")).to_have_count(0)
    expect(row.get_by_role("button")).to_have_count(0)
    expect(row.get_by_role("link")).to_have_count(0)
    assert_accessible(inspector)
    # and a POST of theirs is refused, even with a valid form token
    token = inspector.locator("input[name=csrf_token]").first.get_attribute("value")  # the language switch's
    answer = inspector.request.post(f"{RULES}/{rule_id}/active", form={"csrf_token": token or "", "active": "1"})
    assert answer.status == 403
    assert FORBIDDEN in answer.text()
    with inspector.expect_response(lambda r: r.url.endswith(f"{RULES}/new")) as refused:
        inspector.goto(f"{RULES}/new")
    assert refused.value.status == 403


def test_an_officer_is_refused_in_vietnamese(person) -> None:
    officer = person("cv.tranbien")
    expect(main_menu(officer).get_by_role("link", name="Tự động điều phối")).to_have_count(0)
    with officer.expect_response(lambda r: r.url.endswith(RULES)) as answer:
        officer.goto(RULES)
    assert answer.value.status == 403
    expect(officer.get_by_role("heading", level=1)).to_have_text("Lỗi 403")
    expect(officer.get_by_role("alert")).to_have_text(FORBIDDEN)


# ---- plain HTTP: refusals are pages with the field's message, never a 500 ----

def test_bad_posts_are_refused_with_4xx(live_server: str, e2e_database_url: str) -> None:
    with signed_in_client(live_server, "dieuphoi") as (http, token):
        garbage = http.post(f"{RULES}/new", data={"csrf_token": token, "name": "x" * 300, "field_ids": ["abc", "1"],
                                                  "area_id": "99999999999", "unit_id": "", "priority": "ten"})
        assert garbage.status_code == 422
        for field in ("name", "field_ids", "area_id", "unit_id", "priority"):
            assert f'id="f-{field}-error"' in garbage.text, field
        assert "Trường này là bắt buộc." in garbage.text
        missing = http.post(f"{RULES}/new", data={"csrf_token": token, "name": "Không tồn tại", "field_ids": "2147483000",
                                                  "unit_id": "2147483000"})
        assert missing.status_code == 422
        assert "Không tồn tại lĩnh vực 2147483000." in missing.text
        assert "Không tồn tại đơn vị 2147483000." in missing.text
        assert http.post(f"{RULES}/new", data={"name": "Không có mã biểu mẫu"}).status_code == 403
        assert http.post(f"{RULES}/abc/active", data={"csrf_token": token, "active": "1"}).status_code == 404
        assert http.post(f"{RULES}/99999999999999/delete", data={"csrf_token": token}).status_code == 404
        assert http.get(f"{RULES}/2147483000/edit").status_code == 404
        assert http.get(f"{RULES}?page=abc&field=-1&state=maybe").status_code == 200


def test_without_javascript_switching_and_deleting_are_plain_posts(live_server: str, e2e_database_url: str) -> None:
    name = f"Không JavaScript {uuid.uuid4().hex[:6]}"
    rule_id = make_rule(e2e_database_url, name, active=False)
    with signed_in_client(live_server, "dieuphoi") as (http, token):
        switched = http.post(f"{RULES}/{rule_id}/active", data={"csrf_token": token, "active": "1"})
        assert (switched.status_code, switched.headers["location"]) == (303, f"{RULES}?done=on")
        assert "Đã bật quy tắc." in http.get(switched.headers["location"]).text
        http.post(f"{RULES}/{rule_id}/active", data={"csrf_token": token, "active": "0"})
        confirm = http.get(f"{RULES}/{rule_id}/delete")
        assert confirm.status_code == 200 and "Xóa quy tắc này?" in confirm.text and name in confirm.text
        deleted = http.post(f"{RULES}/{rule_id}/delete", data={"csrf_token": token})
        assert (deleted.status_code, deleted.headers["location"]) == (303, f"{RULES}?done=deleted")
        assert http.get(f"{RULES}/{rule_id}/edit").status_code == 404


def test_an_inactive_unit_and_a_clash_are_explained_beside_their_fields(live_server: str, e2e_database_url: str) -> None:
    suffix = uuid.uuid4().hex[:6]

    async def closed_unit(session: AsyncSession) -> int:
        unit = OrgUnit(code=f"GIAITHE.{suffix}", name=f"Ban đã giải thể {suffix}", kind=OrgUnitKind.department,
                       active=False)
        session.add(unit)
        await session.flush()
        unit.path = f"/{unit.id}/"
        return unit.id  # type: ignore[return-value]

    unit_id = run(e2e_database_url, closed_unit)
    first = f"Trùng ưu tiên {suffix}"
    make_rule(e2e_database_url, first, active=True, field_code="YT.DICH", priority=777)
    with signed_in_client(live_server, "dieuphoi") as (http, token):
        inactive = http.post(f"{RULES}/new", data={"csrf_token": token, "name": f"Đơn vị cũ {suffix}", "field_ids": "2",
                                                   "unit_id": str(unit_id), "active": "1"})
        assert inactive.status_code == 422
        error = re.search(r'id="f-unit_id-error">(.*?)</p>', inactive.text, re.S)
        assert error and f"Đơn vị Ban đã giải thể {suffix} đã ngừng hoạt động, không thể nhận phản ánh." in error.group(1)
        ids = run(e2e_database_url, lambda s: _ids(s, "YT.DICH", "Phường Long Bình", "P.LONGBINH"))
        clash = http.post(f"{RULES}/new", data={"csrf_token": token, "name": f"Trùng {suffix}", "field_ids": str(ids[0]),
                                                "area_id": str(ids[1]), "unit_id": str(ids[2]), "priority": "777",
                                                "active": "1"})
        assert clash.status_code == 409
        error = re.search(r'id="f-priority-error">(.*?)</p>', clash.text, re.S)
        assert error and f"({first}) có cùng lĩnh vực, khu vực và độ ưu tiên" in error.group(1)
    # leave nothing in force for the other tests
    run(e2e_database_url, lambda s: _switch_off_named(s, first))


async def _switch_off_named(session: AsyncSession, name: str) -> None:
    from core.models.tickets import AutoDispatchRule, AutoDispatchRuleUpdate

    rule = (await session.exec(select(AutoDispatchRule).where(AutoDispatchRule.name == name))).one()
    await dispatch_rules.update_rule(session, system_actor(), rule.id, AutoDispatchRuleUpdate(active=False))  # type: ignore[arg-type]
