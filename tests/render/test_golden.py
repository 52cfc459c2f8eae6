"""The 8-cpu / 16 GB bundle, byte for byte.

Regenerate after an intended change with:
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/render/test_golden.py
and review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.budget.allocation import allocate
from harness.budget.inventory import HostSpec
from harness.render.bundle import RenderOptions, render_bundle, render_postgresql_conf

GOLDEN_DIR = Path(__file__).parents[1] / "golden" / "8c16g"
REPORT_HOST = HostSpec(name="chrono-8c16g", cpus=8, memory_mb=16384)
# Fixed, so the golden compose does not depend on where the test renders it.
OPTIONS = RenderOptions(build_context="../..")
# Secrets are random per bundle: never golden.
NOT_GOLDEN = {".env"}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _rendered(tmp_path: Path) -> dict[str, str]:
    budget = allocate(REPORT_HOST)
    bundle = render_bundle(budget, tmp_path / "bundle", options=OPTIONS)
    files = {
        path.name: path.read_text() for path in bundle.iterdir() if path.name not in NOT_GOLDEN
    }
    files["postgresql.stock.conf"] = render_postgresql_conf(budget, tuned=False)
    return files


def test_bundle_matches_golden_files(tmp_path: Path) -> None:
    files = _rendered(tmp_path)
    if UPDATE:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        for stale in GOLDEN_DIR.iterdir():
            stale.unlink()
        for name, text in files.items():
            (GOLDEN_DIR / name).write_text(text)
        pytest.skip("golden files rewritten: review `git diff tests/golden`")

    golden = {path.name: path.read_text() for path in GOLDEN_DIR.iterdir()}
    assert sorted(files) == sorted(golden)
    for name, text in files.items():
        assert text == golden[name], f"{name} differs from tests/golden/8c16g/{name}"
