"""The ticket detail page in a real browser, on a ticket that went through the real engine:
the desk dispatched it and the ward's manager assigned an officer (Temporal + worker). The map
server cannot be reached (as in this sandbox, and as on a desk without internet): the page says
so and still shows the address and coordinates. Also: the diagram with the current step
marked, the progress tree, an attachment uploaded and downloaded, and axe-core finding no
serious or critical WCAG 2.1 AA violation.

Playwright's sync API keeps an event loop in the main thread, so the async `running` fixture
cannot serve here: this module serves the full app with its worker (`create_full_app(…,
with_worker=True)`, as `hotline up` does) on its own database and Temporal dev server, and
drives the ticket through the HTTP API."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from cli.asgi import create_full_app
from cli.embedded.temporal import EmbeddedTemporal
from core.settings import Settings
from tests.e2e.axe import axe_violations
from tests.e2e.test_ui_shell import sign_in
from tests.support import database_copy, serve_in_thread, wait_for

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 16
DEADLINE_S = 120  # generous: the engine shares the machine with the rest of the suite


@pytest.fixture(scope="module")
def engine_server(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The full app with a Temporal worker, over HTTP, on a database of its own."""
    temporal = EmbeddedTemporal(None, ui=False)
    temporal.launch(tmp_path_factory.mktemp("temporal"))  # from the main thread: its parent-death signal
    try:
        with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run beside Playwright's loop in this thread
            pool.submit(temporal.wait_ready, 90).result()
        with database_copy(template_url, "e2e_detail") as url:
            settings = Settings(database_url=url, env="test", data_dir=tmp_path_factory.mktemp("detail-data"),
                                temporal_address=temporal.address, task_queue=f"e2e-{uuid.uuid4()}",
                                workflow_id_prefix=f"e{uuid.uuid4().hex[:8]}-", sla_override_seconds=3600,
                                log_json=False, log_level="WARNING")
            with serve_in_thread(create_full_app(settings, with_worker=True)) as base:
                yield base
    finally:
        temporal.stop()


