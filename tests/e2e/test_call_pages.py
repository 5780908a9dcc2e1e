"""The desk's call pages in a real browser (issue 7: CC-28, CC-29, CC-30, CC-36, CC-38, CRM-07,
CRM-08): the call list newest first with a number typed with spaces, dates and the page size;
the missed calls with how often each number called and a "Call back" button that answers in
Vietnamese beside it; one call with its times, agent, queue, IVR keys, how it ended, its queue
events and a player of its recording whose address answers 200 and 206; masking for an
inspector; no serious accessibility violation.

The module serves the app on a database and a data directory of its own (the recordings are
files under <data dir>/recordings); calls are written straight into the `call` table, as the
Stasis application writes them."""

from __future__ import annotations

import io
import math
import re
import struct
import uuid
import wave
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from cli.asgi import create_full_app
from core.db import make_sync_engine
from core.models import User
from core.models.calls import CallDirection, CallRecord, CallState, Disposition, QueueEvent
from core.services.seed import DEMO_PASSWORD
from core.services.tickets import LOCAL_TZ
from core.settings import Settings
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import signed_in_people
from tests.e2e.test_ui_shell import main_menu
from tests.support import database_copy, serve_in_thread


def _wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A real WAV (8 kHz mono 16-bit PCM, a 440 Hz tone), as the PBX records a call."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
                               for n in range(int(seconds * rate))))
    return out.getvalue()


WAV = _wav()


@pytest.fixture(scope="module")
def calls_db(template_url: str) -> Iterator[str]:
    with database_copy(template_url, "calls") as url:
        yield url


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("calls-data")


@pytest.fixture(scope="module")
def calls_server(calls_db: str, data_dir: Path) -> Iterator[str]:
    settings = Settings(database_url=calls_db, env="test", data_dir=data_dir, temporal_address=None, log_json=False,
                        log_level="WARNING", login_attempts_per_minute=0, ari_url=None)
    with serve_in_thread(create_full_app(settings)) as base:
        yield base


@pytest.fixture
def person(browser: Browser, calls_server: str) -> Iterator[Callable[[str], Page]]:
    with signed_in_people(browser, calls_server) as open_as:
        yield open_as


@pytest.fixture(scope="module")
def store(calls_db: str, data_dir: Path) -> Iterator[Callable[..., int]]:
    """`store(number, started, disposition, ...)` -> the id of a call written into the table."""
    engine = make_sync_engine(calls_db)

    def add(number: str, started: datetime, disposition: Disposition | None = Disposition.answered,
            events: tuple[tuple[int, str], ...] = (), recording: bytes | None = None, **fields: Any) -> int:
        answered = disposition in (Disposition.answered, Disposition.transferred)
        uniqueid = f"e2e.{uuid.uuid4().hex[:12]}"
        values: dict[str, Any] = {
            "uniqueid": uniqueid, "direction": CallDirection.inbound, "citizen_number": number, "dialed": "1022",
            "state": CallState.ended, "disposition": disposition, "queue": "hotline", "started_at": started,
            "queued_at": started + timedelta(seconds=4), "answered_at": started + timedelta(seconds=19) if answered
            else None, "ended_at": started + timedelta(seconds=84), "wait_seconds": 15.0 if answered else 80.0,
            "talk_seconds": 65.0 if answered else None, "hangup_by": "caller",
        }
        if recording is not None:
            relative = f"{started:%Y/%m/%d}/{uniqueid}.wav"
            path = data_dir / "recordings" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(recording)
            values |= {"recording": uniqueid, "recording_file": relative, "recording_bytes": len(recording)}
        with Session(engine) as session:
            call = CallRecord(**(values | fields))
            session.add(call)
            for n, (seconds, event) in enumerate(events):
                session.add(QueueEvent(event_key=f"{uniqueid}:{n}", at=started + timedelta(seconds=seconds),
                                       call_uniqueid=uniqueid, queue="hotline", agent="101", event=event))
            session.commit()
            return int(call.id)  # type: ignore[arg-type]

    add.agent_id = lambda username: _user_id(engine, username)  # type: ignore[attr-defined]
    yield add
    engine.dispose()


def _user_id(engine: Any, username: str) -> int:
    with Session(engine) as session:
        return int(session.exec(select(User.id).where(User.username == username)).one())  # type: ignore[arg-type]


