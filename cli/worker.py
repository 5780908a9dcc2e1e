"""The worker factory: every workflow and activity on the task queue."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.inbox import InboxActivities
from activities.kb_index import KbIndexActivities
from activities.notify import NotificationActivities
from activities.send_message import MessageActivities
from activities.sla_ops import SlaOperations
from activities.ticket_ops import TicketOperations
from core.commands import SYNC_KB_INDEX_WORKFLOW
from core.ports import MessageGateway, Notifier, SearchIndex
from core.settings import Settings
from core.sla_calendar import load_vietnam_calendar
from workflows.engine.sandbox import workflow_runner
from workflows.registry import WORKFLOWS


def build_worker(client: Client, settings: Settings, notifier: Notifier,
                 sessions: async_sessionmaker[AsyncSession] | None = None,
                 search_index: SearchIndex | None = None,
                 gateways: dict[str, MessageGateway] | None = None) -> Worker:
    """`sessions` (the database) is needed by the activities that write PostgreSQL, and
    `search_index` (the index writer) by the knowledge base's indexing; tests of workflows that
    need neither may leave them out."""
    notifications = NotificationActivities(notifier)
    activities: list[object] = [notifications.deliver]
    if sessions is not None:
        inbox = InboxActivities(sessions, notifier)
        calendar = load_vietnam_calendar(extra_holidays=settings.sla_extra_holidays)
        activities += [inbox.sync_process_step, *TicketOperations(sessions, notifier).all(),
                       *SlaOperations(sessions, notifier, calendar, settings.sla_reminder_fraction,
                                      None if settings.sla_override_seconds else settings.default_sla_hours).all()]
        if search_index is not None:
            activities.append(KbIndexActivities(sessions, search_index).sync)
        if gateways is not None:
            activities.append(MessageActivities(sessions, gateways, settings.sms_gateway).send)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        # Unsandboxed by default: the sandbox re-creates module state per run and proxies every
        # module access (measured ~15% of the worker's CPU). Determinism is still checked:
        # the Replayer (CI, `hotline replay`) runs the same sandbox configuration as before.
        workflow_runner=workflow_runner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner(),
        max_cached_workflows=settings.workflow_cache_size,
        # After a worker dies, its sticky tickets move on after ~1 s instead of 10 s.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )


async def run_worker(client: Client, settings: Settings, notifier: Notifier,
                     sessions: async_sessionmaker[AsyncSession]) -> None:
    """Run the product's worker until cancelled: it opens the search index as its only writer
    and, once polling, reconciles the index with the database (what changed while no worker ran,
    or everything after the index was rebuilt for a new schema version)."""
    from messaging import close_gateways, open_gateways
    from search import open_search_index

    index = open_search_index(settings, writer=True)
    gateways = open_gateways(settings, sessions)
    call_center: asyncio.Task[None] | None = None
    try:
        worker = build_worker(client, settings, notifier, sessions, index, gateways)
        await client.start_workflow(SYNC_KB_INDEX_WORKFLOW, "reconcile", id=f"kb-index-reconcile-{uuid.uuid4()}",
                                    task_queue=settings.task_queue)
        if settings.ari_url:  # the Stasis application, driven by one worker at a time (telephony/runner.py)
            from telephony.runner import run_call_center

            call_center = asyncio.create_task(run_call_center(settings, sessions), name="call-center")
        await worker.run()
    finally:
        if call_center is not None:
            call_center.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await call_center
        await index.close()
        await close_gateways(gateways)
