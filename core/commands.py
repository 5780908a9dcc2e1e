"""Names of the workflows and activities the API starts by name. The `DeliverNotification`
workflow and its activity take a `core.ports.Notification` (its key is the workflow id suffix)."""

from __future__ import annotations

DELIVER_NOTIFICATION_WORKFLOW = "DeliverNotification"
DELIVER_NOTIFICATION_ACTIVITY = "deliver_notification"
