"""The inbox projection written by the engine's activities, and claim/release races."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from activities.inbox import InboxActivities
from core.db import make_async_engine, make_sessionmaker, unit_of_work
from core.engine_types import CloseHumanTaskInput, OpenHumanTaskInput, SyncStepInput
from core.models import InAppNotification, OrgUnit
from core.models.tickets import TicketCreate
from core.services.actor import system_actor
from core.services.tickets import open_ticket
from tests.conftest import login

FORM = {"type": "object", "required": ["result"], "properties": {"result": {"type": "string", "maxLength": 2000}}}


@pytest.fixture
async def acts(database_url):  # noqa: ANN001, ANN201
    engine = make_async_engine(database_url, pool_size=2, max_overflow=0)
    yield InboxActivities(make_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture
async def ticket_code(acts) -> str:  # noqa: ANN001
    """A ticket without its workflow: these tests play the engine's part themselves."""
    async with unit_of_work(acts.sessions) as session:
        ticket, _ = await open_ticket(session, system_actor(), TicketCreate(
            channel="web", description="Cây xanh ngã đổ chắn ngang đường Phạm Văn Thuận."), "inbox-test-1")
        return ticket.code


async def unit_path(acts: InboxActivities, code: str) -> str:
    async with acts.sessions() as session:
        return (await session.exec(select(OrgUnit.path).where(OrgUnit.code == code))).one()


def open_input(code: str, path: str, task_id: str = "spiff-task-1") -> OpenHumanTaskInput:
    return OpenHumanTaskInput(business_key=code, task_id=task_id, bpmn_id="process_ticket", name="Xử lý phản ánh",
                              lane="officer", candidate_unit=path, form_schema=FORM, process_sha256="0" * 64)


async def engine_opens(acts: InboxActivities, task: OpenHumanTaskInput) -> None:
    """The engine's step that opened `task`, as the workflow's sync activity writes it."""
    echo = await acts.sync_process_step(SyncStepInput(task.business_key, "d" * 64, 1, opens=[task]))
    assert echo.digest == "d" * 64


async def engine_closes(acts: InboxActivities, close: CloseHumanTaskInput) -> None:
    await acts.sync_process_step(SyncStepInput(close.business_key, "e" * 64, 1, closes=[close]))


async def test_a_task_reaches_the_units_officers_once(client, acts, ticket_code) -> None:
    path = await unit_path(acts, "P.TRANBIEN")
    # given the engine opens the same task twice (a retried activity)
    await engine_opens(acts, open_input(ticket_code, path))
    await engine_opens(acts, open_input(ticket_code, path))
    # then the unit's officer sees it once, with its form, and is notified once
    officer = await login(client, "cv.tranbien")
    listed = (await client.get("/api/v1/inbox", headers=officer)).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["ticket_code"] == ticket_code and item["form_schema"] == FORM and item["status"] == "open"
    assert (await client.get("/api/v1/inbox/counts", headers=officer)).json() == {"mine": 0, "waiting": 1, "overdue": 0}
    async with acts.sessions() as session:
        notes = (await session.exec(select(InAppNotification).where(InAppNotification.ticket_id.is_not(None)))).all()
    assert len(notes) == 1
    # and an officer of another unit does not see it
    other = await login(client, "cv.moitruong")
    assert (await client.get("/api/v1/inbox", headers=other)).json()["total"] == 0
    # and the progress shows the step once
    desk = await login(client, "dieuphoi")
    actions = [e["action"] for e in (await client.get(f"/api/v1/tickets/{ticket_code}/progress", headers=desk)).json()["list"]]
    assert actions == ["received", "task_opened"]


async def test_two_people_claiming_one_task_exactly_one_wins(client, acts, ticket_code) -> None:
    path = await unit_path(acts, "P.TRANBIEN")
    await engine_opens(acts, open_input(ticket_code, path))
    admin = await login(client, "admin")
    units = (await client.get("/api/v1/org-units", headers=admin)).json()
    groups = (await client.get("/api/v1/groups", headers=admin)).json()
    await client.post("/api/v1/users", headers=admin, json={
        "username": "cv2.tranbien", "password": "Tran-Bien-2026!", "full_name": "Chuyên viên 2",
        "unit_id": next(u["id"] for u in units if u["code"] == "P.TRANBIEN"),
        "group_ids": [next(g["id"] for g in groups if g["code"] == "CVXL")]})
    first, second = await login(client, "cv.tranbien"), await login(client, "cv2.tranbien", "Tran-Bien-2026!")
    item = (await client.get("/api/v1/inbox", headers=first)).json()["items"][0]
    results = await asyncio.gather(*(client.post(f"/api/v1/inbox/{item['id']}/claim", headers=h, json={"version": item["version"]})
                                     for h in (first, second)))
    assert sorted(r.status_code for r in results) == [200, 409]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["error_id"] == "stale_version" and "tải lại" in loser["message"]
    winner = first if results[0].status_code == 200 else second
    other = second if winner is first else first
    assert (await client.get("/api/v1/inbox", headers=other)).json()["total"] == 0
    mine = (await client.get("/api/v1/inbox", headers=winner, params={"mine": True})).json()["items"][0]
    released = await client.post(f"/api/v1/inbox/{item['id']}/release", headers=winner, json={"version": mine["version"]})
    assert released.status_code == 200
    assert (await client.get("/api/v1/inbox", headers=other)).json()["total"] == 1


async def test_closing_a_task_takes_it_out_once_with_who_and_what(client, acts, ticket_code) -> None:
    path = await unit_path(acts, "P.TRANBIEN")
    await engine_opens(acts, open_input(ticket_code, path))
    done = CloseHumanTaskInput(business_key=ticket_code, task_id="spiff-task-1", actor_username="cv.tranbien",
                               data={"result": "Đã dọn cây đổ", "note": "Phối hợp đội cây xanh"})
    await engine_closes(acts, done)
    await engine_closes(acts, done)
    officer = await login(client, "cv.tranbien")
    assert (await client.get("/api/v1/inbox", headers=officer)).json()["total"] == 0
    desk = await login(client, "dieuphoi")
    events = (await client.get(f"/api/v1/tickets/{ticket_code}/progress", headers=desk)).json()["list"]
    closing = [e for e in events if e["action"] == "task_completed"]
    assert len(closing) == 1 and closing[0]["actor_name"] == "cv.tranbien" and closing[0]["note"] == "Phối hợp đội cây xanh"
