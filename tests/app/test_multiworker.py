"""`uvicorn app.main:app --workers 2`: settings from the environment, metrics merged."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from app.db.migrate import apply_migrations
from harness.runtime.ports import LOOPBACK, free_port
from tests.app.conftest import JWT_SECRET

START_WAIT_S = 30.0
REQUESTS = 40
COUNT_LINE = re.compile(
    r'^chrono_http_request_duration_seconds_count\{method="GET",route="/health",status="200"\} '
    r"(\S+)$",
    re.MULTILINE,
)


@pytest.mark.slow
def test_two_workers_report_one_merged_view(empty_dsn, redis_url, tmp_path):
    apply_migrations(empty_dsn)
    base = redis_url.rsplit("/", 1)[0]
    port = free_port()
    env = {
        **os.environ,
        "CHRONO_DATABASE_URL": empty_dsn,
        "CHRONO_REDIS_CACHE_URL": f"{base}/0",
        "CHRONO_REDIS_BROKER_URL": f"{base}/1",
        "CHRONO_JWT_SECRET": JWT_SECRET,
        "CHRONO_ASYNC_DB": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", LOOPBACK,
               "--port", str(port), "--workers", "2", "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + START_WAIT_S
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not become healthy"
            time.sleep(0.2)
        for _ in range(REQUESTS):
            # A new connection each time, so both workers get some of them.
            assert httpx.get(f"{url}/health").status_code == 200
        # Each worker writes its own file; /metrics from either worker merges them all.
        assert list(tmp_path.glob("histogram_*.db"))
        for _ in range(4):
            match = COUNT_LINE.search(httpx.get(f"{url}/metrics").text)
            assert match is not None
            assert float(match.group(1)) >= REQUESTS + 1
    finally:
        process.terminate()
        process.wait(timeout=20)
