"""The ticket detail page over HTTP (CRM-04): personal data masked per role exactly as the API
masks it (unmasked reads logged), another unit's ticket answered with a Vietnamese 404 page,
attachments uploaded from the page with Vietnamese refusals, the pinned diagram served with a
layout, and the process panel's retry button for the desk only."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from sqlmodel import select

from api.lifecycle import complete
from core.db import unit_of_work
from core.models import OrgUnit
from core.models.tickets import TicketCreate
from core.services.actor import Actor, system_actor
from core.services.tickets import open_ticket
from tests.conftest import login

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(2000)
DEADLINE_S = 60


async def new_ticket(app, key: str, unit_code: str | None = None) -> str:
    """A ticket without its workflow (no Temporal here), with personal data, optionally at a unit."""
    async with unit_of_work(app.state.services.sessions) as session:
        ticket, _ = await open_ticket(session, system_actor(), TicketCreate(
            channel="call", description="Nước thải tràn ra đường Phạm Văn Thuận sau mưa.", citizen_name="Lê Thị Hoa",
            citizen_phone="0912345678", citizen_id_number="075123456789", address="12 Phạm Văn Thuận, Trấn Biên",
            latitude=10.9474, longitude=106.8242), key)
        if unit_code:
            ticket.current_unit_id = (await session.exec(select(OrgUnit.id).where(OrgUnit.code == unit_code))).one()
            session.add(ticket)
        return ticket.code


async def browser(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Cookies of a signed-in browser: the UI session cookie holds the same opaque token."""
    token = (await login(client, username))["Authorization"].split(" ", 1)[1]
    return {"hotline_session": token}


def _as(client: httpx.AsyncClient, cookies: dict[str, str]) -> httpx.AsyncClient:
    """The client as this person's browser (keeping the browser's CSRF cookie)."""
    csrf = client.cookies.get("hotline_csrf")
    client.cookies.clear()
    client.cookies.update(cookies)
    if csrf:
        client.cookies.set("hotline_csrf", csrf)
    return client


async def page(client: httpx.AsyncClient, cookies: dict[str, str], path: str) -> httpx.Response:
    return await _as(client, cookies).get(path, headers={"Accept-Language": "vi"})


async def post(client: httpx.AsyncClient, cookies: dict[str, str], path: str, **kw: Any) -> httpx.Response:
    return await _as(client, cookies).post(path, headers={"Accept-Language": "vi"}, **kw)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


# ---- data, masking, scoping ----

async def test_the_desk_sees_personal_data_and_the_read_is_logged(client, app) -> None:
    code = await new_ticket(app, "detail-pii-1")
    desk = await browser(client, "dieuphoi")
    # when the coordinator opens the page
    answer = await page(client, desk, f"/tickets/{code}")
    # then the citizen's phone and ID number are shown in full, with the ticket's data
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert f"Phản ánh {code}" in html
    assert 'data-testid="citizen-phone">0912345678<' in html and 'data-testid="citizen-id">075123456789<' in html
    assert "Gọi điện thoại" in html and ">Mới<" in html and "12 Phạm Văn Thuận, Trấn Biên" in html
    assert "10.947400, 106.824200" in html
    # and the unmasked read is in the audit log
    admin = await login(client, "admin")
    client.cookies.clear()
    log = (await client.get("/api/v1/audit", headers=admin, params={"entity": "ticket", "entity_id": code})).json()
    assert "pii.read" in [e["action"] for e in log["items"]]


async def test_an_inspector_sees_personal_data_masked_as_the_api_masks_it(client, app) -> None:
    code = await new_ticket(app, "detail-pii-2")
    inspector = await browser(client, "kiemtra")
    api = (await client.get(f"/api/v1/tickets/{code}", headers=await login(client, "kiemtra"))).json()
    html = (await page(client, inspector, f"/tickets/{code}")).text
    assert api["citizen_phone"] == "091*****78" and api["citizen_id_number"] == "07********89"
    assert f'data-testid="citizen-phone">{api["citizen_phone"]}<' in html
    assert f'data-testid="citizen-id">{api["citizen_id_number"]}<' in html
    assert "0912345678" not in html and "075123456789" not in html
    # an inspector may not attach files
    assert 'name="file"' not in html


