"""What the locustfiles share: the benchmark user's login, once per locust process.

Logging in verifies a bcrypt hash, a deliberately slow operation; one login per process
(shared by its users) keeps that cost out of the measured window. Everything comes from
environment variables with defaults that match `chrono-bench seed`, so each locustfile
also runs as it is against `chrono-bench up`.
"""

from __future__ import annotations

import os

from gevent.lock import Semaphore
from locust.contrib.fasthttp import FastHttpSession

API = "/api/v1"
EMAIL = os.environ.get("CHRONO_BENCH_EMAIL", "bench@example.com")
PASSWORD = os.environ.get("CHRONO_BENCH_PASSWORD", "chrono-bench-password")
MAX_PROJECTS = 1000

_lock = Semaphore()
_token: str | None = None
_project_ids: list[int] = []


def login(client: FastHttpSession) -> dict[str, str]:
    """The Authorization header of the benchmark user (form login, as the API requires)."""
    global _token
    with _lock:
        if _token is None:
            response = client.post(
                f"{API}/auth/login",
                data={"username": EMAIL, "password": PASSWORD},
                name="login",
            )
            if response.status_code != 200:
                raise RuntimeError(f"login as {EMAIL} failed: status {response.status_code}")
            _token = response.json()["access_token"]
    return {"Authorization": f"Bearer {_token}"}


def logged_in() -> bool:
    """Whether this process's benchmark user has logged in."""
    return _token is not None


def project_ids(client: FastHttpSession, headers: dict[str, str]) -> list[int]:
    """The benchmark user's own project ids: given by the harness, or listed once."""
    global _project_ids
    with _lock:
        if not _project_ids:
            given = os.environ.get("CHRONO_BENCH_PROJECT_IDS", "")
            _project_ids = [int(part) for part in given.split(",") if part]
        if not _project_ids:
            response = client.get(
                f"{API}/projects/?limit={MAX_PROJECTS}", headers=headers, name="setup: projects"
            )
            _project_ids = [project["id"] for project in response.json()]
    return _project_ids
