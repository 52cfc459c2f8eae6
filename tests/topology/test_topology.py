"""Roles in inventory.py: per-host budgets, per-host bundles and their errors, as data.

tests/cases/topology/*.json hold inventories with allocations worked out by hand (each
case's "why"); errors.json the one-line errors a user gets for a wrong inventory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.budget.inventory import load_inventory
from harness.render.bundle import RenderOptions
from harness.render.topology import plan_topology, render_host

CASES_DIR = Path(__file__).parents[1] / "cases" / "topology"
CASES = sorted(path for path in CASES_DIR.glob("*.json") if path.name != "errors.json")
ERRORS: list[dict[str, Any]] = json.loads((CASES_DIR / "errors.json").read_text())["cases"]
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")
COMPOSE = str(Path(sys.executable).parent / "docker-compose")


def _load(case_path: Path, tmp_path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(case_path.read_text())
    (tmp_path / "inventory.py").write_text(case["inventory"])
    return case


@pytest.mark.parametrize("case_path", CASES, ids=lambda path: path.stem)
def test_host_budgets(case_path: Path, tmp_path: Path) -> None:
    case = _load(case_path, tmp_path)
    topology = plan_topology(load_inventory(tmp_path / "inventory.py"))

    assert [plan.name for plan in topology.hosts] == list(case["hosts"])
    for name, expected in case["hosts"].items():
        plan = topology.host(name)
        assert list(plan.services) == expected["services"], name
        if expected["connections"] is None:
            assert plan.budget is None
            continue
        assert plan.budget is not None
        budget = plan.budget.to_dict()
        assert list(budget["services"]) == expected["services"], name
        for service, allocation in expected["allocations"].items():
            got = budget["services"][service]
            assert {key: got[key] for key in allocation} == allocation, f"{name} {service}"
        for service, settings in expected["settings"].items():
            got = budget["services"][service]["settings"]
            assert {key: got[key] for key in settings} == settings, f"{name} {service}"
        connections = budget["connections"]
        assert {key: connections[key] for key in expected["connections"]} == expected[
            "connections"
        ], name


@pytest.mark.parametrize("case_path", CASES, ids=lambda path: path.stem)
def test_host_bundles(case_path: Path, tmp_path: Path) -> None:
    """Each host's compose holds only its services, reaches the others at their hosts,
    publishes what they need on its own address, shares the stack's secrets, and is a
    compose file `docker compose config` accepts."""
    case = _load(case_path, tmp_path)
    topology = plan_topology(load_inventory(tmp_path / "inventory.py"))
    secrets: set[str] = set()
    for plan in topology.hosts:
        if plan.budget is None:
            continue
        bundle = render_host(
            topology, plan.name, tmp_path / plan.name, RenderOptions(build_context=""),
            secrets_dir=tmp_path / "secrets",
        )  # fmt: skip
        compose = yaml.safe_load((bundle / "compose.yml").read_text())
        expected = case["hosts"][plan.name]["services"]
        assert set(compose["services"]) - {"migrate"} == set(expected), plan.name
        for service, env in case.get("compose_env", {}).get(plan.name, {}).items():
            for key, fragment in env.items():
                assert fragment in compose["services"][service]["environment"][key], key
        for service, port in case.get("published", {}).get(plan.name, {}).items():
            assert port in compose["services"][service]["ports"], service
        targets = case.get("scrape_targets", {}).get(plan.name)
        if targets:
            prometheus = yaml.safe_load((bundle / "prometheus.yml").read_text())
            jobs = {
                job["job_name"]: job["static_configs"][0]["targets"]
                for job in prometheus["scrape_configs"]
            }
            assert {job: jobs[job] for job in targets} == targets
        assert ("postgresql.conf" in os_listing(bundle)) == ("postgres" in expected)
        secrets.add((bundle / ".env").read_text())
        checked = subprocess.run(
            [COMPOSE, "config", "-q"], cwd=bundle, capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stderr
    assert len(secrets) == 1  # one password per service, whichever host connects


def os_listing(path: Path) -> set[str]:
    return {child.name for child in path.iterdir()}


@pytest.mark.parametrize("case", ERRORS, ids=[case["name"] for case in ERRORS])
def test_role_errors_are_one_line_naming_the_host(case: dict[str, Any], tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.py"
    inventory.write_text(case["inventory"])
    result = subprocess.run(
        [CHRONO_BENCH, *case["args"], "--inventory", str(inventory)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [case["stderr"].replace("{inventory}", str(inventory))]
