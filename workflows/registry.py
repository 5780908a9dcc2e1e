"""Every workflow class the worker runs."""

from __future__ import annotations

from workflows.notification import DeliverNotificationWorkflow

WORKFLOWS: list[type] = [DeliverNotificationWorkflow]
