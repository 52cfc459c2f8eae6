"""Each HTTP locustfile runs as it is with the `locust` command and its web UI against a
stack held by `chrono-bench up`, as the report's own load-testing script is used: start
locust, press start through the web UI's HTTP endpoints, read its statistics, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.run.hold import leftovers
from harness.runtime.ports import free_port
from tests.runner.test_stack_lifecycle import CLI, EXIT_TIMEOUT_S, REPO
from tests.up_process import start_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
LOCUST = str(Path(sys.executable).parent / "locust")
REQUESTS_WANTED = 15
UP_TIMEOUT_S = 240.0
STATS_TIMEOUT_S = 60.0
# What each locustfile sends besides its one login per process.
NAMES = {
    "api.py": {"projects", "project stats", "search"},
    "concurrency.py": {"projects", "project stats", "search"},
}


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`chrono-bench up` (seeded, everything on so requests are quick) in a subprocess."""
    cwd = tmp_path_factory.mktemp("up")
    command = [*CLI, "up", "--optimizations", "all", "--inventory", str(REPO / "inventory.py")]
    process, written = start_up(command, cwd, UP_TIMEOUT_S)
    try:
        yield str(written["api_url"])
    finally:
        os.kill(written["pid"], signal.SIGINT)
        process.wait(timeout=EXIT_TIMEOUT_S)
        assert leftovers(written["pid"], Path(written["run_dir"])) == []


@pytest.mark.parametrize("locustfile", sorted(NAMES))
def test_locustfile_runs_with_the_locust_web_ui(api_url: str, locustfile: str) -> None:
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CHRONO_BENCH_WAIT_MIN_S": "0.05", "CHRONO_BENCH_WAIT_MAX_S": "0.2",
           "CHRONO_BENCH_STEP_USERS": "2", "CHRONO_BENCH_STEP_S": "30"}  # fmt: skip
    locust = subprocess.Popen(
        [LOCUST, "-f", str(REPO / "scenarios" / "locustfiles" / locustfile), "--host", api_url,
         "--web-host", "127.0.0.1", "--web-port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=web, timeout=10) as ui:
            _wait_for(lambda: _answers(ui, "/"), "locust's web UI")
            swarm = ui.post("/swarm", data={"user_count": 2, "spawn_rate": 2, "host": api_url})
            assert swarm.status_code == 200, f"{swarm.status_code}: {swarm.text[:500]}"
            assert swarm.json()["success"], swarm.text
            stats = _wait_for(lambda: _enough(ui, NAMES[locustfile]),
                              f"{REQUESTS_WANTED} requests, each kind among them")  # fmt: skip
            stop = ui.post("/stop")
            assert stop.status_code == 200 and stop.json()["success"], stop.text
            _wait_for(lambda: ui.get("/stats/requests").json()["state"] == "stopped", "the stop")
        rows = {row["name"]: row for row in stats["stats"]}
        assert NAMES[locustfile] <= rows.keys(), sorted(rows)
        assert rows["Aggregated"]["num_failures"] == 0, stats.get("errors")
        assert rows["login"]["num_requests"] == 1  # one login per process, not per user
    finally:
        locust.send_signal(signal.SIGTERM)
        try:
            locust.wait(timeout=30)
        except subprocess.TimeoutExpired:
            locust.kill()
            locust.wait()


def _answers(ui: httpx.Client, path: str) -> bool:
    try:
        return ui.get(path).status_code == 200
    except httpx.TransportError:
        return False


def _enough(ui: httpx.Client, names: set[str]) -> dict[str, object] | None:
    """The stats once there are enough requests and each kind has come up: the mix draws
    its kinds at random (a fresh clone's run once drew no search among its first ones)."""
    stats = ui.get("/stats/requests").json()
    total = sum(row["num_requests"] for row in stats["stats"] if row["name"] == "Aggregated")
    seen = {row["name"] for row in stats["stats"] if row["num_requests"] > 0}
    return stats if total >= REQUESTS_WANTED and names <= seen else None


def _wait_for(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + STATS_TIMEOUT_S
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.5)
