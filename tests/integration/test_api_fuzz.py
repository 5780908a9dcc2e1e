"""Schemathesis against /openapi.json: whatever it sends, the API never answers 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from core.settings import Settings
from tests.conftest import DEMO_PASSWORD
from tests.support import database_copy, serve_in_thread

# Operations that would end the fuzzer's own session.
EXCLUDED = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/me/password"), ("PATCH", "/api/v1/me")}


@pytest.fixture(scope="module")
def fuzz_server(pg_server, template_url, tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    from cli.asgi import create_full_app

    with database_copy(template_url, "fuzz") as url:
        app = create_full_app(Settings(env="test", database_url=url, data_dir=tmp_path_factory.mktemp("fuzz"), log_json=False))
        with serve_in_thread(app) as base:
            token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD}).json()["access_token"]
            yield base, {"Authorization": f"Bearer {token}"}



def test_no_server_errors(fuzz_server) -> None:
    # given the live API and its OpenAPI document
    base, headers = fuzz_server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        operations += 1

        # when schemathesis sends generated (valid and invalid) requests to each operation
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # noqa: ANN001
            response = case.call(base_url=base, headers=headers)
            # then nothing is a server error
            readiness_contract = case.path == "/readyz" and response.status_code == 503
            if response.status_code >= 500 and not readiness_contract:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        run()
    assert operations >= 30
    assert not failures, "\n".join(failures[:20])
