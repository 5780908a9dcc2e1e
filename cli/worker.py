"""The worker factory: every workflow and activity on the task queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.inbox import InboxActivities
from activities.notify import NotificationActivities
from activities.sla_ops import SlaOperations
from activities.ticket_ops import TicketOperations
from core.ports import Notifier
from core.settings import Settings
from core.sla_calendar import load_vietnam_calendar
from workflows.engine.sandbox import workflow_runner
from workflows.registry import WORKFLOWS


def build_worker(client: Client, settings: Settings, notifier: Notifier,
                 sessions: async_sessionmaker[AsyncSession] | None = None) -> Worker:
    """`sessions` (the database) is needed by the activities that write PostgreSQL; tests of
    workflows that need none may leave it out."""
    notifications = NotificationActivities(notifier)
    activities: list[object] = [notifications.deliver]
    if sessions is not None:
        inbox = InboxActivities(sessions, notifier)
        calendar = load_vietnam_calendar(extra_holidays=settings.sla_extra_holidays)
        activities += [inbox.sync_process_step, *TicketOperations(sessions, notifier).all(),
                       *SlaOperations(sessions, notifier, calendar, settings.sla_reminder_fraction,
                                      None if settings.sla_override_seconds else settings.default_sla_hours).all()]
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
