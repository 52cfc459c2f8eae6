"""Each scenario's contract on a real stack, and stats_aggregate measured end to end.

Short windows keep the module under three minutes; the figures are compared between the
variants of the same run, never with hard-coded values.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from harness.plan import build_plan
from harness.results import load_results
from harness.runner import ResultsLog, Runner
from harness.runtime.local import LocalStack
from harness.runtime.variants import comparisons
from scenarios.api import ApiScenario
from scenarios.concurrency import ConcurrencyScenario
from scenarios.profiles import get_profile
from scenarios.scrape import ScrapeScenario
from scenarios.websocket import WebsocketScenario

SHORT = replace(
    get_profile("quick"), api_duration_s=4.0, warmup_s=2.0, ramp_step_s=2.0, ramp_max_users=20,
    scrape_domains=2, ws_step=20, ws_step_s=1.0, ws_max=40,
)  # fmt: skip
pytestmark = pytest.mark.slow


def test_api_scenario_prepares_runs_and_collects_every_metric(
    seeded_stack: LocalStack, tmp_path: Path
) -> None:
    scenario = ApiScenario()
    scenario.prepare(seeded_stack, SHORT)
    assert scenario.project_ids
    record = scenario.run(seeded_stack, SHORT, tmp_path)
    assert record.finished_at > record.started_at
    measured = {m.metric: m for m in scenario.collect(seeded_stack, record)}
    assert set(measured) == set(scenario.metrics)
    assert all(math.isfinite(m.value) for m in measured.values())
    assert measured["api_rps"].value > 0
    assert measured["backend_memory_mb"].value > 10
    assert (tmp_path / "api.log").exists()


def test_stats_aggregate_end_to_end(seeded_stack: LocalStack, tmp_path: Path) -> None:
    runs = [comparisons("isolate", ["stats_aggregate"])]
    header = {
        "schema": 1, "run_id": "e2e", "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": None, "git": {"commit": "x", "dirty": False},
        "host": {"cpus": 2, "memory_mb": 1, "cpu_model": "x", "os": "x"},
        "runtime": "local", "profile": "quick", "mode": "isolate", "budget": {},
        "environment": {"versions": {}, "loadgen_max_rps": {}},
        "samples": [], "verification": [], "summary": [],
    }  # fmt: skip
    log = ResultsLog(tmp_path / "results.json", header)  # type: ignore[arg-type]
    runner = Runner(seeded_stack, {"api": ApiScenario()}, SHORT, tmp_path)
    runner.run([log], runs, build_plan(runs, repeats=4))
    results = load_results(tmp_path)
    assert results["verification"][0]["passed"], results["verification"]
    rows = {row["metric"]: row for row in results["summary"]}
    statements = rows["db_queries_per_request"]
    assert statements["before_median"] >= 100 * statements["after_median"]
    assert statements["verdict"] == "improved"
    p95 = rows["api_p95_ms"]
    assert p95["after_median"] < p95["before_median"]
    assert p95["ci95"] is not None and p95["ci95"][1] < 1.0
    # Locust ran in processes of its own, all gone by now.
    assert not [p for p in _running_children() if "locust" in p.cmdline()]


def _running_children() -> list[psutil.Process]:
    """Our live descendants (a zombie has ended: it runs nothing and has no command line)."""
    running = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                child.cmdline()
                running.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return running


@pytest.mark.parametrize("scenario_class", [ConcurrencyScenario, ScrapeScenario, WebsocketScenario])
def test_scenario_contract(seeded_stack: LocalStack, tmp_path: Path, scenario_class: type) -> None:
    scenario = scenario_class()
    scenario.prepare(seeded_stack, SHORT)
    scenario.warm_up(seeded_stack, SHORT, tmp_path)
    record = scenario.run(seeded_stack, SHORT, tmp_path)
    assert record.scenario == scenario.name and record.finished_at > record.started_at
    measured = {m.metric: m for m in scenario.collect(seeded_stack, record)}
    assert set(measured) == set(scenario.metrics)
    assert all(m.value >= 0 for m in measured.values() if math.isfinite(m.value))
    if scenario.name == "scrape":
        assert record.invalid_reason is None, record.invalid_reason
        assert measured["scrape_pages_per_min"].value > 0
        assert measured["worker_memory_mb"].value > 10
        assert math.isfinite(measured["critical_task_wait_ms"].value)
    if scenario.name == "websocket":
        assert measured["ws_connections"].value > 0, record.data
