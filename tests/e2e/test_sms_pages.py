"""The desk's SMS pages in a real browser with the real worker (issue 6, SMS-08, SMS-09, CRM-06,
CRM-09): a citizen's SMS (a signed console-gateway webhook posted by the test) is announced live
on the open inbox, which lists the waiting messages oldest first; the desk turns one into a report
(the form pre-filled from the message; a double click makes one report, linked to the message in
the history, whose link opens the report), sets another aside after its confirmation, and filters
the history by a phone number typed with spaces, by local dates and page size (wrong dates get a
Vietnamese message, not a server error); on the report's page the desk types a reply, watches the
SMS part counter switch between GSM-7 and UCS-2, sends it once (double click) and sees it reach
"sent" through the durable SendMessage workflow and the console gateway."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from core.services.seed import DEMO_PASSWORD
from core.settings import Settings
from messaging.console import SIGNATURE_HEADER, sign_body
from tests.e2e.conftest import signed_in_people
from tests.e2e.test_kb_pages import reload_until
from tests.e2e.test_ui_shell import main_menu
from tests.e2e.test_ui_work import DEADLINE_MS, REQUIRED, choose_option
from tests.e2e.worker_server import serve_with_worker

CODE = r"1022-\d{4}-\d{6}"
CORRECT_BELOW = "Vui lòng sửa các trường được đánh dấu bên dưới."
HANDLED = "Đã xử lý"


def _settings() -> Settings:
    """What the module's server reads from the environment too (its secret key, its gateway)."""
    return Settings(env="test")


