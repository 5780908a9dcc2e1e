"""`kill -9` of the worker in the middle of a life cycle: a new worker finishes the ticket with
no event, task or notification written twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from core.models.tickets import HumanTask, InAppNotification, TicketEvent
from tests.conftest import login
from tests.integration.test_lifecycle import do, open_ticket, status_is

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def app_without_worker(settings, temporal_env) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:  # noqa: ANN001
    from cli.asgi import create_full_app

    settings.task_queue = f"crash-{uuid.uuid4()}"
    settings.workflow_id_prefix = f"c{uuid.uuid4().hex[:10]}-"
    settings.sla_override_seconds = 3600
    application = create_full_app(settings)
    async with application.router.lifespan_context(application):
        services = application.state.services
        services.temporal = temporal_env.client
        transport = httpx.ASGITransport(app=application, client=("10.9.8.7", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, services


@pytest.fixture
def worker_process(settings, temporal_env, tmp_path) -> Iterator[object]:  # noqa: ANN001
    """Starts `hotline worker` processes against the test's database and Temporal server."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        env = {**os.environ, "HOTLINE_DATABASE_URL": settings.database_url, "HOTLINE_TASK_QUEUE": settings.task_queue,
               "HOTLINE_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
               "HOTLINE_DATA_DIR": str(tmp_path / "worker"), "HOTLINE_LOG_LEVEL": "WARNING", "HOTLINE_LOG_JSON": "false"}
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker-{len(started)}.log", "wb"))
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


async def test_a_killed_worker_is_replaced_without_duplicates(app_without_worker, worker_process) -> None:
    client, services = app_without_worker
    people = {n: await login(client, n) for n in ("dieuphoi", "ld.tranbien", "cv.tranbien", "admin")}
    units = {u["code"]: u["path"] for u in (await client.get("/api/v1/org-units", headers=people["admin"])).json()}
    desk = people["dieuphoi"]
    first = worker_process()
    code = await open_ticket(client, desk, "crash-test-1")
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"])
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
    # when the worker dies (SIGKILL) right after the officer sends the result
    await do(client, people["cv.tranbien"], code, "process", outcome="result", result="Đã xử lý xong")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # then a new worker takes over (an operator call the dead worker held is retried once its
    # 15-second start-to-close timeout passes) and the ticket finishes
    worker_process()
    await do(client, people["ld.tranbien"], code, "approve_result", decision="approve")
    await do(client, desk, code, "close")
    await status_is(client, desk, code, "resolved")
    # with every event, task and notification written once
    async with services.sessions() as session:
        events = (await session.exec(select(TicketEvent.action, func.count()).group_by(TicketEvent.action))).all()
        tasks = (await session.exec(select(HumanTask.bpmn_id, func.count()).group_by(HumanTask.bpmn_id))).all()
        dupes = (await session.exec(select(InAppNotification.user_id, InAppNotification.title, InAppNotification.ticket_id,
                                           func.count()).group_by(InAppNotification.user_id, InAppNotification.title,
                                                                  InAppNotification.ticket_id)
                                    .having(func.count() > 1))).all()
    counts = dict(events)
    assert counts["result_sent"] == 1 and counts["resolved"] == 1 and counts["approved"] == 1
    assert all(n == 1 for _, n in tasks), tasks
    assert dupes == []
