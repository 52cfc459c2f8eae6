"""Which runtime a run uses, what each runtime cannot measure, and the errors a user can
cause choosing one (no stack is started here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.bench_commands import (
    DEMO_ISOLATE_OPTIMIZATIONS,
    DEMO_ISOLATE_SCENARIOS,
)
from harness.errors import UserError
from harness.report.summary import left_out_lines
from harness.run.session import BenchmarkSession, RunOptions
from harness.runtime.runtimes import UNAVAILABLE_SCENARIOS
from harness.runtime.variants import BASELINE, Comparison
from scenarios import stress

REPO = Path(__file__).resolve().parents[2]
CHRONO_BENCH = str(Path(sys.executable).parent / "chrono-bench")
INVENTORY = REPO / "inventory.py"


def session(**options: object) -> BenchmarkSession:
    return BenchmarkSession(RunOptions(inventory=INVENTORY, **options))  # type: ignore[arg-type]


def planned(run: BenchmarkSession) -> set[tuple[frozenset[str], str]]:
    """(variant, scenario) of every window of the plan."""
    return {(w.variant, name) for w in run.plan for name in w.scenarios()}


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(UserError, match="unknown runtime 'podman': choose local or compose"):
        session(runtime="podman")


def test_local_lists_resource_limits_as_not_measured_and_runs_the_rest() -> None:
    run = session(optimizations="resource_limits,stats_aggregate")
    reason = UNAVAILABLE_SCENARIOS["local"]["stress"]
    assert run.not_measured == {"resource_limits": reason}
    assert "not measurable on the local runtime" in reason
    assert [pair.optimization for pair in run.runs[0]] == ["stats_aggregate"]
    assert {name for _, name in planned(run)} == {"api"}


def test_resource_limits_alone_on_local_is_a_one_line_error() -> None:
    with pytest.raises(UserError, match="resource_limits: the stress scenario needs containers"):
        session(optimizations="resource_limits")


def test_compose_measures_resource_limits_on_the_optimized_app() -> None:
    run = session(runtime="compose", optimizations="resource_limits,stats_aggregate")
    assert run.not_measured == {}
    assert run.runs[0] == [
        Comparison("stats_aggregate", BASELINE, frozenset({"stats_aggregate"})),
        Comparison("resource_limits", stress.BEFORE, stress.AFTER),
    ]
    assert planned(run) == {
        (BASELINE, "api"),
        (frozenset({"stats_aggregate"}), "api"),
        (stress.BEFORE, "stress"),
        (stress.AFTER, "stress"),
    }


def test_ladder_keeps_the_cumulative_before_for_resource_limits() -> None:
    run = session(runtime="compose", optimizations="resource_limits,stats_aggregate",
                  modes=("ladder",))  # fmt: skip
    pairs = {pair.optimization: pair for pair in run.runs[0]}
    assert pairs["resource_limits"].before == frozenset({"stats_aggregate"})


def test_compose_lists_the_frontend_as_not_measured() -> None:
    run = session(runtime="compose", optimizations="all", modes=("endtoend",))
    assert run.not_measured == {"frontend_split": UNAVAILABLE_SCENARIOS["compose"]["frontend"]}
    [everything] = run.runs[0]
    assert "resource_limits" in everything.after and "frontend_split" not in everything.after
    assert "frontend" not in {name for _, name in planned(run)}
    with pytest.raises(UserError, match="frontend_split: the frontend scenario loads the web"):
        session(runtime="compose", optimizations="frontend_split")


def test_compose_does_not_pin_and_refuses_load_hosts() -> None:
    run = session(runtime="compose", optimizations="stats_aggregate", pin=True)
    assert not run.placement.pinned
    with pytest.raises(UserError, match="--load-hosts: the compose runtime publishes the API"):
        session(runtime="compose", optimizations="stats_aggregate", load_hosts="loadgen")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--runtime", "podman"], "'podman' is not one of 'local', 'compose'"),
        (["up", "--runtime", "podman"], "'podman' is not one of 'local', 'compose'"),
        (["run", "--mode", "sideways"], "'sideways' is not one of"),
        (["run", "--profile", "huge"], "'huge' is not one of"),
        (["run", "--no-such-option"], "No such option: --no-such-option"),
        (["up", "--runtime", "local", "--optimizations", "resource_limits"],
         "optimization 'resource_limits' cannot be measured by this runtime"),
    ],
)  # fmt: skip
def test_cli_errors_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run([CHRONO_BENCH, *args, "--inventory", str(INVENTORY)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_the_demo_measures_long_scenarios_end_to_end_only() -> None:
    """isolate_scenarios keeps the isolate run to those scenarios; what it leaves out is
    measured end to end and named, with the reason, in the isolate run's not_measured."""
    run = session(modes=("endtoend", "isolate"), isolate_scenarios=("api", "frontend"))
    endtoend, isolate = run.runs
    assert [pair.optimization for pair in endtoend] == ["all"]
    alone = {pair.optimization for pair in isolate}
    assert alone == {"stats_aggregate", "db_indexes", "async_db", "pg_tuning", "redis_cache",
                     "frontend_split"}  # fmt: skip
    left_out = run.mode_not_measured[1]
    assert {"celery_tuning", "db_pool", "ws_manager"} <= left_out.keys()
    assert "measured end to end only" in left_out["celery_tuning"]
    assert "resource_limits" in run.mode_not_measured[0]  # the runtime's, in both runs
    scenarios_alone = {
        name
        for window_set in run.plan
        for d in window_set.destinations
        if d.run == 1
        for name in d.scenarios
    }
    assert scenarios_alone == {"api", "frontend"}  # async_db's concurrency ladder is not
    scenarios_all = {name for window_set in run.plan for name in window_set.scenarios()}
    assert {"scrape", "concurrency", "websocket", "soak"} <= scenarios_all


