"""The UI shell in a real browser: sign-in, home menu by role, language switch, password
change and reset, profile, sign-out; plus plain-HTTP checks of redirects, CSRF and headers."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Locator, Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from cli.tasks import in_transaction
from core.services import auth
from core.services.seed import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible

ROOT = Path(__file__).resolve().parents[2]


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD, path: str = "/login") -> None:
    page.goto(path)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def main_menu(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Menu chính")


# ---- sign-in ----

def test_wrong_password_shows_the_vietnamese_error(page: Page) -> None:
    # given the sign-in page
    page.goto("/login")
    expect(page).to_have_title(re.compile("Đăng nhập — Tổng đài 1022 Đồng Nai"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    # when a known user types a wrong password
    page.get_by_label("Tên đăng nhập").fill("dienthoai")
    page.get_by_label("Mật khẩu", exact=True).fill("not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Đăng nhập").click()
    # then the form comes back with the Vietnamese message and the username kept
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    expect(page.get_by_label("Tên đăng nhập")).to_have_value("dienthoai")
    expect(page.get_by_role("link", name="Quên mật khẩu?")).to_be_visible()


def test_coordinator_home_shows_the_desk_menu_but_not_administration(page: Page, artifacts: Path) -> None:
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    # when the coordinator signs in
    sign_in(page, "dieuphoi")
    # then the home page shows who they are and the 1022 desk menu of their roles
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Nguyễn Thị Điều Phối")
    expect(page.get_by_test_id("user-unit")).to_have_text("Trung tâm Tổng đài 1022")
    expect(page.get_by_test_id("user-roles")).to_contain_text("Điều phối viên")
    menu = main_menu(page)
    expect(menu.get_by_text("Tổng đài 1022", exact=True)).to_be_visible()
    for entry in ("Phản ánh mới", "Tin rác", "Ngoài địa bàn", "Đã xử lý", "Báo cáo"):
        expect(menu.get_by_role("link", name=entry)).to_be_visible()
    expect(menu.get_by_text("Quản trị", exact=True)).to_have_count(0)
    expect(menu.get_by_role("link", name="Người dùng")).to_have_count(0)
    # and the quick links repeat the menu's pages as cards
    quick = page.get_by_role("region", name="Lối tắt")
    expect(quick.get_by_role("link", name=re.compile("Phản ánh mới"))).to_have_attribute("href", "/desk/new")
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)
    # and nothing broke the Content-Security-Policy (no inline scripts or styles)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_admin_home_shows_administration_with_its_children(page: Page) -> None:
    sign_in(page, "admin")
    menu = main_menu(page)
    group = menu.locator("details", has=page.get_by_text("Quản trị", exact=True))
    expect(group).to_have_count(1)
    for entry in ("Người dùng", "Vai trò và menu", "Nhóm quyền", "Đơn vị", "Khu vực", "Lĩnh vực", "Nhật ký hệ thống"):
        expect(group.get_by_role("link", name=entry)).to_be_visible()
    expect(group.get_by_role("link", name="Người dùng")).to_have_attribute("href", "/admin/users")
    # the parent folds and unfolds from the keyboard
    group.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(group.get_by_role("link", name="Người dùng")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(group.get_by_role("link", name="Người dùng")).to_be_visible()


def test_sign_in_returns_to_the_page_asked_for(page: Page) -> None:
    # given a visitor who opens the profile page without signing in
    page.goto("/profile")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fprofile$"))
    # when they sign in
    page.get_by_label("Tên đăng nhập").fill("ld.moitruong")
    page.get_by_label("Mật khẩu", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    # then they land on the page they asked for
    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thông tin cá nhân")


# ---- language ----

def test_the_language_switch_shows_english_and_is_remembered(page: Page) -> None:
    sign_in(page, "ld.sxd")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Lê Văn Xây")
    # when the user presses EN in the header
    page.get_by_role("button", name="English").click()
    # then the page is in English, menu included, and stays so on the next visit
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Lê Văn Xây")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title(re.compile("Home — Đồng Nai 1022 Hotline"))
    expect(page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My tasks")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto("/change-password")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change password")
    # and VI brings Vietnamese back
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đổi mật khẩu")
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_visitors_get_the_language_of_their_browser(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, locale="en-US")
    try:
        page = context.new_page()
        page.goto("/login?next=%2Fprofile")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        # the switch keeps the visitor on the page they were on, with its address
        page.get_by_role("button", name="Tiếng Việt").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fprofile$"))
    finally:
        context.close()


# ---- password ----

def test_change_password_checks_the_confirmation_then_the_new_password_works(page: Page) -> None:
    new_password = "Doi-Mat-Khau-2025"
    sign_in(page, "cv.tranbien")
    page.get_by_role("link", name="Đổi mật khẩu").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đổi mật khẩu")
    expect(page.get_by_text("Ít nhất 10 ký tự.")).to_be_visible()
    # when the confirmation does not match
    page.get_by_label("Mật khẩu hiện tại").fill(DEMO_PASSWORD)
    page.get_by_label("Mật khẩu mới", exact=True).fill(new_password)
    page.get_by_label("Nhập lại mật khẩu mới").fill(new_password + "x")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    # then the error is shown beside that field
    confirm = page.get_by_label("Nhập lại mật khẩu mới")
    expect(page.locator("#f-new_password_confirm-error")).to_have_text("Hai mật khẩu mới không khớp nhau.")
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(confirm).to_be_focused()
    # when the passwords match
    page.get_by_label("Mật khẩu hiện tại").fill(DEMO_PASSWORD)
    page.get_by_label("Mật khẩu mới", exact=True).fill(new_password)
    confirm.fill(new_password)
    page.get_by_role("button", name="Đổi mật khẩu").click()
    # then the change is confirmed and this session is kept
    expect(page.get_by_role("status")).to_have_text("Đã đổi mật khẩu.")
    expect(page.get_by_test_id("user-name")).to_have_text("Bùi Thị Trấn")
    # and after signing out, only the new password signs in
    page.get_by_role("button", name="Đăng xuất").click()
    sign_in(page, "cv.tranbien", DEMO_PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    sign_in(page, "cv.tranbien", new_password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Bùi Thị Trấn")


def test_weak_new_password_is_explained_in_vietnamese(page: Page) -> None:
    sign_in(page, "kiemtra")
    page.goto("/change-password")
    page.get_by_label("Mật khẩu hiện tại").fill(DEMO_PASSWORD)
    page.get_by_label("Mật khẩu mới", exact=True).fill("short")
    page.get_by_label("Nhập lại mật khẩu mới").fill("short")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    errors = page.locator("#f-new_password-error")
    expect(errors).to_contain_text("Mật khẩu phải có ít nhất 10 ký tự.")
    expect(errors).to_contain_text("kết hợp ít nhất ba loại")


def test_reset_password_with_a_link(page: Page, e2e_database_url: str) -> None:
    # given a reset link, as the notification would carry it
    async def issue(session: AsyncSession) -> str:
        found = await auth.request_password_reset(session, "ld.tranbien", timedelta(minutes=30))
        assert found is not None
        return found[1]

    with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run beside Playwright's own loop in this thread
        token = pool.submit(in_transaction, e2e_database_url, issue).result()
    page.goto(f"/reset-password?token={token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đặt mật khẩu mới")
    # when the two passwords differ, the error is beside the confirmation
    page.get_by_label("Mật khẩu mới", exact=True).fill("Mat-Khau-Moi-2025")
    page.get_by_label("Nhập lại mật khẩu mới").fill("Mat-Khau-Moi-2026")
    page.get_by_role("button", name="Lưu mật khẩu mới").click()
    expect(page.locator("#f-new_password_confirm-error")).to_have_text("Hai mật khẩu mới không khớp nhau.")
    # when they match, the sign-in page says so and the new password works
    page.get_by_label("Mật khẩu mới", exact=True).fill("Mat-Khau-Moi-2025")
    page.get_by_label("Nhập lại mật khẩu mới").fill("Mat-Khau-Moi-2025")
    page.get_by_role("button", name="Lưu mật khẩu mới").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=reset$"))
    expect(page.get_by_role("status")).to_have_text("Mật khẩu đã được đặt lại. Hãy đăng nhập bằng mật khẩu mới.")
    sign_in(page, "ld.tranbien", "Mat-Khau-Moi-2025")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Huỳnh Văn Biên")
    # and the link cannot be used twice
    page.goto(f"/reset-password?token={token}")
    page.get_by_label("Mật khẩu mới", exact=True).fill("Mat-Khau-Khac-2025")
    page.get_by_label("Nhập lại mật khẩu mới").fill("Mat-Khau-Khac-2025")
    page.get_by_role("button", name="Lưu mật khẩu mới").click()
    expect(page.get_by_role("alert")).to_contain_text("không hợp lệ hoặc đã hết hạn")


def test_forgot_password_without_the_message_service_says_so(page: Page) -> None:
    # given no Temporal server (the test server runs without one)
    page.goto("/login")
    page.get_by_role("link", name="Quên mật khẩu?").click()
    page.get_by_label("Tên đăng nhập hoặc email").fill("dienthoai")
    with page.expect_response(lambda r: r.url.endswith("/forgot-password") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Gửi liên kết đặt lại mật khẩu").click()
    # then the page says, in Vietnamese, that messages cannot be sent now
    assert answer.value.status == 503
    expect(page.get_by_role("alert")).to_have_text("Dịch vụ gửi tin nhắn hiện chưa sẵn sàng. Vui lòng thử lại sau.")


# ---- profile ----

def test_profile_shows_field_errors_in_vietnamese_and_saves(page: Page) -> None:
    sign_in(page, "cv.giaothong")
    page.get_by_role("link", name="Thông tin cá nhân").click()
    expect(page.get_by_label("Họ và tên")).to_have_value("Phạm Thị Giao")
    # when the phone number is not a Vietnamese number and the name is blank
    page.get_by_label("Số điện thoại").fill("12345")
    page.get_by_label("Họ và tên").fill("")
    page.get_by_role("button", name="Lưu").click()
    # then each field says what is wrong
    expect(page.locator("#f-phone-error")).to_contain_text("số điện thoại Việt Nam không hợp lệ")
    expect(page.locator("#f-full_name-error")).to_have_text("Trường này là bắt buộc.")
    # when the values are valid, they are saved
    page.get_by_label("Họ và tên").fill("Phạm Thị Giao Thông")
    page.get_by_label("Số điện thoại").fill("+84 912 345 678")
    page.get_by_label("Địa chỉ").fill("Phường Trấn Biên, Đồng Nai")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu thông tin cá nhân.")
    expect(page.get_by_label("Số điện thoại")).to_have_value("0912345678")
    expect(page.get_by_test_id("user-name")).to_have_text("Phạm Thị Giao Thông")


# ---- sign-out and access ----

def test_sign_out_returns_to_the_sign_in_page(page: Page) -> None:
    sign_in(page, "dienthoai")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Trần Văn Trực")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=logged_out$"))
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))


def test_unauthenticated_home_redirects_to_sign_in(http: httpx.Client, page: Page) -> None:
    answer = http.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2F"
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")


def test_htmx_requests_without_sign_in_get_a_full_page_redirect(http: httpx.Client) -> None:
    answer = http.get("/profile", headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert answer.headers["hx-redirect"] == "/login?next=%2Fprofile"


def test_a_post_without_csrf_token_is_refused(http: httpx.Client) -> None:
    answer = http.post("/login", data={"username": "admin", "password": DEMO_PASSWORD})
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]
    assert "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này" in answer.text
    assert "hotline_session" not in answer.cookies


def test_a_forged_csrf_token_is_refused(http: httpx.Client) -> None:
    form = http.get("/login")
    assert form.status_code == 200
    answer = http.post("/login", data={"csrf_token": "forged.token", "username": "admin", "password": DEMO_PASSWORD})
    assert answer.status_code == 403


def test_open_redirects_are_refused(http: httpx.Client) -> None:
    page = http.get("/login", params={"next": "//evil.example/x"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = http.post("/login", data={"csrf_token": token.group(1), "username": "ld.sxd", "password": DEMO_PASSWORD,
                                       "next": "//evil.example/x"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    session_cookie = answer.headers["set-cookie"]
    assert "hotline_session=" in session_cookie and "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie


# ---- headers ----

@pytest.mark.parametrize("path", ["/login", "/forgot-password", "/static/css/app.css", "/static/vendor/htmx.min.js"])
def test_security_headers_are_present(http: httpx.Client, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_pages_have_no_inline_scripts(http: httpx.Client) -> None:
    html = http.get("/login").text
    assert html.startswith("<!doctype html>")
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.DOTALL)
    assert scripts and all(body.strip() == "" for body in scripts)
    assert 'class="skip-link" href="#main"' in html


# ---- translations ----

def _catalogue(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


VI_CATALOGUES = sorted((ROOT / "core/locale/vi").glob("*.po")) + sorted((ROOT / "ui/locale/vi").glob("*.po"))


def test_every_ui_message_has_a_vietnamese_translation() -> None:
    known = {msgid: msgstr for path in VI_CATALOGUES for msgid, msgstr in _catalogue(path).items()}
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    used = {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in extract_from_dir(
                str(ROOT / "ui"), method_map, keywords={"_": None, "N_": None, "translate": (1,)})}
    missing = sorted(m for m in used if m and not known.get(m))
    assert not missing, missing


def test_vietnamese_translations_keep_their_placeholders() -> None:
    for path in VI_CATALOGUES:
        for msgid, msgstr in _catalogue(path).items():
            assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", msgstr)), (path.name, msgid)


def test_people_choose_how_they_are_notified_from_their_profile(page: Page) -> None:
    # PERM-10 for oneself: the administrator's SMS form, on my own account
    sign_in(page, "cv.moitruong")
    page.get_by_role("link", name="Thông tin cá nhân").click()
    page.get_by_role("link", name="Cách tôi nhận thông báo (SMS, email)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cài đặt thông báo của tôi")
    process = page.locator("fieldset[data-event='task_process']")
    process.get_by_role("checkbox", name="Nhận SMS").uncheck()
    process.get_by_label("Nội dung SMS").fill("Việc mới {{ ma }}")
    page.get_by_role("button", name="Lưu cấu hình gửi SMS").click()
    expect(page.locator("#f-sms_text_task_process-error")).to_have_text("Không có biến ma. Chỉ được dùng: {{ code }}, {{ title }}.")
    process.get_by_label("Nội dung SMS").fill("Có phản ánh {{ code }} cần xử lý")
    page.get_by_role("button", name="Lưu cấu hình gửi SMS").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu cấu hình gửi SMS.")
    page.reload()
    expect(process.get_by_role("checkbox", name="Nhận SMS")).not_to_be_checked()
    expect(process.get_by_label("Nội dung SMS")).to_have_value("Có phản ánh {{ code }} cần xử lý")
    assert_accessible(page)
