"""Abandoned compose projects are told apart by their owner's lock: held while the harness
lives, free once it died (even by SIGKILL), absent for projects that are not ours."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from harness.runtime.compose.owner import ProjectOwner, abandoned, sweep_abandoned

HOLD = """
import sys, time
from pathlib import Path
from harness.runtime.compose.owner import ProjectOwner
owner = ProjectOwner(sys.argv[1], Path(sys.argv[2]))
owner.acquire()
print("held", flush=True)
time.sleep(60)
"""


def _owner_process(project: str, directory: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, project, str(directory)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    return process


def test_a_project_is_abandoned_only_once_its_owner_died(tmp_path: Path) -> None:
    alive = _owner_process("chrono-bench-alive", tmp_path)
    killed = _owner_process("chrono-bench-killed", tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        projects = ["chrono-bench-alive", "chrono-bench-killed", "chrono"]  # chrono: no lock
        assert abandoned(projects, tmp_path) == ["chrono-bench-killed"]
    finally:
        alive.kill()
        alive.wait(timeout=10)
    assert abandoned(["chrono-bench-alive"], tmp_path) == ["chrono-bench-alive"]


def test_the_sweep_downs_the_abandoned_and_forgets_them(tmp_path: Path) -> None:
    owner = ProjectOwner("chrono-bench-live", tmp_path)
    owner.acquire()
    killed = _owner_process("chrono-bench-dead", tmp_path)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=10)
    downed: list[str] = []
    projects = ["chrono-bench-live", "chrono-bench-dead"]
    assert sweep_abandoned(projects, downed.append, tmp_path) == ["chrono-bench-dead"]
    assert downed == ["chrono-bench-dead"]
    assert not (tmp_path / "chrono-bench-dead.lock").exists()
    assert sweep_abandoned(projects, downed.append, tmp_path) == []  # forgotten
    owner.release()
    owner.release()  # safe twice
    assert not owner.path.exists()
