"""PGTune's "web" rules against values computed by hand (tests/cases/budget/pgtune_*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.budget.settings.postgres import postgres_settings

CASES_DIR = Path(__file__).parents[1] / "cases" / "budget"
CASES = sorted(CASES_DIR.glob("pgtune_*.json"))


def test_there_are_at_least_three_limits() -> None:
    assert len(CASES) >= 3


@pytest.mark.parametrize("case_path", CASES, ids=lambda path: path.stem)
def test_pgtune_web_rules(case_path: Path) -> None:
    case = json.loads(case_path.read_text())
    settings = postgres_settings(**case["input"])
    assert settings == case["expected"]
