"""Workflow-test fixtures (prefixed `wf_`). The Temporal dev server is the session's one
`temporal_env` (tests/conftest.py); every test gets its own task queue, so a worker only
sees that test's work."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings


@pytest.fixture
def wf_env(temporal_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return temporal_env


@pytest.fixture
def wf_task_queue() -> str:
    return f"wf-test-{uuid.uuid4()}"


@pytest.fixture
def wf_settings(wf_task_queue: str) -> Settings:
    """The real settings type, pointed at this test's task queue."""
    return Settings(task_queue=wf_task_queue, env="test")