class Api:
    """The HTTP API as the people of the story use it."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.tokens: dict[str, dict[str, str]] = {}

    def as_(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            answer = self.http.post("/api/v1/auth/token", data={"username": username, "password": "Hotline@1022"})
            assert answer.status_code == 200, answer.text
            self.tokens[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self.tokens[username]

    def complete(self, username: str, code: str, bpmn_id: str, **data: Any) -> None:
        def item() -> dict[str, Any] | None:
            items = self.http.get("/api/v1/inbox", headers=self.as_(username), params={"per_page": 200}).json()["items"]
            return next((i for i in items if i["ticket_code"] == code and i["bpmn_id"] == bpmn_id), None)

        found = wait_for(item, DEADLINE_S, f"{bpmn_id} in {username}'s inbox")
        done = self.http.post(f"/api/v1/inbox/{found['id']}/complete", headers=self.as_(username), json={"data": data})
        assert done.status_code == 200, done.text


@pytest.fixture(scope="module")
def assigned_ticket(engine_server: str) -> str:
    """A ticket the desk dispatched to Phường Trấn Biên and whose manager assigned an officer."""
    api = Api(engine_server)
    opened = api.http.post("/api/v1/tickets", headers={**api.as_("dieuphoi"), "Idempotency-Key": "e2e-detail-1"}, json={
        "channel": "call", "description": "Đèn đường trên đường Phạm Văn Thuận không sáng từ tối qua.",
        "citizen_name": "Trần Thị Mai", "citizen_phone": "0987654321", "address": "45 Phạm Văn Thuận, phường Trấn Biên",
        "latitude": 10.9512, "longitude": 106.8431})
    assert opened.status_code == 201, opened.text
    code = opened.json()["code"]
    units = {u["code"]: u["path"] for u in api.http.get("/api/v1/org-units", headers=api.as_("admin")).json()}
    api.complete("dieuphoi", code, "dispatch", unit_path=units["P.TRANBIEN"], note="Chuyển phường xử lý")
    api.complete("ld.tranbien", code, "assign", decision="officer", officer="cv.tranbien", note="Kiểm tra trong ngày")
    wait_for(lambda: api.http.get(f"/api/v1/tickets/{code}", headers=api.as_("dieuphoi")).json()["status"] == "assigned",
             DEADLINE_S, "the ticket assigned")
    return code


@pytest.fixture()
def desk_page(browser: Browser, engine_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=engine_server, locale="vi-VN", viewport={"width": 1366, "height": 900},
                                  accept_downloads=True)
    # No map server here (nor on a desk without internet): every tile request fails at once.
    context.route(re.compile(r"^https?://([a-z0-9-]+\.)*tile\.openstreetmap\.org/"), lambda route: route.abort())
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_the_desk_follows_a_dispatched_and_assigned_ticket(desk_page: Page, assigned_ticket: str, artifacts: Path) -> None:
    page, code = desk_page, assigned_ticket
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    # given the coordinator signed in
    sign_in(page, "dieuphoi")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Nguyễn Thị Điều Phối")
    # when they open the ticket
    page.goto(f"/tickets/{code}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Phản ánh {code}")
    expect(page.get_by_test_id("ticket-status")).to_have_text("Đang xử lý")
    expect(page.get_by_test_id("ticket-unit")).to_have_text("UBND phường Trấn Biên")
    expect(page.get_by_test_id("ticket-assignee")).to_have_text("Bùi Thị Trấn")
    expect(page.get_by_test_id("citizen-phone")).to_have_text("0987654321")
    # then the map says its background cannot load, and the address and coordinates still show
    expect(page.get_by_text("Không tải được nền bản đồ")).to_be_visible()
    expect(page.get_by_test_id("ticket-address")).to_have_text("45 Phạm Văn Thuận, phường Trấn Biên")
    expect(page.get_by_test_id("ticket-coordinates")).to_have_text("10.951200, 106.843100")
    expect(page.locator("#ticket-map .leaflet-marker-icon")).to_have_count(1)
    # and the progress tree shows the assignment under the dispatch
    tree = page.get_by_test_id("progress-tree")
    dispatched = tree.locator(":scope > li", has=page.get_by_text("Đã chuyển đơn vị", exact=True))
    expect(dispatched).to_have_count(1)
    expect(dispatched.locator("ul li", has=page.get_by_text("Phân công chuyên viên xử lý", exact=True))).to_have_count(1)
    expect(page.get_by_test_id("progress-list")).to_contain_text("Tiếp nhận phản ánh")
    # and the diagram of the ticket's own version marks done steps and the officer's current task
    diagram = page.locator("#ticket-diagram")
    expect(diagram).to_have_attribute("data-state", "ready", timeout=15_000)
    expect(diagram.locator('.djs-element.is-current[data-element-id="process"]')).to_have_count(1)
    expect(diagram.locator('.djs-element.is-done[data-element-id="dispatch"]')).to_have_count(1)
    expect(diagram.locator('.djs-element.is-done[data-element-id="assign"]')).to_have_count(1)
    expect(page.get_by_test_id("process-waits")).to_contain_text("Xử lý phản ánh")
    expect(page.get_by_test_id("process-steps").locator("tr.step--claimed")).to_contain_text("Đã nhận")
    page.get_by_role("button", name="Phóng to").click()
    page.screenshot(path=str(artifacts / "ticket-detail.png"), full_page=True)
    # when the desk attaches a photo
    page.get_by_label("Đính kèm tệp").set_input_files({"name": "hien-truong.jpg", "mimeType": "image/jpeg", "buffer": JPEG})
    page.get_by_role("button", name="Tải lên").click()
    # then the page confirms it and the file downloads byte for byte
    expect(page.get_by_role("status").filter(has_text="Đã đính kèm tệp.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="hien-truong.jpg").click()
    assert download.value.suggested_filename == "hien-truong.jpg"
    assert Path(download.value.path()).read_bytes() == JPEG
    expect(page.get_by_test_id("progress-list")).to_contain_text("Đính kèm tệp")
    # and nothing on the page broke the Content-Security-Policy
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    # and axe-core finds no serious or critical WCAG 2.1 AA violation
    expect(diagram).to_have_attribute("data-state", "ready")
    violations = axe_violations(page)
    assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)


def test_another_units_officer_gets_the_vietnamese_not_found_page(desk_page: Page, assigned_ticket: str) -> None:
    page = desk_page
    sign_in(page, "cv.giaothong")
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Phạm Thị Giao")
    answer = page.goto(f"/tickets/{assigned_ticket}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("alert")).to_have_text("Phản ánh này không tồn tại hoặc không thuộc phạm vi đơn vị của bạn.")

