"""The Temporal server stops in the middle of a life cycle and comes back (same SQLite file,
same port): the API, the worker and the ticket carry on, and nothing is written twice."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlmodel import func, select
from temporalio.client import Client

from cli.embedded.temporal import EmbeddedTemporal
from core.models.tickets import HumanTask, TicketEvent
from core.ports import ConsoleNotifier
from tests.conftest import login
from tests.integration.test_lifecycle import do, open_ticket, status_is

READY_S = 90.0


async def started(temporal: EmbeddedTemporal, tmp_path) -> EmbeddedTemporal:  # noqa: ANN001
    temporal.launch(log_dir=tmp_path)  # from this (the main) thread: the child dies with its parent thread
    await asyncio.to_thread(temporal.wait_ready, READY_S)
    return temporal


async def test_a_temporal_restart_mid_cycle_loses_and_duplicates_nothing(settings, tmp_path) -> None:  # noqa: ANN001
    from cli.asgi import create_full_app
    from cli.worker import build_worker

    db_file = tmp_path / "temporal" / "temporal.db"
    temporal = await started(EmbeddedTemporal(db_file, ui=False), tmp_path)
    try:
        client = await Client.connect(temporal.address)
        settings.task_queue = f"restart-{uuid.uuid4()}"
        settings.sla_override_seconds = 3600
        application = create_full_app(settings)
        async with application.router.lifespan_context(application):
            services = application.state.services
            services.temporal = client
            async with build_worker(client, settings, ConsoleNotifier(), services.sessions):
                transport = httpx.ASGITransport(app=application, client=("10.9.8.7", 4321))
                async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                    people = {n: await login(http, n) for n in ("dieuphoi", "ld.tranbien", "cv.tranbien", "admin")}
                    units = {u["code"]: u["path"]
                             for u in (await http.get("/api/v1/org-units", headers=people["admin"])).json()}
                    desk = people["dieuphoi"]
                    code = await open_ticket(http, desk, "restart-test-1")
                    await do(http, desk, code, "dispatch", unit_path=units["P.TRANBIEN"])

                    # when the Temporal server stops after the dispatch and starts again on its data
                    await asyncio.to_thread(temporal.stop)
                    temporal = await started(EmbeddedTemporal(db_file, port=temporal.port, ui=False), tmp_path)

                    # then the same client and worker take the ticket to its end
                    await do(http, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
                    await do(http, people["cv.tranbien"], code, "process", outcome="result", result="Đã thay đèn")
                    await do(http, people["ld.tranbien"], code, "approve_result", decision="approve")
                    await do(http, desk, code, "close")
                    await status_is(http, desk, code, "resolved")
                async with services.sessions() as session:
                    events = dict((await session.exec(
                        select(TicketEvent.action, func.count()).group_by(TicketEvent.action))).all())
                    tasks = dict((await session.exec(
                        select(HumanTask.bpmn_id, func.count()).group_by(HumanTask.bpmn_id))).all())
        # with every step recorded once
        assert events["dispatched"] == 1 and events["assigned"] == 1 and events["resolved"] == 1, events
        assert tasks == {"dispatch": 1, "assign": 1, "process": 1, "approve_result": 1, "close": 1}
    finally:
        await asyncio.to_thread(temporal.stop)
