"""The knowledge-base pages in a real browser with the real worker indexing (Temporal dev server,
tantivy in the server's data dir): an editor adds a procedure with an answer and a PDF form, a
citizen who is not signed in finds it typing without accents, reads the answer and downloads the
form, and no longer finds it once it is deleted; a draft's page is a 404 for citizens; the
administrator issues an API key shown once (copied with the button), which works until it is
revoked; the desk's look-up keeps to the caller's area and opens a question in its side panel;
the screens that need data pass axe-core in Vietnamese and English; bad input gets Vietnamese
messages beside the fields or a 404 page, never a server error."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from core.services.seed import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import signed_in_people
from tests.e2e.test_desk_rules import signed_in_client
from tests.e2e.test_ui_shell import main_menu
from tests.e2e.worker_server import serve_with_worker
from tests.support import wait_for

DEADLINE_MS = 60_000  # the worker indexes within seconds; a busy 2-core machine needs more
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"0" * 2000
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(4000)
NOT_FOUND = "Trang này không tồn tại hoặc không còn được công bố."


@pytest.fixture(scope="module")
def kb_server(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_with_worker(template_url, tmp_path_factory.mktemp("kb-data")) as base:
        yield base


@pytest.fixture
def person(browser: Browser, kb_server: str) -> Iterator[Callable[[str], Page]]:
    with signed_in_people(browser, kb_server) as open_as:
        yield open_as


@pytest.fixture
def visitor(browser: Browser, kb_server: str) -> Iterator[Page]:
    """A citizen's browser: Vietnamese, not signed in."""
    context = browser.new_context(base_url=kb_server, locale="vi-VN", viewport={"width": 1366, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def api(kb_server: str) -> Iterator[Callable[[str], httpx.Client]]:
    """`api("dieuphoi")` -> a JSON API client signed in as that demo user (for the givens)."""
    clients: list[httpx.Client] = []

    def as_user(username: str) -> httpx.Client:
        client = httpx.Client(base_url=kb_server, timeout=30)
        answer = client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        clients.append(client)
        return client

    yield as_user
    for client in clients:
        client.close()


def reload_until(page: Page, check: Callable[[], None], what: str, timeout_ms: int = DEADLINE_MS) -> None:
    """Reload until `check` (an expect() with a short timeout of its own) passes: the index follows
    a change within seconds, and the page is not live."""
    deadline = page.evaluate("Date.now()") + timeout_ms
    while True:
        try:
            check()
            return
        except AssertionError:
            if page.evaluate("Date.now()") > deadline:
                raise AssertionError(f"timed out waiting for {what}") from None
            page.reload()


def indexed(client: httpx.Client, q: str, at_least: int) -> None:
    """Wait until the search (as the desk's coordinator sees it) holds `at_least` hits for `q`."""
    wait_for(lambda: client.get("/api/v1/kb/search", params={"q": q}).json()["total"] >= at_least,
             DEADLINE_MS / 1000, f"{at_least} hits for {q!r} in the index")


def results(page: Page) -> Locator:
    return page.get_by_test_id("kb-result")


def choose(select_box: Locator, text: str) -> None:
    """Pickers indent tree levels with spaces: find the option by its text, choose its value."""
    value = select_box.locator("option", has_text=text).first.get_attribute("value")
    assert value, text
    select_box.select_option(value=value)


def area_id(page: Page, name: str) -> int:
    return int(page.locator("#kb-area option", has_text=name).first.get_attribute("value") or 0)


def create_question(client: httpx.Client, title: str, status: str = "published", area: int | None = None,
                    content: str = "Nộp hồ sơ tại Bộ phận một cửa của Ủy ban nhân dân cấp xã.") -> int:
    made = client.post("/api/v1/kb/questions", json={
        "title": title, "type_doc": "procedure", "status": status, "area_id": area,
        "answers": [{"heading": "Trình tự thực hiện", "content": content}]})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_a_published_procedure_is_found_without_accents_read_and_gone_once_deleted(person, visitor: Page) -> None:
    title = "Cấp giấy phép xây dựng nhà ở riêng lẻ"
    # given the desk's coordinator, who maintains the knowledge base, adds a procedure (from the
    # procedures page: administration stays out of a coordinator's menu)
    editor = person("dieuphoi")
    main_menu(editor).get_by_role("link", name="Thủ tục hành chính").click()
    editor.get_by_role("link", name="Quản lý cơ sở tri thức").click()
    expect(editor.get_by_role("heading", level=1)).to_have_text("Cơ sở tri thức")
    editor.get_by_role("link", name="Thêm câu hỏi").click()
    editor.get_by_role("textbox", name="Tiêu đề (bắt buộc)").fill(title)
    editor.get_by_label("Trạng thái").select_option("published")
    editor.get_by_label("Cơ quan thực hiện").fill("Ủy ban nhân dân cấp xã")
    editor.get_by_label("Tiêu đề mục").fill("Thành phần hồ sơ")
    editor.get_by_label("Nội dung trả lời").fill("Đơn đề nghị cấp giấy phép xây dựng theo mẫu số 01; bản vẽ thiết kế.")
    editor.get_by_role("button", name="Thêm câu hỏi").click()
    expect(editor.get_by_role("status")).to_contain_text("Đã thêm câu hỏi")
    expect(editor.get_by_test_id("kb-title")).to_have_text(title)
    # when a file of the wrong type is attached, the refusal is beside the field, in Vietnamese
    answer = editor.get_by_test_id("kb-answer").first
    upload = answer.get_by_label("Đính kèm tệp vào câu trả lời này")
    upload.set_input_files(files=[{"name": "mau-01.pdf.exe", "mimeType": "application/pdf", "buffer": EXE}])
    answer.get_by_role("button", name="Tải lên").click()
    expect(editor.get_by_test_id("kb-answer").first.locator(".field-error")).to_contain_text("Không chấp nhận loại tệp này")
    # and the form as a PDF is attached
    answer = editor.get_by_test_id("kb-answer").first
    answer.get_by_label("Đính kèm tệp vào câu trả lời này").set_input_files(
        files=[{"name": "mau-01.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    answer.get_by_role("button", name="Tải lên").click()
    expect(editor.get_by_role("status")).to_have_text("Đã đính kèm tệp.")
    expect(editor.get_by_role("link", name="mau-01.pdf")).to_be_visible()
    assert_accessible(editor)
    question_url = editor.url.split("?")[0]

    # then a citizen, not signed in, finds it typing without accents
    visitor.goto("/login")
    visitor.get_by_role("link", name="Thủ tục hành chính").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Tra cứu thủ tục hành chính")
    visitor.get_by_label("Bạn cần tìm gì?").fill("giay phep xay dung nha o")
    visitor.get_by_label("Bạn cần tìm gì?").press("Enter")
    expect(visitor).to_have_url(re.compile(r"q=giay"))
    reload_until(visitor, lambda: expect(results(visitor).filter(has_text=title)).to_have_count(1, timeout=2_000),
                 "the new procedure in the search")
    expect(results(visitor).first.locator("mark").first).to_be_visible()
    assert_accessible(visitor)
    # and opening it shows the answer and its form, which downloads
    results(visitor).filter(has_text=title).get_by_role("link").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
    expect(visitor.get_by_role("heading", name="Thành phần hồ sơ")).to_be_visible()
    expect(visitor.get_by_test_id("kb-detail")).to_contain_text("mẫu số 01")
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name="mau-01.pdf").click()
    assert open(download.value.path(), "rb").read() == PDF
    assert_accessible(visitor)
    detail_url = visitor.url

    # when the editor deletes it after confirming in the dialog
    editor.goto(question_url)
    editor.get_by_role("link", name="Xóa câu hỏi").click()
    dialog = editor.get_by_role("dialog", name="Xóa câu hỏi này?")
    expect(dialog).to_contain_text(title)
    dialog.get_by_role("button", name="Xóa").click()
    expect(editor.get_by_role("status")).to_contain_text("Đã xóa câu hỏi")

    # then it leaves the public search, and its page is gone
    visitor.goto("/tra-cuu/thu-tuc?q=giay+phep+xay+dung+nha+o")
    reload_until(visitor, lambda: expect(results(visitor).filter(has_text=title)).to_have_count(0, timeout=2_000),
                 "the deleted procedure to leave the search")
    visitor.goto(detail_url)
    expect(visitor.get_by_role("alert")).to_have_text(NOT_FOUND)


def test_citizens_never_see_a_draft_and_get_a_friendly_message_for_a_bad_search(api, visitor: Page) -> None:
    # given a draft and a published procedure
    desk = api("dieuphoi")
    draft = create_question(desk, "Đăng ký kết hôn có yếu tố nước ngoài", status="draft")
    published = create_question(desk, "Đăng ký khai sinh cho trẻ em")
    # when a citizen opens the draft's address, or its file's
    answer = visitor.goto(f"/tra-cuu/thu-tuc/{draft}")
    # then it does not exist for them
    assert answer is not None and answer.status == 404
    expect(visitor.get_by_role("alert")).to_have_text(NOT_FOUND)
    # and the newest procedures, shown before anything is typed, list only the published one
    visitor.goto("/tra-cuu/thu-tuc")
    expect(visitor.get_by_role("heading", name="Mới nhất")).to_be_visible()
    expect(results(visitor).filter(has_text="Đăng ký khai sinh cho trẻ em")).to_have_count(1)
    expect(results(visitor).filter(has_text="kết hôn")).to_have_count(0)
    # a search of punctuation only gets a friendly sentence, not an error page
    visitor.get_by_label("Bạn cần tìm gì?").fill("?!…")
    visitor.get_by_role("button", name="Tìm kiếm").click()
    expect(visitor.get_by_test_id("kb-message")).to_have_text(
        "Vui lòng nhập vài từ (chữ hoặc số) để tìm, ví dụ: khai sinh.")
    # suggestions come while typing and the keyboard picks one
    indexed(desk, "khai sinh", 1)
    visitor.goto("/tra-cuu/thu-tuc")
    box = visitor.get_by_role("combobox", name="Bạn cần tìm gì?")
    box.press_sequentially("dang ky khai si")
    expect(visitor.get_by_role("option", name="Đăng ký khai sinh cho trẻ em")).to_be_visible()
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", re.compile("kb-suggestion-1"))
    box.press("Enter")
    expect(results(visitor).filter(has_text="Đăng ký khai sinh cho trẻ em")).to_have_count(1)
    assert visitor.goto(f"/tra-cuu/thu-tuc/{published}").status == 200  # type: ignore[union-attr]


def test_an_api_key_is_shown_once_works_and_is_revoked(person, api, kb_server: str) -> None:
    # given a system account for the public service portal
    admin_api = api("admin")
    group = next(g for g in admin_api.get("/api/v1/groups").json() if g["code"] == "APIKN")
    made = admin_api.post("/api/v1/users", json={"username": "cong.dvc", "password": "Cong-DVC-2026!",
                                                 "full_name": "Cổng dịch vụ công", "is_system": True,
                                                 "group_ids": [group["id"]]})
    assert made.status_code == 201, made.text
    # when the administrator issues a key for it, with read permission only
    admin = person("admin")
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    main_menu(admin).get_by_role("link", name="Khóa API").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Khóa API")
    admin.get_by_role("button", name="Cấp khóa").click()  # nothing filled: the reasons, beside the fields
    expect(admin.locator("#t-name-error")).to_have_text("Trường này là bắt buộc.")
    expect(admin.locator("#t-user_id-error")).to_have_text("Chọn một trong các tài khoản hệ thống trong danh sách.")
    admin.get_by_role("textbox", name="Tên (bắt buộc)").fill("Cổng dịch vụ công tỉnh")
    choose(admin.get_by_label("Tài khoản hệ thống"), "Cổng dịch vụ công")
    admin.get_by_label("Thời hạn (ngày)").fill("30")
    admin.get_by_role("button", name="Cấp khóa").click()
    # then the key is shown once, with a warning, and the button copies it
    expect(admin.get_by_role("heading", level=1)).to_have_text("Khóa API mới")
    expect(admin.get_by_test_id("token-warning")).to_contain_text("chỉ hiển thị một lần")
    token = admin.get_by_test_id("new-token").input_value()
    assert token.startswith("hlk_")
    assert_accessible(admin)
    admin.get_by_role("button", name="Sao chép khóa").click()
    expect(admin.locator("#copy-status")).to_have_text("Đã sao chép.")
    assert admin.evaluate("() => navigator.clipboard.readText()") == token
    with httpx.Client(base_url=kb_server, timeout=30) as outside:
        assert outside.get("/api/v1/kb/questions", headers={"X-API-Key": token}).status_code == 200
        # and the list names the key by its prefix, never the key itself
        admin.get_by_role("link", name="Tôi đã sao chép: quay lại danh sách khóa").click()
        row = admin.get_by_test_id("token-row").filter(has_text="Cổng dịch vụ công tỉnh")
        expect(row).to_contain_text(token[:12])
        assert token not in admin.content()
        assert_accessible(admin)
        # when it is revoked after confirming
        row.get_by_role("link", name=re.compile("^Thu hồi")).click()
        admin.get_by_role("dialog", name="Thu hồi khóa API này?").get_by_role("button", name="Thu hồi").click()
        expect(admin.get_by_role("status")).to_contain_text("Đã thu hồi khóa")
        expect(admin.get_by_test_id("token-row").filter(has_text="Cổng dịch vụ công tỉnh")
               .get_by_test_id("token-state")).to_contain_text("Đã thu hồi")
        # then the outside system is refused at once
        assert outside.get("/api/v1/kb/questions", headers={"X-API-Key": token}).status_code == 401


def test_the_desk_finds_procedures_of_the_callers_area(person, api) -> None:
    # given the same procedure for two wards, and a draft the agent must not see
    desk = api("dieuphoi")
    agent = person("dienthoai")
    agent.goto("/kb")
    tran_bien, long_binh = area_id(agent, "Phường Trấn Biên"), area_id(agent, "Phường Long Bình")
    create_question(desk, "Đăng ký tạm trú tại phường Trấn Biên", area=tran_bien)
    create_question(desk, "Đăng ký tạm trú tại phường Long Bình", area=long_binh)
    create_question(desk, "Đăng ký tạm trú (bản nháp)", status="draft", area=tran_bien)
    indexed(desk, "tam tru", 3)
    # when the agent on a call from Trấn Biên looks up "tam tru"
    choose(agent.get_by_label("Khu vực"), "Phường Trấn Biên")
    agent.get_by_label("Bạn cần tìm gì?").fill("tam tru")
    agent.get_by_role("button", name="Tìm kiếm").click()
    # then only that ward's published procedure comes, with the words marked
    expect(results(agent).filter(has_text="Trấn Biên")).to_have_count(1)
    expect(results(agent).filter(has_text="Long Bình")).to_have_count(0)
    expect(results(agent).filter(has_text="bản nháp")).to_have_count(0)
    expect(results(agent).first.locator("mark").first).to_be_visible()
    # and it opens beside the results
    results(agent).first.get_by_role("link").click()
    panel = agent.get_by_role("complementary", name="Câu hỏi đang mở")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Đăng ký tạm trú tại phường Trấn Biên")
    expect(panel).to_contain_text("Bộ phận một cửa")
    assert_accessible(agent)
    # the address keeps the search, so a reload shows the same results
    expect(agent).to_have_url(re.compile(r"/kb\?.*q=tam"))
    agent.reload()
    expect(results(agent).filter(has_text="tạm trú")).to_have_count(1)


@pytest.mark.parametrize("locale", ["vi-VN", "en-GB"])
def test_the_knowledge_base_screens_with_data_pass_axe(browser: Browser, kb_server: str, api, locale: str) -> None:
    desk = api("dieuphoi")
    question = create_question(desk, f"Cấp đổi giấy phép lái xe ({locale})")
    context = browser.new_context(base_url=kb_server, locale=locale, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        for path in ("/tra-cuu/thu-tuc", f"/tra-cuu/thu-tuc/{question}", "/tra-cuu/su-kien"):
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert_accessible(page)
        page.goto("/login")
        page.locator("input[name=username]").fill("dieuphoi")
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        page.locator("input[name=password]").press("Enter")
        expect(page).not_to_have_url(re.compile("/login"))
        for path in ("/admin/kb", f"/admin/kb/{question}", "/kb", f"/kb/{question}"):
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert_accessible(page)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 1366, f"{path} scrolls sideways on a desktop ({width}px)"
    finally:
        context.close()


def test_bad_input_gets_vietnamese_messages_and_never_a_server_error(kb_server: str, api) -> None:
    question = create_question(api("dieuphoi"), "Cấp phiếu lý lịch tư pháp")
    with signed_in_client(kb_server, "dieuphoi") as (http, token):
        # a question without a title and with an area the picker never offered
        answer = http.post("/admin/kb/new", data={"csrf_token": token, "title": " ", "area_id": "999999"})
        assert answer.status_code == 422
        assert 'id="f-title-error"><span>Trường này là bắt buộc.</span>' in answer.text
        assert 'id="f-area_id-error"><span>Hãy chọn một mục trong danh sách.</span>' in answer.text
        # an answer's place that is not a number, and an empty answer
        detail = http.get(f"/admin/kb/{question}").text
        answer_id = re.search(r'id="answer-(\d+)"', detail).group(1)  # type: ignore[union-attr]
        answer = http.post(f"/admin/kb/{question}/answers/{answer_id}/edit",
                           data={"csrf_token": token, "content": "Nộp tờ khai.", "position": "abc"})
        assert answer.status_code == 422 and "Nhập một số nguyên từ 0 đến 10.000." in answer.text
        answer = http.post(f"/admin/kb/{question}/answers", data={"csrf_token": token, "heading": "Lệ phí"})
        assert answer.status_code == 422 and 'id="n-content-error"><span>Trường này là bắt buộc.</span>' in answer.text
        # a form without its token, addresses that name nothing
        assert http.post(f"/admin/kb/{question}/delete", data={}).status_code == 403
        for path in ("/admin/kb/abc", "/admin/kb/99999999999", f"/admin/kb/{question}/answers/0/delete", "/kb/x"):
            assert http.get(path).status_code == 404, path
        # the administrator's keys are not the desk's
        assert http.get("/admin/api-tokens").status_code == 403
    with signed_in_client(kb_server, "dienthoai") as (http, _token):
        assert http.get("/admin/kb").status_code == 403  # reads the knowledge base, does not maintain it
        assert http.get("/kb?q=%3F&area=abc&page=-1").status_code == 200
    with httpx.Client(base_url=kb_server, timeout=30, headers={"Accept-Language": "vi"}) as visitor:
        for path in ("/tra-cuu/thu-tuc/abc", "/tra-cuu/thu-tuc/0", "/tra-cuu/tep/1/2/3", "/tra-cuu/tep/a/b/c"):
            assert visitor.get(path).status_code == 404, path
        long = visitor.get("/tra-cuu/thu-tuc", params={"q": "khai sinh " * 120})
        assert long.status_code == 200 and "Nội dung tìm kiếm quá dài: tối đa 1000 ký tự." in long.text
        odd = visitor.get("/tra-cuu/su-kien", params={"q": "le hoi", "area": "99999999", "page": "100000", "type": "x"})
        assert odd.status_code == 200 and "Chọn một trong các khu vực trong danh sách." in odd.text
        assert visitor.get("/tra-cuu/goi-y", params={"q": "?"}).status_code == 200
        assert visitor.get("/admin/kb", follow_redirects=False).status_code == 303  # to the sign-in page
