"""The WebSocket profiling scripts answer bad input with one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUMMARY = REPO / "scripts" / "py_spy_summary.py"
HOLD = REPO / "scripts" / "ws_hold_profile.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_py_spy_summary_groups_the_samples(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text("process 1;main (app.py:3);dumps (json/encoder.py:1) 3\nmain (app.py:3) 1\n")
    result = run(str(SUMMARY), str(raw))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("4 samples")
    assert "75.0  send: json.dumps per connection" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("", "no samples in"),
        ("a;b 3\nc;d x\n", "not py-spy's raw format"),
    ],
)
def test_py_spy_summary_refuses_bad_input_in_one_line(tmp_path, content, message) -> None:
    raw = tmp_path / "raw.txt"
    if content is not None:
        raw.write_text(content)
    result = run(str(SUMMARY), str(raw))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizations", "bogus"], "unknown optimization 'bogus'"),
        (["--connections", "0"], "must be above 0"),
    ],
)
def test_ws_hold_profile_refuses_bad_input_before_starting_anything(tmp_path, args, message):
    result = run(str(HOLD), *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
