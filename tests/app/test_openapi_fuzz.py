"""Schemathesis against the served OpenAPI schema, on loopback: never a 500, valid answers."""

from __future__ import annotations

import secrets
import threading
import time

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from app.db.migrate import apply_migrations
from app.main import create_app
from harness.runtime.ports import LOOPBACK, free_port
from tests.app.conftest import build_settings

START_WAIT_S = 15.0
EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def served(pg_server, redis_server):
    name = f"fuzz_{secrets.token_hex(4)}"
    dsn = pg_server.create_database(name)
    apply_migrations(dsn)
    app = create_app(
        build_settings(dsn, redis_server.url(0), redis_server.url(1), stats_aggregate=True,
                       redis_cache=True, async_db=True)
    )  # fmt: skip
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_WAIT_S
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    base = f"http://{LOOPBACK}:{port}"
    credentials = {"email": "fuzz@example.com", "password": "fuzz-password"}
    assert httpx.post(f"{base}/api/v1/auth/register", json=credentials).status_code == 201
    token = httpx.post(
        f"{base}/api/v1/auth/login",
        data={"username": credentials["email"], "password": credentials["password"]},
    ).json()["access_token"]
    project = httpx.post(
        f"{base}/api/v1/projects/", json={"name": "fuzzed"},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert project.status_code == 201
    yield base, token
    server.should_exit = True
    thread.join(timeout=10)
    pg_server.drop_database(name)


@pytest.mark.slow
def test_api_never_fails_and_answers_per_schema(served):
    """Every operation, a few generated cases each (the pytest plugin of schemathesis does
    not load under pytest 9, so the operations are driven through Hypothesis here)."""
    base, token = served
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    statuses: list[int] = []

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {token}"})
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}"
            case.validate_response(response, checks=checks)

        run()
    # Generated input reached the handlers, not only the validation layer.
    assert len(statuses) >= 3 * len(operations)
    assert {200, 201, 404, 422} <= set(statuses)