async def test_another_units_officer_gets_a_vietnamese_404_page(client, app) -> None:
    code = await new_ticket(app, "detail-scope-1", unit_code="P.TRANBIEN")
    # the ward's own officer sees it
    own = await page(client, await browser(client, "cv.tranbien"), f"/tickets/{code}")
    assert own.status_code == 200 and 'data-testid="ticket-unit">UBND phường Trấn Biên<' in own.text
    # another unit's officer is told it does not exist, in Vietnamese, as an HTML page
    other = await page(client, await browser(client, "cv.giaothong"), f"/tickets/{code}")
    assert other.status_code == 404 and "text/html" in other.headers["content-type"]
    assert "Phản ánh này không tồn tại hoặc không thuộc phạm vi đơn vị của bạn." in other.text
    assert "Traceback" not in other.text
    # a malformed code is the same 404, not a validation error
    assert (await page(client, await browser(client, "cv.giaothong"), "/tickets/not-a-code")).status_code == 404
    # and the diagram of that ticket is refused the same way
    assert (await page(client, await browser(client, "cv.giaothong"), f"/tickets/{code}/diagram.bpmn")).status_code == 404


async def test_signed_out_visitors_are_sent_to_sign_in(client, app) -> None:
    code = await new_ticket(app, "detail-anon-1")
    client.cookies.clear()
    answer = await client.get(f"/tickets/{code}")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


async def test_the_page_lets_map_tiles_come_from_the_tile_server_only(client, app, settings) -> None:
    code = await new_ticket(app, "detail-csp-1")
    answer = await page(client, await browser(client, "dieuphoi"), f"/tickets/{code}")
    csp = answer.headers["content-security-policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org" in csp and "unsafe-inline" not in csp
    assert f'data-tile-url="{settings.map_tile_url}"' in answer.text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", answer.text, flags=re.DOTALL)
    assert scripts and all(body.strip() == "" for body in scripts)


# ---- attachments ----

async def test_the_desk_uploads_from_the_page_and_bad_files_are_refused_in_vietnamese(client, app) -> None:
    code = await new_ticket(app, "detail-upload-1")
    desk = await browser(client, "dieuphoi")
    html = (await page(client, desk, f"/tickets/{code}")).text
    action = re.search(r'action="(/tickets/[^"]+/attachments\?csrf_token=[^"]+)"', html)
    assert action is not None
    target = action.group(1).replace("&amp;", "&")
    # when a renamed program is uploaded, the page says why in Vietnamese next to the field
    refused = await post(client, desk, target, files={"file": ("anh.jpg", EXE, "image/jpeg")})
    assert refused.status_code == 422
    assert "Không chấp nhận loại tệp này." in refused.text and 'id="f-file-error"' in refused.text
    # when a photo is uploaded, the page comes back with it listed and a download link
    done = await post(client, desk, target, files={"file": ("Ảnh hiện trường.jpg", JPEG, "image/jpeg")})
    assert done.status_code == 303 and done.headers["location"] == f"/tickets/{code}?done=uploaded#attachments"
    after = (await page(client, desk, done.headers["location"])).text
    assert "Đã đính kèm tệp." in after and "Ảnh hiện trường.jpg" in after
    link = re.search(rf'href="(/api/v1/tickets/{code}/attachments/\d+)"', after)
    assert link is not None
    download = await _as(client, desk).get(link.group(1))
    assert download.status_code == 200 and download.content == JPEG
    # and a form without the token is refused
    forged = await post(client, desk, f"/tickets/{code}/attachments", files={"file": ("a.jpg", JPEG, "image/jpeg")})
    assert forged.status_code == 403


async def test_an_officer_cannot_upload(client, app) -> None:
    code = await new_ticket(app, "detail-upload-2", unit_code="P.TRANBIEN")
    officer = await browser(client, "cv.tranbien")
    html = (await page(client, officer, f"/tickets/{code}")).text
    assert 'name="file"' not in html
    answer = await post(client, officer, f"/tickets/{code}/attachments?csrf_token={csrf_of(html)}",
                               files={"file": ("a.jpg", JPEG, "image/jpeg")})
    assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]


