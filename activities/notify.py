"""Hands a notification to the configured gateway (console, SMS provider, …)."""

from __future__ import annotations

from temporalio import activity

from core.commands import DELIVER_NOTIFICATION_ACTIVITY, DeliverNotificationInput
from core.ports import Notification, Notifier


class NotificationActivities:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    @activity.defn(name=DELIVER_NOTIFICATION_ACTIVITY)
    async def deliver(self, input: DeliverNotificationInput) -> str:
        return await self.notifier.send(Notification(
            key=input.key, recipient_user_id=input.recipient_user_id, phone=input.phone, email=input.email,
            subject=input.subject, body=input.body, kind=input.kind, sensitive=input.sensitive,
        ))
