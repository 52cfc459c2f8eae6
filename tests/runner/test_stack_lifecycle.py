"""The local stack leaves no process behind: on `down`, Ctrl-C, SIGTERM, or a killed `up`.

`chrono-bench up` runs as a real subprocess; what it started is found by the mark
mirakuru puts in every child's environment, which survives setpriv and forks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from harness.run.hold import leftovers
from tests.up_process import start_up

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from harness.cli import main; main()"]
UP_TIMEOUT_S = 180.0
EXIT_TIMEOUT_S = 90.0
EXPECTED = {"postgres", "redis-server", "prometheus"}


def _start_up(cwd: Path) -> tuple[subprocess.Popen[str], int, Path]:
    command = [*CLI, "up", "--no-seed", "--inventory", str(REPO / "inventory.py")]
    process, written = start_up(command, cwd, UP_TIMEOUT_S)
    _check_credentials(Path(written["credentials_file"]))
    return process, written["pid"], Path(written["run_dir"])


def _check_credentials(path: Path) -> None:
    """One file with every endpoint, the stand-in's too on local, for root only."""
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    keys = {line.split("=", 1)[0] for line in path.read_text().splitlines()}
    assert {"CHRONO_API_URL", "CHRONO_DATABASE_URL", "CHRONO_WAYBACK_URL"} <= keys, keys


def _names(pid: int, run_dir: Path) -> set[str]:
    names = set()
    for child in leftovers(pid, run_dir):
        try:
            names.add(child.name())
        except psutil.NoSuchProcess:
            continue
    return names


@pytest.mark.slow
@pytest.mark.parametrize("how", ["down", "sigint", "sigterm", "killed-then-down"])
def test_stack_stops_everything_it_started(tmp_path: Path, how: str) -> None:
    process, pid, run_dir = _start_up(tmp_path)
    try:
        assert _names(pid, run_dir) >= EXPECTED
        if how == "down":
            subprocess.run([*CLI, "down"], cwd=tmp_path, check=True, timeout=EXIT_TIMEOUT_S)
        elif how in ("sigint", "sigterm"):
            os.kill(pid, signal.SIGINT if how == "sigint" else signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGKILL)
            process.wait(timeout=EXIT_TIMEOUT_S)
            assert _names(pid, run_dir), "a killed harness cannot clean up: down must"
            subprocess.run([*CLI, "down"], cwd=tmp_path, check=True, timeout=EXIT_TIMEOUT_S)
        process.wait(timeout=EXIT_TIMEOUT_S)
        assert leftovers(pid, run_dir) == []
        assert not (tmp_path / ".run" / "up.json").exists()
    finally:
        if process.poll() is None:
            process.kill()
        for orphan in leftovers(pid, run_dir):
            orphan.kill()
