"""The worker factory: every workflow and activity on the task queue."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.notify import NotificationActivities
from core.ports import Notifier
from core.settings import Settings
from workflows.registry import WORKFLOWS


def build_worker(client: Client, settings: Settings, notifier: Notifier) -> Worker:
    notifications = NotificationActivities(notifier)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[notifications.deliver],
        # After a worker dies, its sticky tickets move on after ~1 s instead of 10 s.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
