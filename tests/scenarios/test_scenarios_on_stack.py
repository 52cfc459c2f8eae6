"""Each scenario's contract on a real stack, and stats_aggregate measured end to end.

Short windows keep the module under three minutes; the figures are compared between the
variants of the same run, never with hard-coded values.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from harness.collect.series import window_peaks
from harness.report import write_report
from harness.results import (
    LATENCIES_DIR,
    TIMESERIES_DIR,
    Results,
    load_latencies,
    load_results,
    load_timeseries,
    window_file,
)
from harness.run.plan import build_plan
from harness.run.results_log import ResultsLog
from harness.run.runner import Runner
from harness.runtime.local.monitoring import CELERY_QUEUES
from harness.runtime.local.stack import LocalStack
from harness.runtime.variants import comparisons
from scenarios.api import ApiScenario
from scenarios.base import Measurement
from scenarios.concurrency import ConcurrencyScenario
from scenarios.ladder import MIN_VERDICT_REQUESTS, LadderSpec
from scenarios.profiles import get_profile
from scenarios.scrape import ScrapeScenario
from scenarios.soak import SoakScenario
from scenarios.websocket import WebsocketScenario

SHORT = replace(
    get_profile("quick"), api_duration_s=4.0, warmup_s=2.0, scrape_domains=2,
    users_ladder=LadderSpec(start=1, factor=2, ceiling=64, bisect=False), users_step_s=2.0,
    ws_ladder=LadderSpec(start=10, factor=2, ceiling=40, bisect=False, unit="connections"),
    ws_step_s=1.0, soak_connections=20, soak_s=6.0,
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
    # each percentile says how many requests stand behind it
    assert measured["api_p95_ms"].requests == record.data["stats"]["projects"].requests > 0
    assert (tmp_path / "api.log").exists()


def test_stats_aggregate_end_to_end(seeded_stack: LocalStack, tmp_path: Path) -> None:
    runs = [comparisons("isolate", ["stats_aggregate"])]
    header = {
        "schema": 2, "run_id": "e2e", "started_at": "2026-01-01T00:00:00+00:00",
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
    _assert_window_files(seeded_stack, tmp_path, results)


def _assert_window_files(stack: LocalStack, run_dir: Path, results: Results) -> None:
    """Every measured window left its Prometheus series and latencies; the report draws them.

    The API is restarted before each window and the N+1 "before" blocks its event loop,
    so its scrapes (hence rate and p95 points) can be missing for parts of a window; the
    Redis exporters are scraped throughout and give every point.
    """
    windows = {(s["variant"], s["repeat"]): s["window"] for s in results["samples"]}
    assert len(windows) == 8
    rps_peak, p95_points = 0.0, []
    for (variant, repeat), (started, finished) in windows.items():
        where = ("stats_aggregate", variant, repeat)
        drawn = load_timeseries(window_file(run_dir, TIMESERIES_DIR, *where))["series"]
        series = {one["name"]: one for one in drawn}
        start, end = (datetime.fromisoformat(t).timestamp() for t in (started, finished))
        for one in drawn:
            assert all(start - 0.01 <= t <= end + 0.01 for t, _ in one["points"]), one
        for name in ("redis_broker_memory_mb", "ws_connections_open",
                     *(f"celery_queue_{queue}" for queue in CELERY_QUEUES)):  # fmt: skip
            assert len(series[name]["points"]) >= 10, (where, name, series[name])
        assert series["redis_broker_memory_mb"]["unit"] == "MiB"
        assert all(v > 0 for _, v in series["redis_broker_memory_mb"]["points"])
        # the api scenario opens no WebSocket
        assert all(v == 0 for _, v in series["ws_connections_open"]["points"])
        rps_peak = max([rps_peak, *(v for _, v in series["api_rps"]["points"])])
        p95_points += series["api_p95_ms"]["points"] if "api_p95_ms" in series else []
        latencies = load_latencies(window_file(run_dir, LATENCIES_DIR, *where))
        assert latencies["metric"] == "api_p95_ms" and latencies["latencies_ms"]
        assert latencies["latencies_ms"] == sorted(latencies["latencies_ms"])
        assert latencies["latencies_ms"][0] > 0
    assert rps_peak > 0 and p95_points and all(v > 0 for _, v in p95_points)
    started, finished = next(iter(windows.values()))
    peaks = window_peaks(stack.prometheus_url, *(datetime.fromisoformat(t).timestamp()
                                                  for t in (started, finished)))  # fmt: skip
    assert set(peaks) == {"ws_connections.max", *(f"celery_queue.{q}.max" for q in CELERY_QUEUES)}
    assert peaks["ws_connections.max"] == 0
    report = write_report(run_dir)
    drawn_png = {path.name for path in report.images}
    # one time-series chart per optimization, its windows' before and after overlaid
    assert "timeseries-stats_aggregate.png" in drawn_png
    assert (run_dir / "timeseries-stats_aggregate.png").stat().st_size > 0
    assert "cdf-stats_aggregate.png" in drawn_png


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


@pytest.mark.parametrize(
    "scenario_class", [ConcurrencyScenario, ScrapeScenario, WebsocketScenario, SoakScenario]
)
def test_scenario_contract(seeded_stack: LocalStack, tmp_path: Path, scenario_class: type) -> None:
    scenario = scenario_class()
    scenario.prepare(seeded_stack, SHORT)
    scenario.warm_up(seeded_stack, SHORT, tmp_path)
    record = scenario.run(seeded_stack, SHORT, tmp_path)
    assert record.scenario == scenario.name and record.finished_at > record.started_at
    measured = {m.metric: m for m in scenario.collect(seeded_stack, record)}
    assert set(measured) == set(scenario.metrics)
    if scenario.name == "scrape":
        assert record.invalid_reason is None, record.invalid_reason
        assert measured["scrape_pages_per_min"].value > 0
        assert measured["worker_memory_mb"].value > 10
        assert math.isfinite(measured["critical_task_wait_ms"].value)
    if scenario.name == "concurrency":
        _assert_ladder_ran_to_its_end(record.data["steps"], measured["concurrent_users"])
    if scenario.name == "websocket":
        assert measured["ws_connections"].value > 0, record.data
        for step in record.data["steps"]:  # one in ten stalled, the rest read
            assert step["extra"]["stalled"] == step["load"] // 10, step
            # a short low step may cost the API less than one clock tick (10 ms) of CPU
            assert step["extra"]["api_cpu_s"] >= 0 and step["extra"]["delivered"] > 0, step
        assert measured["ws_api_cpu_us_per_message"].valid, record.data
    if scenario.name == "soak":
        hold = record.data["hold"]["extra"]
        assert hold["connections"] == SHORT.soak_connections and hold["stalled"] == 2, hold
        assert hold["messages"] > 0 and hold["refused"] == 0, hold
        assert measured["backend_memory_mb"].value > 10
        assert math.isfinite(measured["backend_memory_growth"].value)


def _assert_ladder_ran_to_its_end(steps: list[dict], users: Measurement) -> None:
    """The ladder climbed geometrically from one user, every step but the last held, and
    it stopped for a stated reason: the last step missed its SLO (the value is the step
    before, exact), or the ceiling held or the load generator saturated (a lower bound).
    After a failure it only holds again a load it passed provisionally. This stack runs
    the baseline, whose N+1 project list takes about half a second even alone, so its
    ladder usually ends at 0 or 1 user."""
    loads = [step["load"] for step in steps]
    failure = next((i for i, step in enumerate(steps) if not step["passed"]), len(steps) - 1)
    climb, after = steps[: failure + 1], steps[failure + 1 :]
    assert [s["load"] for s in climb] == [2**i for i in range(len(climb))], loads
    assert all(step["passed"] for step in climb[:-1]), steps
    assert all(s["load"] < climb[-1]["load"] and not s["provisional"] for s in after), steps
    latest = {step["load"]: step for step in steps}
    if users.bound_reason is None:  # exact: a step missed its SLO, the value is below it
        failed = min(load for load, step in latest.items() if not step["passed"])
        assert users.value == max((load for load in latest if load < failed), default=0)
        deciding = [latest[failed]] + ([latest[int(users.value)]] if users.value else [])
        for step in deciding:  # the steps that decided the value stand on the minimum
            assert not step["provisional"], step
            assert step["extra"]["requests"] >= MIN_VERDICT_REQUESTS or (
                "judged on fewer" in step["detail"]
                or (not step["passed"] and step["detail"].endswith("would fail"))
            ), step
    else:  # a lower bound: the ceiling held, or the load generator saturated
        last = steps[-1]
        assert last["load"] == SHORT.users_ladder.ceiling or last["loadgen_bound"], last
    assert all(step["detail"].startswith("p95 ") for step in steps), steps
    assert all(step["extra"]["requests"] >= 1 for step in steps), steps
