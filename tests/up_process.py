"""`chrono-bench up` as a real subprocess, for the tests that hold a stack that way."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest


def start_up(
    command: Sequence[str], cwd: Path, timeout_s: float
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start `command` (an `up`) in `cwd` and wait for its state file; fail with its output."""
    process = subprocess.Popen(
        list(command), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    state = cwd / ".run" / "up.json"
    deadline = time.monotonic() + timeout_s
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"up did not come up: {process.communicate()[0][-3000:]}")
        time.sleep(0.5)
    return process, json.loads(state.read_text())
