"""locust's own distributed mode on this machine: a master, workers, stats merged by
locust, worker loss reported, and the ceiling measured with one and two workers."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from harness.load.ceiling import NginxServer, measure_ceiling
from harness.load.local import run_locust
from harness.load.spec import LOCUSTFILES, LocustSpec
from harness.runtime.placement import Placement, plan_placement

USERS = 8


@pytest.fixture(scope="module")
def nginx() -> Iterator[NginxServer]:
    with NginxServer(Path(tempfile.mkdtemp()) / "nginx", Placement()) as server:
        yield server


def ceiling_spec(nginx: NginxServer, duration_s: float) -> LocustSpec:
    return LocustSpec(
        locustfile=LOCUSTFILES / "ceiling.py",
        host=nginx.url.removesuffix("/ok"),
        users=USERS,
        spawn_rate=USERS,
        duration_s=duration_s,
    )


def locust_processes() -> list[psutil.Process]:
    return [
        child for child in psutil.Process().children(recursive=True)
        if "locust" in " ".join(child.cmdline())
    ]  # fmt: skip


def test_master_merges_its_workers_stats(nginx: NginxServer, tmp_path: Path) -> None:
    placement = replace(plan_placement(True), load_workers=2)
    result = run_locust(ceiling_spec(nginx, 3), tmp_path, "ok", placement)

    assert result.workers == {"local": 2}
    assert result.lost_workers == ()
    assert result.valid, result.invalid_reason
    assert result.total.requests > 100 and result.total.failures == 0
    assert result.stats["ok"].requests == result.total.requests
    assert result.loadgen["loadgen.workers"] == 2
    # the master's log shows both workers reporting to it: the stats are theirs, merged
    log = (tmp_path / "ok.log").read_text()
    assert "2 workers connected" in log
    assert locust_processes() == []


@pytest.mark.slow
def test_a_worker_that_dies_mid_run_makes_the_window_invalid(
    nginx: NginxServer, tmp_path: Path
) -> None:
    placement = replace(Placement(), load_workers=2)
    killed: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = [p for p in locust_processes() if "--worker" in p.cmdline()]
            if (
                len(workers) == 2
                and (tmp_path / "ok.log").exists()
                and ("All users spawned" in (tmp_path / "ok.log").read_text())
            ):
                time.sleep(1)
                workers[0].kill()
                killed.append(workers[0].pid)
                return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    result = run_locust(ceiling_spec(nginx, 8), tmp_path, "ok", placement)
    killer.join()

    assert killed, "no worker to kill appeared"
    assert not result.valid
    assert result.lost_workers, result
    assert result.invalid_reason is not None and "died during the run" in result.invalid_reason
    assert result.loadgen["loadgen.workers_lost"] == 1
    # the master noticed as well, in its own words
    assert "failed to send heartbeat" in (tmp_path / "ok.log").read_text()
    assert locust_processes() == []


@pytest.mark.slow
def test_ceiling_with_one_and_two_workers_side_by_side() -> None:
    with_workers = replace(plan_placement(True), load_workers=2)
    ceiling = measure_ceiling(Path(tempfile.mkdtemp()), with_workers, duration_s=3)
    assert set(ceiling) == {"wrk", "locust_workers_1", "locust_workers_2"}
    assert ceiling["locust_workers_2"] > 100
    assert ceiling["wrk"] > ceiling["locust_workers_2"]
    assert locust_processes() == []
