"""Hands a notification to the configured gateway (console, SMS provider, …)."""

from __future__ import annotations

from temporalio import activity

from core.commands import DELIVER_NOTIFICATION_ACTIVITY
from core.ports import Notification, Notifier


class NotificationActivities:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    @activity.defn(name=DELIVER_NOTIFICATION_ACTIVITY)
    async def deliver(self, input: Notification) -> str:
        return await self.notifier.send(input)