@pytest.fixture(scope="module")
def sms_server(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _settings().sms_gateway != "console":
        pytest.skip("these tests play the citizen's phone through the console SMS gateway (HOTLINE_SMS_GATEWAY)")
    with serve_with_worker(template_url, tmp_path_factory.mktemp("sms-data")) as base:
        yield base


@pytest.fixture
def person(browser: Browser, sms_server: str) -> Iterator[Callable[[str], Page]]:
    with signed_in_people(browser, sms_server) as open_as:
        yield open_as


@pytest.fixture(scope="module")
def api(sms_server: str) -> Iterator[httpx.Client]:
    """The JSON API as the desk's coordinator: givens and the checks of what was stored."""
    with httpx.Client(base_url=sms_server, timeout=30) as client:
        answer = client.post("/api/v1/auth/token", data={"username": "dieuphoi", "password": DEMO_PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


@pytest.fixture(scope="module")
def citizen(sms_server: str, api: httpx.Client) -> Iterator[Callable[[str, str], int]]:
    """`citizen(phone, text)` -> the stored message's id: the SMS the console gateway's webhook
    receives, signed as the gateway signs it (see messaging/console.py)."""
    secret = _settings().secret_key.get_secret_value()
    with httpx.Client(base_url=sms_server, timeout=30) as client:
        def send(phone: str, text: str) -> int:
            body = json.dumps({"id": f"sim-{uuid.uuid4().hex}", "from": phone, "to": "1022", "text": text},
                              ensure_ascii=False).encode()
            answer = client.post("/webhooks/console/inbound", content=body,
                                 headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign_body(secret, body)})
            assert answer.status_code == 200, answer.text
            found = api.get("/api/v1/messages", params={"phone": phone, "direction": "in", "per_page": 100})
            assert found.status_code == 200, found.text
            ids = [m["id"] for m in found.json()["items"] if m["body"] == text]
            assert len(ids) == 1, found.text
            return int(ids[0])

        yield send


_numbers = iter(range(1, 10_000))


def new_phone() -> str:
    """A mobile number no other test of the module uses (national form, 10 digits)."""
    return f"0912{uuid.uuid4().int % 100:02d}{next(_numbers):04d}"


def spaced(phone: str) -> str:
    """As people type it: '0912 345 678'."""
    return f"{phone[:4]} {phone[4:7]} {phone[7:]}"


def open_inbox(page: Page) -> None:
    main_menu(page).get_by_role("link", name="Tin nhắn SMS").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tin nhắn SMS")
    expect(page.get_by_role("link", name="Tin nhắn chờ xử lý")).to_have_attribute("aria-current", "page")


def message_row(page: Page, message_id: int) -> Locator:
    return page.locator(f"tr[data-message='{message_id}']")


def shown_ids(page: Page) -> list[int]:
    return [int(x) for x in page.locator("tbody tr[data-message]").evaluate_all(
        "rows => rows.map(r => r.dataset.message)")]


def history_search(page: Page, phone: str = "", date_from: str = "", date_to: str = "", per_page: str = "25") -> None:
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Từ ngày").fill(date_from)
    page.get_by_label("Đến ngày").fill(date_to)
    page.get_by_label("Số dòng mỗi trang").select_option(per_page)
    page.get_by_role("button", name="Tìm kiếm").click()


def local_day(stamp: str) -> date:
    """The calendar day in Đồng Nai of an API timestamp (the history's dates are local days)."""
    return datetime.fromisoformat(stamp).astimezone(ZoneInfo(_settings().timezone)).date()


# ---- the inbox ----

def test_a_citizens_sms_appears_live_on_the_open_inbox_oldest_first(person, citizen) -> None:
    desk = person("dieuphoi")
    open_inbox(desk)
    desk.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    phone, other = new_phone(), new_phone()
    # when a citizen texts the hotline while the inbox is open
    first = citizen(phone, "Đèn đường hỏng ở hẻm 12 đường Phạm Văn Thuận, tối om.")
    # then the message is in the list by itself, without a reload, and the news is said
    news = desk.locator(".sms-live[role='status']")
    expect(message_row(desk, first)).to_be_visible(timeout=DEADLINE_MS)
    expect(news).to_contain_text("Có tin nhắn mới.")
    # and so is the next one, on the same page
    second = citizen(other, "Nước ngập sâu trước trường tiểu học Tân Mai.")
    expect(message_row(desk, second)).to_be_visible(timeout=DEADLINE_MS)
    assert desk.evaluate("window.__sameDocument") is True
    # both wait with their number and text, the older first
    expect(message_row(desk, first)).to_contain_text(phone)
    expect(message_row(desk, first)).to_contain_text("Đèn đường hỏng ở hẻm 12 đường Phạm Văn Thuận, tối om.")
    expect(message_row(desk, second)).to_contain_text(other)
    ids = shown_ids(desk)
    assert ids.index(first) < ids.index(second), ids
    assert ids == sorted(ids), ids
    expect(desk.get_by_text(re.compile(r"^Có \d+ tin nhắn chờ xử lý\.$"))).to_be_visible()
    expect(message_row(desk, first).get_by_role("link", name=f"Tạo phản ánh từ tin nhắn {first}")).to_be_visible()
    expect(message_row(desk, first).get_by_role("link", name=f"Bỏ qua tin nhắn {first}")).to_be_visible()
    # a third message keeps coming in live (the refreshed list listens again)
    third = citizen(phone, "Bổ sung: đèn hỏng từ ba hôm nay.")
    expect(message_row(desk, third)).to_be_visible(timeout=DEADLINE_MS)
    assert desk.evaluate("window.__sameDocument") is True


def test_a_report_made_from_a_message_is_made_once_and_linked_in_the_history(person, citizen, api) -> None:
    phone = new_phone()
    marker = uuid.uuid4().hex[:8]
    text = f"Rác thải ùn ứ trước chợ Tân Hiệp, bốc mùi ({marker})."
    message_id = citizen(phone, text)
    desk = person("dieuphoi")
    open_inbox(desk)
    message_row(desk, message_id).get_by_role("link", name=re.compile("^Tạo phản ánh")).click()
    # the form is filled from the message
    expect(desk.get_by_role("heading", level=1)).to_have_text("Tạo phản ánh từ tin nhắn")
    expect(desk.get_by_label(re.compile("^Số điện thoại"))).to_have_value(phone)
    expect(desk.get_by_label(re.compile("^Nội dung phản ánh"))).to_have_value(text)
    expect(desk.get_by_label(re.compile("^Họ và tên người phản ánh"))).to_have_value("")
    # saved as it is, the missing fields are named beside them and the message's data stays
    desk.get_by_role("button", name="Lưu phản ánh").click()
    expect(desk.get_by_role("alert")).to_have_text(CORRECT_BELOW)
    for name in ("field_id", "area_id", "address"):
        expect(desk.locator(f"#f-{name}-error")).to_have_text(REQUIRED)
    expect(desk.locator("#f-citizen_name-error")).to_have_count(0)  # a text message often has no name
    expect(desk.get_by_label(re.compile("^Số điện thoại"))).to_have_value(phone)
    expect(desk.get_by_label(re.compile("^Nội dung phản ánh"))).to_have_value(text)
    # the desk completes it and double-clicks save
    desk.get_by_label(re.compile("^Họ và tên người phản ánh")).fill("Lê Thị Hoa")
    choose_option(desk.locator("#f-field_id"), "Đèn tín hiệu, biển báo")
    choose_option(desk.locator("#f-area_id"), "Phường Trấn Biên")
    desk.get_by_label(re.compile("^Địa chỉ")).fill("Trước cổng chợ Tân Hiệp")
    desk.get_by_role("button", name="Lưu phản ánh").dblclick()
    notice = desk.get_by_role("status").filter(has_text="Đã tạo phản ánh")
    expect(notice).to_have_text(re.compile(rf"^Đã tạo phản ánh {CODE} từ tin nhắn\.$"))
    code = re.search(CODE, notice.inner_text()).group(0)  # type: ignore[union-attr]
    # the message no longer waits
    expect(message_row(desk, message_id)).to_have_count(0)
    # one report, linked to the message, from the SMS channel with the sender's number
    made = api.get("/api/v1/tickets", params={"q": marker}).json()
    assert made["total"] == 1, made
    assert made["items"][0]["code"] == code
    assert made["items"][0]["channel"] == "sms" and made["items"][0]["citizen_phone"] == phone
    assert api.get(f"/api/v1/messages/{message_id}").json()["ticket_code"] == code
    # the history shows it handled, linked to the report, whose page the link opens
    desk.get_by_role("link", name="Lịch sử tin nhắn").click()
    expect(desk.get_by_role("link", name="Lịch sử tin nhắn")).to_have_attribute("aria-current", "page")
    history_search(desk, phone=spaced(phone))
    row = message_row(desk, message_id)
    expect(row).to_contain_text(text)
    expect(row.locator("td").nth(5)).to_have_text(HANDLED)
    row.get_by_role("link", name=code).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(f"Phản ánh {code}")
    expect(desk.get_by_text(text).first).to_be_visible()
    # the form of a handled message is not offered again: it leads to the history
    desk.goto(f"/sms/{message_id}/ticket")
    expect(desk).to_have_url(re.compile(r"/sms/history\?phone="))
    expect(message_row(desk, message_id).get_by_role("link", name=code)).to_be_visible()


def test_a_message_set_aside_after_confirmation_leaves_the_inbox_and_stays_in_the_history(person, citizen,
                                                                                         api) -> None:
    phone = new_phone()
    text = "Cảm ơn tổng đài đã hỗ trợ gia đình tôi hôm qua!"
    message_id = citizen(phone, text)
    desk = person("dieuphoi")
    open_inbox(desk)
    set_aside = message_row(desk, message_id).get_by_role("link", name=re.compile("^Bỏ qua"))
    # the confirmation shows the message; cancelling keeps it waiting
    set_aside.click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Bỏ qua tin nhắn")
    expect(desk.get_by_text(re.compile("^Bỏ qua tin nhắn này mà không tạo phản ánh"))).to_be_visible()
    expect(desk.locator("dl.facts")).to_contain_text(phone)
    expect(desk.locator("dl.facts")).to_contain_text(text)
    desk.get_by_role("link", name="Hủy").click()
    expect(message_row(desk, message_id)).to_be_visible()
    # confirmed, it leaves the inbox
    set_aside.click()
    desk.get_by_role("button", name="Bỏ qua").click()
    expect(desk.get_by_role("status").filter(has_text="Đã bỏ qua")).to_have_text("Đã bỏ qua tin nhắn.")
    expect(message_row(desk, message_id)).to_have_count(0)
    stored = api.get(f"/api/v1/messages/{message_id}").json()
    assert stored["handled_at"] is not None and stored["ticket_id"] is None, stored
    # and stays in the history, handled without a report
    desk.get_by_role("link", name="Lịch sử tin nhắn").click()
    history_search(desk, phone=phone)
    row = message_row(desk, message_id)
    expect(row).to_contain_text(text)
    expect(row.locator("td").nth(5)).to_have_text(HANDLED)
    expect(row.locator("td").nth(6)).to_have_text("—")
    # its confirmation is not offered again
    desk.goto(f"/sms/{message_id}/dismiss")
    expect(desk).to_have_url(re.compile(r"/sms$"))


# ---- the history ----

def test_the_history_filters_by_a_typed_phone_number_and_local_dates(person, citizen, api) -> None:
    mine, theirs = new_phone(), new_phone()
    one = citizen(mine, "Một: cây đổ chắn ngang đường.")
    two = citizen(mine, "Hai: cây đã được dọn chưa?")
    other = citizen(theirs, "Của người khác.")
    desk = person("dieuphoi")
    desk.goto("/sms/history")
    expect(desk.get_by_role("heading", level=1)).to_have_text("Tin nhắn SMS")
    # a number typed with spaces finds that number's messages only, newest first
    history_search(desk, phone=spaced(mine))
    expect(desk.get_by_text("Tìm thấy 2 tin nhắn.")).to_be_visible()
    assert shown_ids(desk) == [two, one]
    expect(message_row(desk, other)).to_have_count(0)
    expect(desk.get_by_label("Số điện thoại")).to_have_value(spaced(mine))
    # the local day they came keeps them; from the day after finds none
    today = local_day(api.get(f"/api/v1/messages/{one}").json()["created_at"])
    history_search(desk, phone=spaced(mine), date_from=today.isoformat(), date_to=today.isoformat())
    expect(desk.get_by_text("Tìm thấy 2 tin nhắn.")).to_be_visible()
    history_search(desk, phone=spaced(mine), date_from=(today + timedelta(days=1)).isoformat())
    expect(desk.get_by_text("Tìm thấy 0 tin nhắn.")).to_be_visible()
    expect(desk.get_by_text("Không có tin nhắn nào phù hợp.")).to_be_visible()
    # the last day before the first: a Vietnamese message beside the field, no list
    with desk.expect_response(lambda r: "/sms/history?" in r.url) as answer:
        history_search(desk, phone=spaced(mine), date_from=today.isoformat(),
                       date_to=(today - timedelta(days=1)).isoformat())
    assert answer.value.status == 422
    expect(desk.get_by_role("alert")).to_have_text(CORRECT_BELOW)
    expect(desk.locator("#f-date_to-error")).to_have_text("Ngày cuối trước ngày đầu.")
    expect(desk.get_by_label("Đến ngày")).to_have_attribute("aria-invalid", "true")
    expect(desk.locator("tbody tr[data-message]")).to_have_count(0)
    # a date that is no date (an address typed by hand): the same page, its message, no 500
    answer_page = desk.goto("/sms/history?date_from=h%C3%B4m-nay")
    assert answer_page is not None and answer_page.status == 422
    expect(desk.get_by_role("heading", level=1)).to_have_text("Tin nhắn SMS")
    expect(desk.locator("#f-date_from-error")).to_have_text("Nhập ngày theo dạng YYYY-MM-DD.")
    expect(desk.get_by_text("Lỗi 500")).to_have_count(0)


def test_the_history_page_size_and_pages_keep_the_filters(person, citizen) -> None:
    busy = new_phone()
    ids = [citizen(busy, f"Tin số {n:02d} về ổ gà trên đường Đồng Khởi.") for n in range(1, 28)]
    desk = person("dieuphoi")
    desk.goto("/sms/history")
    history_search(desk, phone=spaced(busy))
    expect(desk.get_by_text("Tìm thấy 27 tin nhắn.")).to_be_visible()
    expect(desk.locator("tbody tr[data-message]")).to_have_count(25)
    pages = desk.get_by_role("navigation", name="Trang")
    expect(pages).to_contain_text("Trang 1/2")
    pages.get_by_role("link", name=re.compile("Trang sau")).click()
    expect(desk.get_by_role("navigation", name="Trang")).to_contain_text("Trang 2/2")
    assert shown_ids(desk) == [ids[1], ids[0]]  # newest first: the two oldest are left for page 2
    expect(desk.get_by_label("Số điện thoại")).to_have_value(spaced(busy))
    # fifty a page: all on one page, no pager
    history_search(desk, phone=spaced(busy), per_page="50")
    expect(desk.locator("tbody tr[data-message]")).to_have_count(27)
    expect(desk.get_by_role("navigation", name="Trang")).to_have_count(0)
    expect(desk.get_by_label("Số dòng mỗi trang")).to_have_value("50")
    assert shown_ids(desk) == sorted(ids, reverse=True)


# ---- replying from the report's page ----

def test_a_reply_counts_its_sms_parts_is_sent_once_and_shows_sent_on_the_report(person, api) -> None:
    phone = new_phone()
    made = api.post("/api/v1/tickets", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
        "channel": "sms", "citizen_phone": phone, "citizen_name": "Phạm Văn Bình", "field_id": 2, "area_id": 46,
        "address": "Khu phố 3, phường Trấn Biên", "description": "Ổ gà lớn giữa đường, xe máy dễ té ngã."})
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    desk = person("dieuphoi")
    desk.goto(f"/tickets/{code}")
    section = desk.locator("#messages")
    expect(section.get_by_role("heading", level=2)).to_have_text("Tin nhắn với người dân")
    reply = section.get_by_label("Tin nhắn SMS gửi người dân")
    counter = section.locator("#f-reply-count")
    expect(counter).to_have_text("Tối đa 640 ký tự.")
    # plain ASCII: GSM-7, 160 characters an SMS
    reply.press_sequentially("Da tiep nhan phan anh")
    expect(counter).to_have_text("21 ký tự, 1 tin nhắn (GSM-7)")
    reply.fill("a" * 161)
    expect(counter).to_have_text("161 ký tự, 2 tin nhắn (GSM-7)")
    # Vietnamese with its marks: UCS-2, 70 characters an SMS
    reply.fill("")
    reply.press_sequentially("Đã tiếp nhận")
    expect(counter).to_have_text("12 ký tự, 1 tin nhắn (UCS-2)")
    reply.fill("ă" * 71)
    expect(counter).to_have_text("71 ký tự, 2 tin nhắn (UCS-2)")
    text = "Tổng đài 1022: phản ánh của ông/bà đã được chuyển UBND phường Trấn Biên xử lý."
    reply.fill(text)
    expect(counter).to_have_text(f"{len(text)} ký tự, 2 tin nhắn (UCS-2)")
    # sent with a double click: one message, shown on the report, "sent" once the worker sent it
    section.get_by_role("button", name="Gửi tin nhắn").dblclick()
    expect(desk.get_by_role("status").filter(has_text="Tin nhắn gửi người dân")).to_have_text(
        "Tin nhắn gửi người dân đang được gửi; trạng thái hiển thị bên dưới.")
    expect(desk).to_have_url(re.compile(rf"/tickets/{code}\?done=replied#messages$"))
    row = desk.locator("#messages tbody tr", has_text=text)
    reload_until(desk, lambda: expect(row.locator("td").nth(3)).to_have_text("Đã gửi", timeout=2_000),
                 "the reply to be sent")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text(f"Gửi người dân ({phone})")
    # in the message log: once (beside the acknowledgement the report's process sent), sent, in two UCS-2 parts
    log = api.get("/api/v1/messages", params={"phone": phone, "direction": "out", "per_page": 100})
    assert log.status_code == 200, log.text
    replies = [m for m in log.json()["items"] if m["body"] == text]
    assert len(replies) == 1, log.text
    assert replies[0]["status"] == "sent" and replies[0]["ticket_code"] == code
    assert replies[0]["encoding"] == "UCS-2" and replies[0]["segments"] == 2



def test_out_of_bounds_history_parameters_in_the_address_get_a_vietnamese_answer_not_a_500(person) -> None:
    desk = person("dieuphoi")
    for query in ("date_from=2026-02-011", "page=0", "per_page=hai"):
        answer = desk.goto(f"/sms/history?{query}")
        assert answer is not None and answer.status in (400, 422), (query, answer and answer.status)
        expect(desk.get_by_role("heading", level=1)).not_to_have_text("Lỗi 500")
        expect(desk.get_by_text("Địa chỉ trang có giá trị không dùng được")).to_be_visible()