_numbers = iter(range(1, 10_000))


def new_phone() -> str:
    return f"0913{uuid.uuid4().int % 100:02d}{next(_numbers):04d}"


def spaced(phone: str) -> str:
    return f"{phone[:4]} {phone[4:7]} {phone[7:]}"


def shown_ids(page: Page) -> list[int]:
    return [int(x) for x in page.locator("tbody tr[data-call]").evaluate_all("rows => rows.map(r => r.dataset.call)")]


def search(page: Page, phone: str = "", date_from: str = "", date_to: str = "", per_page: str = "25",
           result: str = "") -> None:
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Từ ngày").fill(date_from)
    page.get_by_label("Đến ngày").fill(date_to)
    page.get_by_label("Kết quả").select_option(result)
    page.get_by_label("Số dòng mỗi trang").select_option(per_page)
    page.get_by_role("button", name="Tìm kiếm").click()


def now() -> datetime:
    return datetime.now(LOCAL_TZ).replace(microsecond=0)


# ---- the call list ----

def test_the_call_list_finds_a_number_typed_with_spaces_newest_first(person, store) -> None:
    mine, theirs = new_phone(), new_phone()
    start = now() - timedelta(hours=2)
    older = store(mine, start, Disposition.abandoned)
    newer = store(mine, start + timedelta(minutes=30), citizen_name="Lê Thị Hoa")
    other = store(theirs, start + timedelta(minutes=10))
    desk = person("dieuphoi")
    main_menu(desk).get_by_role("link", name="Cuộc gọi").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Cuộc gọi")
    expect(desk.get_by_role("link", name="Danh sách cuộc gọi")).to_have_attribute("aria-current", "page")
    # a number typed as people type it: that number's calls only, newest first
    search(desk, phone=spaced(mine))
    expect(desk.get_by_text("Tìm thấy 2 cuộc gọi.")).to_be_visible()
    assert shown_ids(desk) == [newer, older]
    expect(desk.locator(f"tr[data-call='{other}']")).to_have_count(0)
    expect(desk.get_by_label("Số điện thoại")).to_have_value(spaced(mine))
    row = desk.locator(f"tr[data-call='{older}']")
    expect(row).to_contain_text(mine)
    expect(row).to_contain_text("Gọi đến")
    expect(row).to_contain_text("Người gọi gác máy khi chờ")
    expect(row.locator("td").nth(6)).to_have_text("1:20")
    expect(desk.locator(f"tr[data-call='{newer}']")).to_contain_text("Lê Thị Hoa")
    # answered only
    search(desk, phone=spaced(mine), result="answered")
    expect(desk.get_by_text("Tìm thấy 1 cuộc gọi.")).to_be_visible()
    assert shown_ids(desk) == [newer]
    # the local day keeps them; from the next day finds none
    today = start.date()
    search(desk, phone=spaced(mine), date_from=today.isoformat(), date_to=(start + timedelta(minutes=30)).date().isoformat())
    expect(desk.get_by_text("Tìm thấy 2 cuộc gọi.")).to_be_visible()
    search(desk, phone=spaced(mine), date_from=(today + timedelta(days=2)).isoformat())
    expect(desk.get_by_text("Không có cuộc gọi nào phù hợp.")).to_be_visible()
    # the last day before the first: a Vietnamese message beside the field, no list, no 500
    with desk.expect_response(lambda r: "/calls?" in r.url) as answer:
        search(desk, phone=spaced(mine), date_from=today.isoformat(), date_to=(today - timedelta(days=1)).isoformat())
    assert answer.value.status == 422
    expect(desk.locator("#f-date_to-error")).to_have_text("Ngày cuối trước ngày đầu.")
    expect(desk.locator("tbody tr[data-call]")).to_have_count(0)
    for query in ("date_from=h%C3%B4m-nay", "result=lost", "page=0", "per_page=hai"):
        answered = desk.goto(f"/calls?{query}")
        assert answered is not None and answered.status in (400, 422), query
        expect(desk.get_by_text("Lỗi 500")).to_have_count(0)


