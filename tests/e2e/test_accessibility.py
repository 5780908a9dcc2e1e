"""Every main screen passes axe-core (no serious or critical WCAG 2.1 A/AA violation) in a real
browser, and the main path works with the keyboard alone: sign in, reach a screen from the
menu, fill in a form and read its errors.

The screens that need a ticket going through the engine (ticket page, task forms, dialogs) are
checked where that story is told: tests/e2e/test_ticket_detail.py and test_ui_work.py; so are the
knowledge-base screens that need questions (a question's page, the public page of one, search
results, the desk's side panel, a new API key): tests/e2e/test_kb_pages.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from core.services.seed import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible
from tests.e2e.test_ui_shell import sign_in

# who looks, and the screens they look at (a 403 and a 404 page included)
SCREENS: dict[str | None, tuple[str, ...]] = {
    None: ("/login", "/forgot-password", "/tra-cuu/thu-tuc", "/tra-cuu/su-kien", "/tra-cuu/thu-tuc?q=%3F%21"),
    "dieuphoi": ("/", "/desk/new", "/desk/new/add", "/desk/spam", "/desk/out-of-area", "/desk/processed",
                 "/desk/dispatch-rules", "/tickets", "/profile", "/profile/notifications", "/change-password",
                 "/tickets/1022-2020-999999", "/kb", "/admin/kb", "/admin/kb/new", "/sms", "/sms/history",
                 "/calls", "/calls/missed", "/calls?date_from=x"),
    "ld.tranbien": ("/", "/inbox"),
    "cv.tranbien": ("/inbox", "/admin/users"),
    "kiemtra": ("/", "/admin/audit"),
    "admin": ("/admin/users", "/admin/users/new", "/admin/roles", "/admin/groups", "/admin/units", "/admin/areas",
              "/admin/fields", "/admin/api-tokens", "/admin/message-templates",
              "/admin/message-templates/citizen_resolved"),
}


@pytest.mark.parametrize("locale", ["vi-VN", "en-GB"])
@pytest.mark.parametrize("username", list(SCREENS), ids=lambda u: u or "visitor")
def test_the_screens_have_no_serious_accessibility_violation(browser: Browser, base_url: str, username: str | None,
                                                             locale: str) -> None:
    context = browser.new_context(base_url=base_url, locale=locale, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        if username:  # in either language: by the inputs' names
            page.goto("/login")
            page.locator("input[name=username]").fill(username)
            page.locator("input[name=password]").fill(DEMO_PASSWORD)
            page.locator("input[name=password]").press("Enter")
            expect(page).not_to_have_url(re.compile("/login"))
        for path in SCREENS[username]:
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert_accessible(page)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 1366, f"{path} scrolls sideways on a desktop ({width}px)"
    finally:
        context.close()


def test_the_screens_fit_a_tablet(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, locale="vi-VN", viewport={"width": 768, "height": 1024})
    try:
        page = context.new_page()
        sign_in(page, "dieuphoi")
        for path in ("/", "/desk/new", "/desk/new/add", "/tickets"):
            page.goto(path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 768, f"{path} scrolls sideways on a tablet ({width}px)"
            assert_accessible(page)
    finally:
        context.close()


def test_the_desk_works_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/login")
    # the first Tab stop is the skip link; then the sign-in fields in order
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Bỏ qua, đến nội dung chính")).to_be_focused()
    focus_on(page, "Tên đăng nhập")
    page.keyboard.type("dieuphoi")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mật khẩu", exact=True)).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
    # reach "New reports" in the menu with Tab, open it with Enter
    tab_to(page, page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Phản ánh mới"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Phản ánh mới")
    tab_to(page, page.get_by_role("link", name="Thêm phản ánh"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thêm phản ánh")
    # fill one field, send the form with Enter from a text field: errors are announced and reachable
    focus_on(page, "Họ và tên người phản ánh")
    page.keyboard.type("Nguyễn Văn An")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Vui lòng sửa các trường được đánh dấu bên dưới.")
    expect(page.locator("#f-citizen_phone-error")).to_have_text("Trường này là bắt buộc.")
    expect(page.get_by_label("Họ và tên người phản ánh")).to_have_value("Nguyễn Văn An")
    # the field pickers are plain selects: the keyboard chooses an option
    tab_to(page, page.get_by_role("combobox", name=re.compile("^Lĩnh vực")))
    page.keyboard.press("ArrowDown")
    assert page.get_by_role("combobox", name=re.compile("^Lĩnh vực")).input_value() != ""


def focus_on(page: Page, label: str) -> None:
    tab_to(page, page.get_by_label(label, exact=False).first)


def tab_to(page: Page, target, limit: int = 80) -> None:  # noqa: ANN001 - a Playwright Locator
    """Press Tab until `target` has the focus (fails after `limit` presses: unreachable)."""
    handle = target.element_handle()
    for _ in range(limit):
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"not reachable with Tab: {target}")
