"""The worker factory: every workflow and activity on the task queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import Worker

from activities.inbox import InboxActivities
from activities.notify import NotificationActivities
from activities.ticket_ops import TicketOperations
from core.ports import Notifier
from core.settings import Settings
from workflows.engine.sandbox import workflow_runner
from workflows.registry import WORKFLOW_ACTIVITIES, WORKFLOWS


def build_worker(client: Client, settings: Settings, notifier: Notifier,
                 sessions: async_sessionmaker[AsyncSession] | None = None) -> Worker:
    """`sessions` (the database) is needed by the activities that write PostgreSQL; tests of
    workflows that need none may leave it out."""
    notifications = NotificationActivities(notifier)
    activities: list[object] = [notifications.deliver, *WORKFLOW_ACTIVITIES]
    if sessions is not None:
        inbox = InboxActivities(sessions)
        activities += [inbox.open_human_task, inbox.close_human_task, *TicketOperations(sessions, notifier).all()]
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        # Spiff and lxml pass through the sandbox; the Replayer uses the same configuration.
        workflow_runner=workflow_runner(),
        # After a worker dies, its sticky tickets move on after ~1 s instead of 10 s.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
