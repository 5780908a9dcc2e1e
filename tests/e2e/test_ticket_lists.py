"""The ticket list in a real browser: filters update the table in place (htmx), a row opens its
report by double-click or Enter, and the Excel exports (all matching rows, selected rows) come
down as .xlsx files that openpyxl reads back."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from cli.tasks import in_transaction
from core.models.tickets import Channel, Ticket, TicketCreate, TicketStatus
from core.services import tickets
from core.services.actor import system_actor
from tests.e2e.test_ui_shell import sign_in


@pytest.fixture
def marked_tickets(e2e_database_url: str) -> tuple[str, list[str]]:
    """Three tickets whose content carries a word of their own (the browser session's database
    is shared): two new, one resolved. Returns (word, codes newest first)."""
    word = f"kiemthu{uuid.uuid4().hex[:8]}"

    async def add(session: AsyncSession) -> list[str]:
        codes = []
        for n, status in enumerate((TicketStatus.new, TicketStatus.resolved, TicketStatus.new)):
            data = TicketCreate(channel=Channel.call, description=f"Phản ánh {word} số {n}: đèn đường không sáng",
                                citizen_name="Trần Thị Bình", citizen_phone="0987654321")
            ticket, _created = await tickets.open_ticket(session, system_actor(), data, f"{word}-{n}")
            await session.exec(update(Ticket).where(col(Ticket.id) == ticket.id).values(status=status))  # type: ignore[call-overload]
            codes.append(ticket.code)
        return codes[::-1]

    with ThreadPoolExecutor(1) as pool:  # asyncio.run cannot run beside Playwright's own loop in this thread
        codes = pool.submit(in_transaction, e2e_database_url, add).result()
    return word, codes


def workbook(path: Path) -> openpyxl.Workbook:
    """The downloaded file (Playwright keeps it under a name without an extension)."""
    with path.open("rb") as file:
        return openpyxl.load_workbook(file)


def rows(page: Page):
    return page.get_by_test_id("ticket-row")


def test_filter_open_and_export_the_ticket_list(page: Page, marked_tickets: tuple[str, list[str]],
                                                artifacts: Path) -> None:
    word, codes = marked_tickets
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    # given the coordinator on the ticket list
    sign_in(page, "dieuphoi")
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Thống kê tin báo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Danh sách tin báo")
    # when they type the word, the table narrows in place to its three tickets
    page.get_by_label("Tìm kiếm").fill(word)
    expect(rows(page)).to_have_count(3)
    expect(page.get_by_test_id("ticket-count")).to_have_text("3 phản ánh")
    assert [rows(page).nth(i).get_attribute("data-href") for i in range(3)] == [f"/tickets/{c}" for c in codes]
    # and a status narrows it further; the address keeps the filters
    page.get_by_label("Trạng thái").select_option(label="Đã giải quyết")
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]status=resolved"))
    page.screenshot(path=str(artifacts / "ticket-list.png"), full_page=True, caret="initial")  # hiding it injects a style the CSP refuses
    # when they export every matching row, the download is a real workbook with that one row
    with page.expect_download() as download:
        page.get_by_role("link", name="Xuất tất cả ra Excel").click()
    assert download.value.suggested_filename.startswith("Danh sách tin báo") and download.value.suggested_filename.endswith(".xlsx")
    sheet = workbook(download.value.path()).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [codes[1]]
    assert sheet["A1"].value == "Mã phản ánh" and sheet.freeze_panes == "A2"
    # when they clear the status and pick two rows, only those two are exported
    page.get_by_label("Trạng thái").select_option(value="")
    expect(rows(page)).to_have_count(3)
    page.get_by_label(f"Chọn {codes[0]}").check()
    page.get_by_label(f"Chọn {codes[2]}").check()
    with page.expect_download() as selected:
        page.get_by_role("button", name="Xuất các dòng đã chọn ra Excel").click()
    sheet = workbook(selected.value.path()).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [codes[0], codes[2]]
    # when they double-click a row, its report opens
    rows(page).nth(1).get_by_role("cell").nth(4).dblclick()
    expect(page).to_have_url(re.compile(rf"/tickets/{codes[1]}$"))
    # and from the list again, Enter on a focused row opens it too (keyboard only)
    page.go_back()
    expect(rows(page)).to_have_count(3)
    rows(page).nth(0).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/tickets/{codes[2]}$"))
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_desk_spam_list_shows_only_spam(page: Page, e2e_database_url: str) -> None:
    word = f"rac{uuid.uuid4().hex[:8]}"

    async def add(session: AsyncSession) -> str:
        data = TicketCreate(channel=Channel.sms, description=f"Tin quảng cáo {word} không liên quan")
        ticket, _created = await tickets.open_ticket(session, system_actor(), data, word)
        await session.exec(update(Ticket).where(col(Ticket.id) == ticket.id).values(status=TicketStatus.spam))  # type: ignore[call-overload]
        return ticket.code

    with ThreadPoolExecutor(1) as pool:
        code = pool.submit(in_transaction, e2e_database_url, add).result()
    sign_in(page, "dieuphoi")
    page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Tin rác").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tin rác")
    expect(page.get_by_label("Trạng thái")).to_have_count(0)  # the status is the list's own
    page.get_by_label("Tìm kiếm").fill(word)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-href", f"/tickets/{code}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Xuất tất cả ra Excel").click()
    assert download.value.suggested_filename.startswith("Tin rác")
