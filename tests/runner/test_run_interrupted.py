"""An interrupted `chrono-bench run` keeps what it measured and leaves no process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results import load_results
from harness.run.hold import leftovers

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from harness.cli import main; main()"]
FIRST_SAMPLES_TIMEOUT_S = 300.0


def _samples(reports: Path) -> int:
    try:
        return len(json.loads((reports / "latest" / "results.json").read_text())["samples"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_keeps_partial_results(tmp_path: Path, sig: signal.Signals) -> None:
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        [*CLI, "run", "--optimizations", "stats_aggregate", "--repeats", "4",
         "--reports-dir", str(reports), "--inventory", str(REPO / "inventory.py")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + FIRST_SAMPLES_TIMEOUT_S
    while _samples(reports) == 0:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "no window measured in time"
        time.sleep(1)
    process.send_signal(sig)
    code = process.wait(timeout=120)
    assert code == (143 if sig == signal.SIGTERM else 130)
    results = load_results(reports / "latest")
    assert results["samples"] and results["finished_at"] is None
    assert leftovers(process.pid) == []
