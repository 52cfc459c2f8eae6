"""`chrono-bench run --runtime compose` and `up --runtime compose` / `down` on this
machine's engine, with the offline images the other docker tests build: results.json
says compose and holds both sides of the comparison, memory is the containers', and
nothing of the project is left afterwards, also after a killed `up`; what `down` leaves
of an interrupted `up` is swept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from harness.budget.allocation import allocate
from harness.budget.inventory import get_host, load_inventory
from harness.cli import app
from harness.results import load_results
from harness.runtime.compose.images import BASE_IMAGE
from harness.runtime.compose.project import PROJECT_LABEL, sweep_project
from scenarios import stress
from tests.deploy.hosts import project_leftovers
from tests.up_process import start_up

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(1200)]
REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventory.py"
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")
UP_TIMEOUT_S = 420.0
# `docker stats` may count a little above the limit (kernel memory) before the OOM kill
LIMIT_TOLERANCE = 1.05


def test_run_on_compose_measures_both_sides_and_leaves_nothing(
    offline_images: object, tmp_path: Path
) -> None:
    """resource_limits alone, one repeat, at the quick profile as it is (with shorter
    windows the hog of scenarios/stress.py has no time to outgrow the worker's budget):
    its two variants, and recreating every container between them, take most of the time."""
    reports = tmp_path / "reports"
    started = time.monotonic()
    outcome = CliRunner().invoke(app, [
        "run", "--runtime", "compose", "--optimizations", "resource_limits", "--repeats", "1",
        "--reports-dir", str(reports), "--inventory", str(INVENTORY),
    ])  # fmt: skip
    print(f"run took {time.monotonic() - started:.0f} s")
    assert outcome.exit_code == 0, (outcome.output, outcome.exception)
    results = load_results(reports / "latest")
    environment: dict = results["environment"]  # type: ignore[assignment]
    print(json.dumps({k: environment[k] for k in ("engine", "images", "versions")}, indent=1))
    assert results["runtime"] == "compose" and results["finished_at"]
    assert "not_measured" not in environment
    assert environment["placement"]["pinned"] is False
    images = environment["images"]
    assert images and all(image["outcome"] == "reused" for image in images.values())
    assert {"postgres", "redis", "prometheus"} <= set(environment["versions"])
    [verification] = results["verification"]
    assert verification["optimization"] == "resource_limits" and verification["passed"]
    values: dict[tuple[str, str], float] = {}
    for sample in results["samples"]:
        assert sample["valid"] and sample["scenario"] == "stress", sample
        values[(sample["variant"], sample["metric"])] = sample["value"]
    assert set(values) == {(side, metric) for side in ("before", "after")
                           for metric in stress.STRESS_METRICS}  # fmt: skip
    # worker memory is the container's, read from the engine: the runaway worker outgrows
    # its budget without limits and is held to it with them
    worker_mb = allocate(get_host(load_inventory(INVENTORY), "@local"))["worker"].memory_mb
    before, after = values[("before", "worker_memory_mb")], values[("after", "worker_memory_mb")]
    assert before > worker_mb and after <= LIMIT_TOLERANCE * worker_mb, (before, after)
    assert project_leftovers(environment["engine"]["project"]) == []


def test_up_on_compose_killed_then_down_leaves_nothing(
    offline_images: object, tmp_path: Path
) -> None:
    command = [CHRONO_BENCH, "up", "--runtime", "compose", "--no-seed", "--inventory",
               str(INVENTORY)]  # fmt: skip
    up, state = start_up(command, tmp_path, UP_TIMEOUT_S)
    state_file = tmp_path / ".run" / "up.json"
    try:
        assert state["runtime"] == "compose" and state["project"]
        assert project_leftovers(state["project"]), "the project should be up"
        credentials = Path(state["credentials_file"])
        assert oct(credentials.stat().st_mode & 0o777) == "0o600"
        assert "CHRONO_DATABASE_URL=" in credentials.read_text()
        os.kill(up.pid, signal.SIGKILL)
        up.wait(timeout=30)
        assert project_leftovers(state["project"]), "a killed up cannot clean up: down must"
        down = subprocess.run([CHRONO_BENCH, "down"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert down.returncode == 0, down.stderr
        assert project_leftovers(state["project"]) == []
        assert not state_file.exists()
    finally:
        if up.poll() is None:
            up.kill()


def test_what_down_leaves_of_a_project_is_swept(offline_images: object) -> None:
    """An interrupted `up`: a container the engine created after `down` looked, and the
    volume it made again without the project's label."""
    client = docker.from_env()
    project = f"chrono-bench-sweep{os.getpid()}"
    labels = {PROJECT_LABEL: project}
    client.networks.create(f"{project}_default", labels=labels)
    client.volumes.create(f"{project}_postgres_data")  # no label
    client.containers.create(BASE_IMAGE, ["true"], labels=labels,
                             volumes={f"{project}_postgres_data": {"bind": "/data"}})  # fmt: skip
    swept = sweep_project(client, project)
    assert len(swept) == 3, swept
    assert project_leftovers(project) == []
    assert not [v for v in client.volumes.list() if v.name.startswith(project)]