def test_the_demo_measures_alone_only_the_optimizations_it_names() -> None:
    """isolate_optimizations keeps the isolate run to those; the rest are measured end to
    end (the after is still all on) and named, with the reason, in not_measured."""
    run = session(modes=("endtoend", "isolate"), isolate_scenarios=DEMO_ISOLATE_SCENARIOS,
                  isolate_optimizations=DEMO_ISOLATE_OPTIMIZATIONS)  # fmt: skip
    endtoend, isolate = run.runs
    assert [pair.optimization for pair in endtoend] == ["all"]
    assert {pair.optimization for pair in isolate} == set(DEMO_ISOLATE_OPTIMIZATIONS)
    left_out = run.mode_not_measured[1]
    assert "this run measures alone only stats_aggregate" in left_out["db_indexes"]
    assert "take too long a window" in left_out["celery_tuning"]  # the scenarios' reason
    assert "db_indexes" not in run.mode_not_measured[0]
    variants = {window_set.variant for window_set in run.plan}
    assert len(variants) == 2 + len(DEMO_ISOLATE_OPTIMIZATIONS)  # baseline, all, each alone
    assert {frozenset({"db_indexes"}), frozenset({"pg_tuning"})}.isdisjoint(variants)


def test_the_demo_prints_what_it_does_not_measure_alone_and_why() -> None:
    """Under the isolate run's table: every optimization it leaves out, grouped by reason,
    with the command that measures it alone; nothing when nothing is left out."""
    run = session(modes=("endtoend", "isolate"), isolate_scenarios=DEMO_ISOLATE_SCENARIOS,
                  isolate_optimizations=DEMO_ISOLATE_OPTIMIZATIONS)  # fmt: skip
    results = {"mode": "isolate", "environment": {"not_measured": run.mode_not_measured[1]}}
    lines = left_out_lines(results)  # type: ignore[arg-type]
    named = {o for line in lines for o in line.split(": ")[1].split(", ")}
    assert named == run.mode_not_measured[1].keys()
    assert "db_indexes" in named and "stats_aggregate" not in named
    [chosen] = [line for line in lines if "db_indexes" in line]
    assert "async_db" in chosen and "--mode isolate --optimizations ID" in chosen
    assert left_out_lines({"mode": "endtoend", "environment": {}}) == []  # type: ignore[arg-type]


def test_scenarios_narrows_a_run_and_names_what_it_leaves_out() -> None:
    """--scenarios runs only the named scenarios; optimizations they cannot measure are
    listed as not measured with the reason, not silently dropped."""
    run = session(optimizations="all", modes=("endtoend",), scenarios=("websocket",))
    assert {name for _, name in planned(run)} == {"websocket"}
    run = session(optimizations="ws_manager,stats_aggregate", scenarios=("soak",))
    assert [pair.optimization for pair in run.runs[0]] == ["ws_manager"]
    assert run.not_measured == {"stats_aggregate": "--scenarios runs only soak"}
    with pytest.raises(UserError, match="--scenarios: unknown scenario 'sockets'"):
        session(scenarios=("websocket", "sockets"))


def test_scenarios_keeps_the_end_to_end_after_whole() -> None:
    """All on means all on: narrowing the scenarios does not switch off the optimizations
    whose scenarios it leaves out (a stats call of the concurrency mix needs
    stats_aggregate), only the runtime's unmeasurable ones stay off."""
    for mode in ("endtoend", "optimized"):
        run = session(optimizations="all", modes=(mode,), scenarios=("concurrency",))
        [everything] = run.runs[0]
        assert {"stats_aggregate", "ws_manager", "async_db"} <= everything.after
        assert "resource_limits" not in everything.after
