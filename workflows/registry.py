"""Every workflow class the worker runs."""

from __future__ import annotations

from workflows.kb_index import SyncKbIndexWorkflow
from workflows.notification import DeliverNotificationWorkflow
from workflows.process import BpmnProcessWorkflow

WORKFLOWS: list[type] = [DeliverNotificationWorkflow, BpmnProcessWorkflow, SyncKbIndexWorkflow]
