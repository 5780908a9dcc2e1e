"""An agent's own page at the call center (CC-02, 03, 39) and the state in every page's header:
log in at an extension, pause with a reason, ready, log out; bad input said beside the field."""

from __future__ import annotations

from tests.integration.test_sms_inbox_pages import browser, csrf_of, page, post


async def test_an_agent_logs_in_pauses_and_logs_out_from_the_page(client) -> None:
    desk = await browser(client, "dieuphoi")
    shown = await page(client, desk, "/agent")
    assert shown.status_code == 200 and "Chưa đăng nhập" in shown.text and "Không nhận cuộc gọi" in shown.text
    token = csrf_of(shown.text)
    bad = await post(client, desk, "/agent", {"csrf_token": token, "action": "login", "extension": "1x"})
    assert bad.status_code == 422 and "Số máy nhánh gồm 2 đến 8 chữ số." in bad.text
    done = await post(client, desk, "/agent", {"csrf_token": token, "action": "login", "extension": "101"})
    assert done.status_code == 303 and done.headers["location"] == "/agent?done=login"
    shown = await page(client, desk, "/agent?done=login")
    assert "Đã đăng nhập: cuộc gọi sẽ đổ chuông tại máy nhánh của bạn." in shown.text
    assert "Đang nhận cuộc gọi · 101" in shown.text and "máy nhánh 101" in shown.text
    # another agent cannot take the same extension
    other = await browser(client, "dienthoai")
    taken = await post(client, other, "/agent", {"csrf_token": token, "action": "login", "extension": "101"})
    assert taken.status_code == 409 and "Máy nhánh 101 đang được điện thoại viên khác sử dụng." in taken.text
    desk_again = await browser(client, "dieuphoi")
    assert (await post(client, desk_again, "/agent", {"csrf_token": token, "action": "pause", "reason": "other",
                                                      "other": ""})).status_code == 422
    assert (await post(client, desk_again, "/agent", {"csrf_token": token, "action": "pause",
                                                      "reason": "Nghỉ trưa"})).status_code == 303
    shown = await page(client, desk_again, "/agent")
    assert "Tạm nghỉ" in shown.text and "Nghỉ trưa" in shown.text and "Sẵn sàng nhận cuộc gọi" in shown.text
    assert (await post(client, desk_again, "/agent", {"csrf_token": token, "action": "ready"})).status_code == 303
    assert (await post(client, desk_again, "/agent", {"csrf_token": token, "action": "logout"})).status_code == 303
    assert "Chưa đăng nhập" in (await page(client, desk_again, "/agent")).text


async def test_people_who_take_no_calls_have_no_agent_page_or_chip(client) -> None:
    officer = await browser(client, "cv.tranbien")
    assert (await page(client, officer, "/agent")).status_code == 403
    assert 'data-testid="agent-chip"' not in (await page(client, officer, "/inbox")).text
