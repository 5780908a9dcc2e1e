"""Browser tests: the full app served over HTTP on a seeded database, driven by Debian's
chromium through Playwright.

`live_server` copies the shared migrated and seeded template database into a database of its
own and serves the full app (API + UI) with uvicorn in a background thread on a free port.
Temporal is not started: pages that need it show "not available"."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cli.asgi import create_full_app
from cli.embedded.postgres import EmbeddedPostgres
from core.settings import Settings
from tests.support import database_copy, serve_in_thread

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread until the session ends, and pytest-asyncio tests cannot run beside it."""
    here = Path(__file__).parent
    items.sort(key=lambda item: Path(str(item.path)).is_relative_to(here))


@pytest.fixture(scope="session")
def e2e_database_url(pg_server: EmbeddedPostgres, template_url: str) -> Iterator[str]:
    """One database for the whole browser session, copied from the seeded template."""
    with database_copy(template_url, "e2e") as url:
        yield url


@pytest.fixture(scope="session")
def live_server(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the full app served over HTTP."""
    settings = Settings(database_url=e2e_database_url, env="test", data_dir=tmp_path_factory.mktemp("e2e-data"),
                        temporal_address=None, log_json=False, log_level="WARNING",
                        # many sign-ins and searches a minute from one address: the throttles have their own tests
                        login_attempts_per_minute=0, public_search_per_minute=0)
    with serve_in_thread(create_full_app(settings)) as base:
        yield base


@pytest.fixture(scope="session", autouse=True)
def _server_before_browser(live_server: str) -> None:
    """Start the server (and the database setup, which runs its own event loop) before
    Playwright starts its loop in this thread."""


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """Playwright's pages resolve relative addresses (page.goto("/login")) against the server."""
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Debian's chromium: never `playwright install` (no downloads here or in CI).
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: ./dev test installs it (apt-get install -y chromium fonts-dejavu-core)")
        pytest.skip("browser tests need Debian's chromium: apt-get install -y chromium fonts-dejavu-core")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A Vietnamese browser at a desktop size; tests that need another locale make their own context.
    return {**browser_context_args, "locale": "vi-VN", "viewport": {"width": 1366, "height": 900}}


@pytest.fixture()
def http(live_server: str) -> Iterator[httpx.Client]:
    """A plain HTTP client (no redirects followed) for headers and status codes."""
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10,
                      headers={"Accept-Language": "vi-VN,vi;q=0.9"}) as client:
        yield client


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@contextmanager
def signed_in_people(browser: Browser, base_url: str) -> Iterator[Callable[[str], Page]]:
    """`open_as("dieuphoi")` -> a signed-in page in a browser context of its own (Vietnamese,
    desktop size, downloads accepted); every context is closed at the end."""
    from tests.e2e.test_ui_shell import sign_in

    contexts: list[BrowserContext] = []

    def open_as(username: str) -> Page:
        context = browser.new_context(base_url=base_url, locale="vi-VN", viewport={"width": 1366, "height": 900},
                                      accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, username)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Xin chào")
        return page

    try:
        yield open_as
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def person(browser: Browser, live_server: str) -> Iterator[Callable[[str], Page]]:
    """`person("dieuphoi")` -> a signed-in page on the shared server (modules with a server of
    their own override this fixture with `signed_in_people` on theirs)."""
    with signed_in_people(browser, live_server) as open_as:
        yield open_as
