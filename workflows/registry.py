"""Every workflow class the worker runs."""

from __future__ import annotations

from workflows.notification import DeliverNotificationWorkflow
from workflows.process import PROCESS_ACTIVITIES, BpmnProcessWorkflow

WORKFLOWS: list[type] = [DeliverNotificationWorkflow, BpmnProcessWorkflow]
# Activities that belong to the workflows themselves (no outside system).
WORKFLOW_ACTIVITIES: list[object] = [*PROCESS_ACTIVITIES]
