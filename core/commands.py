"""Inputs of workflows and activities shared by the API (which starts them by name) and the
worker. One dataclass per workflow/activity; new fields get defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DeliverNotificationInput:
    key: str  # idempotency key; also the workflow id suffix
    recipient_user_id: int | None
    phone: str | None
    email: str | None
    subject: str
    body: str
    kind: str = "generic"
    sensitive: bool = False


DELIVER_NOTIFICATION_WORKFLOW = "DeliverNotification"
DELIVER_NOTIFICATION_ACTIVITY = "deliver_notification"
