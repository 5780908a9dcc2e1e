"""Names of the workflows and activities the API starts by name. The `DeliverNotification`
workflow and its activity take a `core.ports.Notification` (its key is the workflow id suffix)."""

from __future__ import annotations

DELIVER_NOTIFICATION_WORKFLOW = "DeliverNotification"
DELIVER_NOTIFICATION_ACTIVITY = "deliver_notification"

# Knowledge-base search index: `SyncKbIndex` runs the activity that indexes every question whose
# revision the index does not hold. Input: the mode, `pending` (after a change), `reconcile` (at
# worker start: everything again if the index lost documents) or `rebuild` (everything again).
SYNC_KB_INDEX_WORKFLOW = "SyncKbIndex"
SYNC_KB_INDEX_ACTIVITY = "sync_kb_index"
