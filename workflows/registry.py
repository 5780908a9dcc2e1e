"""Every workflow class the worker runs."""

from __future__ import annotations

from workflows.kb_index import SyncKbIndexWorkflow
from workflows.notification import DeliverNotificationWorkflow
from workflows.process import BpmnProcessWorkflow
from workflows.send_message import SendMessageWorkflow

WORKFLOWS: list[type] = [DeliverNotificationWorkflow, BpmnProcessWorkflow, SyncKbIndexWorkflow, SendMessageWorkflow]