def test_the_page_size_and_pages_keep_the_filters(person, store) -> None:
    busy = new_phone()
    start = now() - timedelta(hours=3)
    ids = [store(busy, start + timedelta(minutes=n)) for n in range(27)]
    desk = person("dieuphoi")
    desk.goto("/calls")
    search(desk, phone=spaced(busy))
    expect(desk.get_by_text("Tìm thấy 27 cuộc gọi.")).to_be_visible()
    expect(desk.locator("tbody tr[data-call]")).to_have_count(25)
    pages = desk.get_by_role("navigation", name="Trang")
    expect(pages).to_contain_text("Trang 1/2")
    pages.get_by_role("link", name=re.compile("Trang sau")).click()
    expect(desk.get_by_role("navigation", name="Trang")).to_contain_text("Trang 2/2")
    assert shown_ids(desk) == [ids[1], ids[0]]
    expect(desk.get_by_label("Số điện thoại")).to_have_value(spaced(busy))
    search(desk, phone=spaced(busy), per_page="50")
    expect(desk.locator("tbody tr[data-call]")).to_have_count(27)
    expect(desk.get_by_role("navigation", name="Trang")).to_have_count(0)


# ---- the missed calls ----

def test_missed_calls_count_each_numbers_calls_and_call_back_answers_beside_the_button(person, store) -> None:
    caller = new_phone()
    start = now() - timedelta(minutes=50)
    first = store(caller, start, Disposition.abandoned)
    second = store(caller, start + timedelta(minutes=5), Disposition.timeout)
    answered = store(caller, start + timedelta(minutes=8))
    desk = person("dienthoai")
    desk.goto("/calls")
    desk.get_by_role("link", name="Cuộc gọi nhỡ").click()
    expect(desk.get_by_role("link", name="Cuộc gọi nhỡ")).to_have_attribute("aria-current", "page")
    row = desk.locator(f"tr[data-call='{second}']")
    expect(row).to_contain_text(caller)
    expect(row).to_contain_text("2 lần")
    expect(row).to_contain_text("Quá thời gian chờ")
    expect(desk.locator(f"tr[data-call='{first}']")).to_contain_text("Người gọi gác máy khi chờ")
    expect(desk.locator(f"tr[data-call='{answered}']")).to_have_count(0)
    ids = shown_ids(desk)
    assert ids.index(second) < ids.index(first), ids
    # no extension logged in: the refusal is said in Vietnamese beside the button, on the same page
    desk.evaluate("window.__sameDocument = true")
    row.get_by_role("button", name=re.compile("^Gọi lại")).click()
    expect(row.get_by_role("status")).to_contain_text(re.compile("máy nhánh|Tổng đài điện thoại chưa kết nối"))
    assert desk.evaluate("window.__sameDocument") is True
    expect(desk.get_by_text("Lỗi 500")).to_have_count(0)


# ---- one call ----

