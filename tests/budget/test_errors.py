"""Each input a user can get wrong gives its own one-line error and exit status 2 (CLI)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CASES_FILE = Path(__file__).parents[1] / "cases" / "budget" / "errors.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())["cases"]
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_error_is_one_line_and_exit_2(case: dict[str, Any], tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.py"
    if case["inventory"] is not None:
        inventory.write_text(case["inventory"])
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in case["args"]]

    result = subprocess.run(
        [CHRONO_BENCH, *args, "--inventory", str(inventory)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    if "stderr" in case:
        assert lines[0] == case["stderr"].replace("{inventory}", str(inventory))
    else:
        pattern = case["stderr_regex"].replace("{inventory}", re.escape(str(inventory)))
        assert re.match(pattern, lines[0]), lines[0]
    assert not (tmp_path / "bundle").exists()  # nothing rendered from an invalid budget