# ---- process: diagram, panel, retry (real Temporal) ----

async def _eventually(check, what: str):
    async with asyncio.timeout(DEADLINE_S):
        while not (result := await check()):
            await asyncio.sleep(0.05)
    return result


async def _dispatch_past_the_api_check(running, headers: dict[str, str], code: str, unit_path: str) -> None:  # noqa: ANN001
    """Complete the dispatch straight through the workflow, as an integration that skips the
    API's reference check would (the API itself refuses an unknown unit with a 422)."""
    async def item() -> dict[str, Any] | None:
        items = (await running.client.get("/api/v1/inbox", headers=headers, params={"per_page": 200})).json()["items"]
        return next((i for i in items if i["ticket_code"] == code and i["bpmn_id"] == "dispatch"), None)

    found = await _eventually(item, "task dispatch")
    desk = Actor(user_id=None, username="dieuphoi", roles=frozenset({"coordinator"}), unit_path="/1/")
    await complete(running.services, desk, f"{running.services.settings.workflow_id_prefix}{code}",
                   found["spiff_task_id"], {"unit_path": unit_path})


async def test_the_diagram_panel_and_the_desks_retry(running) -> None:
    client = running.client
    desk_api = await login(client, "dieuphoi")
    opened = await client.post("/api/v1/tickets", headers={**desk_api, "Idempotency-Key": "detail-incident-1"},
                               json={"channel": "call", "description": "Cây đổ chắn ngang đường Đồng Khởi."})
    assert opened.status_code == 201, opened.text
    code = opened.json()["code"]
    desk, inspector = await browser(client, "dieuphoi"), await browser(client, "kiemtra")
    # the process waits for the desk's dispatch: the panel says so and the diagram is served laid out
    html = (await page(client, desk, f"/tickets/{code}")).text
    assert "Điều phối phản ánh" in html and "Đang chờ" in html
    assert "&#34;current&#34;: [&#34;dispatch&#34;]" in html
    diagram = await page(client, desk, f"/tickets/{code}/diagram.bpmn")
    assert diagram.status_code == 200 and "bpmndi:BPMNShape" in diagram.text and 'bpmnElement="dispatch"' in diagram.text
    # and a retry while nothing failed is explained in Vietnamese
    nothing = await post(client, desk, f"/tickets/{code}/process/retry", data={"csrf_token": csrf_of(html)})
    assert nothing.status_code == 409 and "không có bước lỗi nào để chạy lại" in nothing.text
    # when a dispatch to a unit that does not exist stops the process
    await _dispatch_past_the_api_check(running, desk_api, code, "/9999/")

    async def incident_shown() -> str | None:
        text = (await page(client, desk, f"/tickets/{code}")).text
        return text if 'data-testid="process-incident"' in text else None

    html = await _eventually(incident_shown, "the incident on the page")
    # then the desk sees the failed step and a retry button; the inspector sees the step, no button
    assert "/9999/" in html and "Chạy lại bước bị lỗi" in html
    assert "&#34;failed&#34;: [&#34;record_dispatch&#34;]" in html
    seen = (await page(client, inspector, f"/tickets/{code}")).text
    assert 'data-testid="process-incident"' in seen and "Chạy lại bước bị lỗi" not in seen
    refused = await post(client, inspector, f"/tickets/{code}/process/retry", data={"csrf_token": csrf_of(seen)})
    assert refused.status_code == 403
    # when the desk presses retry, the step runs again (and fails again: the unit is still wrong)
    retried = await post(client, desk, f"/tickets/{code}/process/retry", data={"csrf_token": csrf_of(html)})
    assert retried.status_code == 303 and retried.headers["location"] == f"/tickets/{code}?done=retried#process"
