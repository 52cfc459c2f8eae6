"""The real API serving a built web client on loopback, one process per build."""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.frontend_serve import EAGER_BUILD, FRONTEND_DIR, SPLIT_BUILD
from app.seed import seed
from harness.runtime.local.postgres import PostgresServer
from harness.runtime.local.redis import RedisServer
from harness.runtime.ports import free_port
from harness.runtime.process import CheckedTCPExecutor

JWT_SECRET = secrets.token_urlsafe(48)
HEALTH_TIMEOUT_S = 2.0
BUILDS = {"eager": EAGER_BUILD, "split": SPLIT_BUILD}


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=HEALTH_TIMEOUT_S).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def frontend_built() -> None:
    missing = [b for b in BUILDS.values() if not (FRONTEND_DIR / b / "index.html").is_file()]
    if missing or shutil.which("node") is None:
        pytest.fail(f"web client not built ({', '.join(missing) or 'node missing'}): make frontend")


@pytest.fixture(scope="session")
def frontend_dsn(pg_server: PostgresServer) -> Iterator[str]:
    name = f"frontend_{secrets.token_hex(4)}"
    dsn = pg_server.create_database(name)
    seed(dsn, "quick")
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def serve_build(
    frontend_built: None, frontend_dsn: str, redis_server: RedisServer
) -> Iterator[Callable[[str], str]]:
    """Starts (once per build) uvicorn with app.main:app serving that build; returns its URL."""
    running: dict[str, tuple[CheckedTCPExecutor, str]] = {}
    logs = Path(tempfile.mkdtemp(prefix="chrono-frontend-api-"))
    redis_base = redis_server.url().rsplit("/", 1)[0]

    def start(build: str) -> str:
        if build in running:
            return running[build][1]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "CHRONO_DATABASE_URL": frontend_dsn,
            "CHRONO_REDIS_CACHE_URL": f"{redis_base}/0",
            "CHRONO_REDIS_BROKER_URL": f"{redis_base}/1",
            "CHRONO_JWT_SECRET": JWT_SECRET,
            "CHRONO_FRONTEND_SPLIT": str(build == "split").lower(),
            # The answers are the same either way; the one-query stats just load faster.
            "CHRONO_STATS_AGGREGATE": "true",
        }
        log = (logs / f"{build}.log").open("w")
        executor = CheckedTCPExecutor(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(port)],
            port=port,
            ready=lambda: _answers(f"{url}/health"),
            log=log,
            envvars=env,
        )  # fmt: skip
        executor.start()
        running[build] = (executor, url)
        return url

    yield start
    for executor, _ in running.values():
        executor.stop()
    shutil.rmtree(logs, ignore_errors=True)