def test_a_call_shows_its_times_events_and_plays_its_recording(person, store, calls_server) -> None:
    caller = new_phone()
    started = now() - timedelta(minutes=20)
    agent = store.agent_id("dienthoai")
    call_id = store(caller, started, agent_id=agent, extension="101", ivr_path="1-2", recording=WAV,
                    events=((4, "ENTERQUEUE"), (12, "RINGNOANSWER"), (19, "CONNECT"), (84, "COMPLETECALLER")))
    desk = person("dieuphoi")
    desk.goto("/calls")
    search(desk, phone=spaced(caller))
    desk.locator(f"tr[data-call='{call_id}']").get_by_role("link", name=re.compile("Chi tiết")).click()
    expect(desk.get_by_role("heading", level=1)).to_have_text(f"Cuộc gọi {call_id}")
    facts = desk.locator("dl.facts")
    expect(facts.locator("[data-field=number]")).to_have_text(caller)
    expect(facts.locator("[data-field=disposition]")).to_have_text("Đã trả lời · người gọi kết thúc")
    expect(facts.locator("[data-field=wait]")).to_have_text("0:15")
    expect(facts.locator("[data-field=talk]")).to_have_text("1:05")
    expect(facts.locator("[data-field=agent]")).to_have_text("Trần Văn Trực (máy nhánh 101)")
    expect(facts.locator("[data-field=queue]")).to_have_text("hotline")
    expect(facts.locator("[data-field=ivr]")).to_have_text("1-2")
    expect(facts).to_contain_text(started.strftime("%d/%m/%Y %H:%M:%S"))
    events = desk.locator("ol.call-events li")
    expect(events).to_have_count(4)
    expect(events.nth(0)).to_contain_text("Vào hàng đợi")
    expect(events.nth(2)).to_contain_text("Đã kết nối với điện thoại viên")
    report = desk.get_by_role("link", name="Tạo phản ánh từ cuộc gọi")
    expect(report).to_have_attribute("href", f"/desk/new/add?phone={caller}&call={call_id}")
    # the player points at the recording, which answers whole (200) and by ranges (206)
    audio = desk.locator("audio")
    expect(audio).to_have_attribute("controls", "")
    expect(audio).to_have_attribute("preload", "none")
    src = audio.get_attribute("src")
    assert src == f"/api/v1/calls/{call_id}/recording"
    whole = desk.request.get(src)
    assert whole.status == 200 and whole.body() == WAV and whole.headers["content-type"] == "audio/wav"
    part = desk.request.get(src, headers={"Range": "bytes=44-143"})
    assert part.status == 206 and part.body() == WAV[44:144]
    assert part.headers["content-range"] == f"bytes 44-143/{len(WAV)}"
    # and the browser's player reads it (its metadata: the WAV's header and length)
    desk.evaluate("document.querySelector('audio').load()")
    desk.wait_for_function("() => { const a = document.querySelector('audio'); return a.readyState >= 1 || a.error; }")
    assert desk.evaluate("document.querySelector('audio').error") is None, "the browser could not read the recording"
    assert desk.evaluate("document.querySelector('audio').duration") == pytest.approx(1.0, abs=0.05)
    with desk.expect_download() as saving:
        desk.get_by_role("link", name="Tải bản ghi âm").click()
    assert saving.value.suggested_filename == f"call-{call_id}.wav"
    assert_accessible(desk)


def test_an_inspector_sees_masked_numbers_and_no_player(person, store) -> None:
    caller = new_phone()
    call_id = store(caller, now() - timedelta(minutes=15), recording=WAV, citizen_name="Lê Văn Tư")
    inspector = person("kiemtra")
    inspector.goto(f"/calls/{call_id}")
    expect(inspector.get_by_role("heading", level=1)).to_have_text(f"Cuộc gọi {call_id}")
    expect(inspector.locator("[data-field=number]")).to_have_text(caller[:3] + "*****" + caller[-2:])
    expect(inspector.locator("dl.facts")).not_to_contain_text("Lê Văn Tư")
    expect(inspector.locator("audio")).to_have_count(0)
    expect(inspector.get_by_text("Cần quyền xem dữ liệu cá nhân để nghe ghi âm.")).to_be_visible()
    expect(inspector.get_by_role("link", name="Tạo phản ánh từ cuộc gọi")).to_have_count(0)


def test_an_officer_may_not_open_the_call_pages(person, calls_server) -> None:
    officer = person("cv.tranbien")
    for path in ("/calls", "/calls/missed"):
        answer = officer.goto(path)
        assert answer is not None and answer.status == 403, path


@pytest.mark.parametrize("locale", ["vi-VN", "en-GB"])
def test_the_call_screens_have_no_serious_accessibility_violation(browser: Browser, calls_server: str, store,
                                                                  locale: str) -> None:
    call_id = store(new_phone(), now() - timedelta(minutes=5), Disposition.no_agent, recording=WAV,
                    events=((4, "ENTERQUEUE"), (60, "EXITEMPTY")))
    context = browser.new_context(base_url=calls_server, locale=locale, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.goto("/login")
        page.locator("input[name=username]").fill("dieuphoi")
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        page.locator("input[name=password]").press("Enter")
        expect(page).not_to_have_url(re.compile("/login"))
        for path in ("/calls", "/calls?date_from=x", "/calls/missed", f"/calls/{call_id}"):
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert_accessible(page)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 1366, f"{path} scrolls sideways on a desktop ({width}px)"
    finally:
        context.close()


def test_the_recording_is_not_served_to_a_stranger(calls_server: str, store) -> None:
    call_id = store(new_phone(), now(), recording=WAV)
    with httpx.Client(base_url=calls_server, timeout=10) as client:
        assert client.get(f"/api/v1/calls/{call_id}/recording").status_code == 401
