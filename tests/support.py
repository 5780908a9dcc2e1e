"""Test helpers that are not fixtures."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import psycopg
import uvicorn

from cli.embedded.process import free_port
from core.db import libpq_url


def wait_for(condition, timeout: float = 10.0, what: str = "condition"):  # noqa: ANN001, ANN201
    """Poll until `condition()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


async def eventually(check, what: str, timeout: float = 60.0):  # noqa: ANN001, ANN201
    """Await `check()` until it returns something truthy (generous default: a busy 2-core machine)."""
    try:
        async with asyncio.timeout(timeout):
            while not (result := await check()):
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None
    return result


@contextmanager
def serve_in_thread(app: object, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free port in a background thread; yields its URL."""
    port = free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://{host}:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(lambda: server.started and ready(), 30, "the test server")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def database_copy(template_url: str, prefix: str = "t") -> Iterator[str]:
    """A new database copied from a migrated and seeded template (fast: a file copy);
    yields its URL and drops it afterwards."""
    template = urlsplit(template_url).path.lstrip("/")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = libpq_url(template_url).replace(f"/{template}?", "/postgres?")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield template_url.replace(f"/{template}?", f"/{name}?")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
