"""Ticket attachments over HTTP: upload, list and download with the checksum kept; retries never
duplicate; oversize, disguised and malformed uploads are refused with nothing stored; the
ticket's own authorization and unit scoping apply."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
from sqlmodel import select

from core.db import unit_of_work
from core.models import OrgUnit, Ticket
from core.models.tickets import TicketCreate
from core.services.actor import system_actor
from core.services.tickets import open_ticket
from tests.conftest import login

MAX_BYTES = 64 * 1024
MAX_PER_TICKET = 3
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 20
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"0" * 2000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 3000
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(4000)


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201 - small limits keep the refusals quick
    settings.attachment_max_bytes = MAX_BYTES
    settings.attachment_max_per_ticket = MAX_PER_TICKET
    return settings


@pytest.fixture
async def desk(client) -> dict[str, str]:  # noqa: ANN001
    return await login(client, "dieuphoi")


async def new_ticket(app, key: str, unit_code: str | None = None) -> str:  # noqa: ANN001
    """A ticket without its workflow (these tests have no Temporal), optionally already at a unit."""
    async with unit_of_work(app.state.services.sessions) as session:
        ticket, _ = await open_ticket(session, system_actor(), TicketCreate(
            channel="web", description="Ổ gà lớn giữa đường Võ Thị Sáu, xe máy dễ té ngã."), key)
        if unit_code:
            ticket.current_unit_id = (await session.exec(select(OrgUnit.id).where(OrgUnit.code == unit_code))).one()
            session.add(ticket)
        return ticket.code


async def upload(client, headers, code: str, data: bytes, name: str = "anh.jpg",  # noqa: ANN001, ANN201
                 claimed_type: str = "image/jpeg"):
    return await client.post(f"/api/v1/tickets/{code}/attachments", headers=headers,
                             files={"file": (name, data, claimed_type)})


def stored_files(settings) -> list[Path]:  # noqa: ANN001
    root = settings.attachments_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_upload_list_and_download_keep_the_exact_bytes(client, app, desk, settings) -> None:
    # given a ticket and a photo whose client claims to be HTML
    code = await new_ticket(app, "att-roundtrip-1")
    # when the desk attaches it
    response = await upload(client, desk, code, JPEG, name="C:\\fakepath\\Ảnh hiện trường.jpg", claimed_type="text/html")
    # then the type comes from the bytes, the name is sanitised and the checksum recorded
    assert response.status_code == 201, response.text
    attachment = response.json()
    sha = hashlib.sha256(JPEG).hexdigest()
    assert attachment["content_type"] == "image/jpeg" and attachment["filename"] == "Ảnh hiện trường.jpg"
    assert attachment["size_bytes"] == len(JPEG) and attachment["sha256"] == sha
    assert stored_files(settings) == [settings.attachments_dir / sha[:2] / sha]
    # and it is listed and downloads byte for byte, never to be rendered inline
    listed = (await client.get(f"/api/v1/tickets/{code}/attachments", headers=desk)).json()
    assert [a["id"] for a in listed] == [attachment["id"]]
    download = await client.get(f"/api/v1/tickets/{code}/attachments/{attachment['id']}", headers=desk)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == sha
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith('attachment; filename="Anh hien truong.jpg"')
    assert "filename*=UTF-8''%E1%BA%A2nh%20hi%E1%BB%87n%20tr%C6%B0%E1%BB%9Dng.jpg" in download.headers["content-disposition"]
    # and the progress shows the step, the audit log the download
    progress = (await client.get(f"/api/v1/tickets/{code}/progress", headers=desk)).json()["list"]
    assert [e["action"] for e in progress] == ["received", "attachment_added"]
    assert progress[1]["data"]["sha256"] == sha and progress[1]["actor_name"] == "dieuphoi"
    admin = await login(client, "admin")
    log = (await client.get("/api/v1/audit", headers=admin, params={"entity": "ticket", "entity_id": code})).json()
    assert [e["action"] for e in log["items"]] == ["attachment.read"]


async def test_a_retried_upload_returns_the_same_attachment(client, app, desk, settings) -> None:
    code = await new_ticket(app, "att-retry-1")
    # when the same file arrives four times at once, then once more under another name
    concurrent = await asyncio.gather(*(upload(client, desk, code, PDF, name="don.pdf") for _ in range(4)))
    again = await upload(client, desk, code, PDF, name="don-gui-lai.pdf")
    # then there is one attachment, one event and one stored file
    assert sorted(r.status_code for r in concurrent) == [200, 200, 200, 201]
    assert again.status_code == 200 and again.json()["filename"] == "don.pdf"
    assert {r.json()["id"] for r in [*concurrent, again]} == {again.json()["id"]}
    assert len((await client.get(f"/api/v1/tickets/{code}/attachments", headers=desk)).json()) == 1
    progress = (await client.get(f"/api/v1/tickets/{code}/progress", headers=desk)).json()["list"]
    assert [e["action"] for e in progress].count("attachment_added") == 1
    assert len(stored_files(settings)) == 1
    # and the same bytes on another ticket are a second attachment over the same stored file
    other = await new_ticket(app, "att-retry-2")
    assert (await upload(client, desk, other, PDF, name="don.pdf")).status_code == 201
    assert len(stored_files(settings)) == 1


async def test_an_oversized_upload_is_refused_and_nothing_is_stored(client, app, desk, settings) -> None:
    code = await new_ticket(app, "att-big-1")
    # when a file one byte over the limit is sent (counted while streaming)
    response = await upload(client, desk, code, JPEG[:100] + bytes(MAX_BYTES - 99))
    # then 413 with a clear message in Vietnamese, and nothing kept
    assert response.status_code == 413, response.text
    assert response.json()["error_id"] == "payload_too_large"
    assert response.json()["message"] == "Tệp quá lớn: tối đa 64 KB."
    # and a body declared far larger is refused before it is read
    huge = await upload(client, desk, code, JPEG[:100] + bytes(MAX_BYTES * 3))
    assert huge.status_code == 413
    assert (await client.get(f"/api/v1/tickets/{code}/attachments", headers=desk)).json() == []
    assert stored_files(settings) == []
    # and exactly the limit is fine
    assert (await upload(client, desk, code, JPEG[:100] + bytes(MAX_BYTES - 100))).status_code == 201


@pytest.mark.parametrize(("data", "name", "claimed"), [
    (EXE, "anh-hien-truong.jpg", "image/jpeg"),
    (b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>", "a.pdf", "application/pdf"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="5"/></svg>', "icon.png", "image/png"),
])
async def test_a_disguised_file_is_refused_and_nothing_is_stored(client, app, desk, settings, data, name, claimed) -> None:
    code = await new_ticket(app, "att-exe-1")
    response = await upload(client, desk, code, data, name=name, claimed_type=claimed)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_id"] == "unsupported_file_type" and body["message"].startswith("Không chấp nhận loại tệp này.")
    assert (await client.get(f"/api/v1/tickets/{code}/attachments", headers=desk)).json() == []
    assert stored_files(settings) == []


async def test_a_ticket_holds_a_limited_number_of_attachments(client, app, desk) -> None:
    code = await new_ticket(app, "att-many-1")
    for n in range(MAX_PER_TICKET):
        assert (await upload(client, desk, code, PNG + bytes([n]), name=f"{n}.png")).status_code == 201
    refused = await upload(client, desk, code, PNG + b"\xff", name="more.png")
    assert refused.status_code == 409 and refused.json()["error_id"] == "too_many_attachments"
    assert refused.json()["message"] == f"Mỗi phản ánh chỉ được đính kèm tối đa {MAX_PER_TICKET} tệp."
    # a retry of one already attached still answers with it
    assert (await upload(client, desk, code, PNG + bytes([0]), name="0.png")).status_code == 200


async def test_malformed_uploads_are_refused(client, app, desk, settings) -> None:
    code = await new_ticket(app, "att-bad-1")
    url = f"/api/v1/tickets/{code}/attachments"
    not_multipart = await client.post(url, headers=desk, json={"file": "aGVsbG8="})
    assert not_multipart.status_code == 422 and not_multipart.json()["details"][0]["field"] == "file"
    wrong_field = await client.post(url, headers=desk, files={"photo": ("a.jpg", JPEG, "image/jpeg")})
    assert wrong_field.status_code == 422
    no_file = await client.post(url, headers=desk, data={"file": "just text"}, files={"other": ("x", b"x")})
    assert no_file.status_code == 422
    # a body that stops inside the file is never kept as a (truncated) file
    truncated = (b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
                 b"Content-Type: image/jpeg\r\n\r\n" + JPEG)
    cut = await client.post(url, headers={**desk, "Content-Type": "multipart/form-data; boundary=XyZ"}, content=truncated)
    assert cut.status_code == 422, cut.text
    assert cut.json()["details"][0]["message"] == "Tệp tải lên không đầy đủ hoặc sai định dạng."
    # a text field before the file is fine
    with_field = await client.post(url, headers=desk, data={"note": "ảnh chụp sáng nay"},
                                   files={"file": ("a.jpg", JPEG, "image/jpeg")})
    assert with_field.status_code == 201, with_field.text
    assert len(stored_files(settings)) == 1


async def test_units_see_only_their_tickets_attachments(client, app, desk) -> None:
    # given a ticket at the transport office (Phòng Quản lý giao thông) with a photo
    code = await new_ticket(app, "att-scope-1", unit_code="SXD.QLGT")
    attachment = (await upload(client, desk, code, JPEG)).json()
    other_code = await new_ticket(app, "att-scope-2")
    # then its officer lists and downloads it, but (like the ticket) cannot add files
    officer = await login(client, "cv.giaothong")
    assert len((await client.get(f"/api/v1/tickets/{code}/attachments", headers=officer)).json()) == 1
    assert (await client.get(f"/api/v1/tickets/{code}/attachments/{attachment['id']}", headers=officer)).content == JPEG
    assert (await upload(client, officer, code, PDF)).status_code == 403
    # and an officer of another unit gets 404 for the list and the file
    stranger = await login(client, "cv.tranbien")
    for path in (f"/api/v1/tickets/{code}/attachments", f"/api/v1/tickets/{code}/attachments/{attachment['id']}"):
        response = await client.get(path, headers=stranger)
        assert response.status_code == 404 and response.json()["error_id"] == "not_found"
    # and an attachment is only found under its own ticket
    assert (await client.get(f"/api/v1/tickets/{other_code}/attachments/{attachment['id']}", headers=desk)).status_code == 404


async def test_a_citizen_attaches_only_to_their_own_tickets(client, app, desk) -> None:
    admin = await login(client, "admin")
    group = next(g for g in (await client.get("/api/v1/groups", headers=admin)).json() if g["code"] == "CONGDAN")
    created = await client.post("/api/v1/users", headers=admin, json={
        "username": "congdan.an", "password": "Cong-Dan-2026!", "full_name": "Nguyễn Văn An", "group_ids": [group["id"]]})
    assert created.status_code == 201, created.text
    citizen = await login(client, "congdan.an", "Cong-Dan-2026!")
    someone_elses = await new_ticket(app, "att-citizen-1")
    refused = await upload(client, citizen, someone_elses, JPEG)
    assert refused.status_code == 404
    async with app.state.services.sessions() as session:
        assert (await session.exec(select(Ticket).where(Ticket.code == someone_elses))).one().created_by_id is None


async def test_anonymous_callers_are_refused(client, app, desk) -> None:
    code = await new_ticket(app, "att-anon-1")
    attachment = (await upload(client, desk, code, JPEG)).json()
    for response in (await upload(client, {}, code, JPEG),
                     await client.get(f"/api/v1/tickets/{code}/attachments"),
                     await client.get(f"/api/v1/tickets/{code}/attachments/{attachment['id']}")):
        assert response.status_code == 401 and response.json()["error_id"] == "not_authenticated"
