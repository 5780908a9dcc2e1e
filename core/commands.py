"""Names of the workflows and activities the API starts by name. The `DeliverNotification`
workflow and its activity take a `core.ports.Notification` (its key is the workflow id suffix)."""

from __future__ import annotations

from dataclasses import dataclass

DELIVER_NOTIFICATION_WORKFLOW = "DeliverNotification"
DELIVER_NOTIFICATION_ACTIVITY = "deliver_notification"

# Knowledge-base search index: `SyncKbIndex` runs the activity that indexes every question whose
# revision the index does not hold. Input: the mode, `pending` (after a change), `reconcile` (at
# worker start: everything again if the index lost documents) or `rebuild` (everything again).
SYNC_KB_INDEX_WORKFLOW = "SyncKbIndex"
SYNC_KB_INDEX_ACTIVITY = "sync_kb_index"

# A message to a citizen from the desk (a reply about their ticket): `SendMessage` (workflow id
# `message-<key>`, so a retried request sends once) runs `send_message` with retries and backoff.
SEND_MESSAGE_WORKFLOW = "SendMessage"
SEND_MESSAGE_ACTIVITY = "send_message"
SEND_MESSAGE_MAX_ATTEMPTS = 12  # about an hour of backoff; then the message is failed
SEND_MESSAGE_ALERT_AFTER = 3  # failed attempts before the operators are alerted (an ERROR log line)


@dataclass(frozen=True)
class SendMessageInput:
    key: str  # idempotency key: one message per key, whatever retries
    channel: str  # sms | zalo
    to: str  # phone (national form) or Zalo user id
    body: str
    ticket_id: int | None = None
