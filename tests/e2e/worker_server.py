"""The full app with a real Temporal dev server and the worker in the app's process, served over
HTTP for browser tests of the ticket life cycle (the session's `live_server` has no Temporal).

Playwright's sync API keeps an event loop in the main thread, so everything that runs its own
loop (the readiness probe, uvicorn) runs in another thread; the Temporal process is launched
from the main thread, whose life bounds the child's (its parent-death signal)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from cli.asgi import create_full_app
from cli.embedded.temporal import EmbeddedTemporal
from core.settings import Settings
from tests.support import database_copy, serve_in_thread

TEMPORAL_STARTUP_S = 90


@contextmanager
def serve_with_worker(template_url: str, data_dir: Path) -> Iterator[str]:
    """Yields the base URL of the app on its own copy of the seeded database."""
    temporal = EmbeddedTemporal(None, ui=False)
    temporal.launch(log_dir=data_dir)
    try:
        with ThreadPoolExecutor(1) as pool:
            address = pool.submit(temporal.wait_ready, TEMPORAL_STARTUP_S).result()
        with database_copy(template_url, "work") as url:
            settings = Settings(database_url=url, env="test", data_dir=data_dir, temporal_address=address,
                                log_json=False, log_level="WARNING", task_queue=f"e2e-{uuid.uuid4()}",
                                workflow_id_prefix=f"e{uuid.uuid4().hex[:10]}-", sla_override_seconds=3600,
                                login_attempts_per_minute=0, public_search_per_minute=0)
            with serve_in_thread(create_full_app(settings, with_worker=True)) as base:
                yield base
    finally:
        temporal.stop()
