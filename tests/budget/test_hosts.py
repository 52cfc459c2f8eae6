"""Whole-host budgets against allocations computed by hand (tests/cases/budget/host_*.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.budget.allocation import allocate
from harness.budget.inventory import HostSpec
from harness.budget.shares import SERVICES

CASES_DIR = Path(__file__).parents[1] / "cases" / "budget"
CASES = sorted(CASES_DIR.glob("host_*.json"))
ALLOCATION_KEYS = ("cpus", "reservation_cpus", "memory_mb", "reservation_mb")


@pytest.mark.parametrize("case_path", CASES, ids=lambda path: path.stem)
def test_host_budget(case_path: Path) -> None:
    case: dict[str, Any] = json.loads(case_path.read_text())
    host = HostSpec(**case["host"])
    budget = allocate(host, case["shares"]).to_dict()

    assert budget["os_headroom_mb"] == case["os_headroom_mb"]
    assert list(budget["services"]) == list(SERVICES)
    for name, expected in case["services"].items():
        got = budget["services"][name]
        assert {key: got[key] for key in ALLOCATION_KEYS} == {
            key: expected[key] for key in ALLOCATION_KEYS
        }, name
        for key, value in expected.get("settings", {}).items():
            assert got["settings"][key] == value, f"{name}.{key}"
    assert budget["connections"] == case["connections"]
    assert budget["services"]["postgres"]["settings"]["max_connections"] == str(
        case["connections"]["max_connections"]
    )
