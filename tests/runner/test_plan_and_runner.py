"""The runner's plan, interleaving, verification hold-back and invalid windows.

No services: the stack, the scenarios and the verifier are in-memory doubles at the
runner's boundary, and the clock is a counter, so these tests are exact and instant.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.collect.cpu import ForeignCpu
from harness.progress import Eta
from harness.results import load_results
from harness.run.plan import build_plan, window_count
from harness.run.probes import Prober
from harness.run.probes.base import Reading
from harness.run.results_log import ResultsLog
from harness.run.runner import Runner, busy_machine_reader
from harness.run.verify import Answer
from harness.runtime.placement import Placement
from harness.runtime.variants import BASELINE, Changes, Variant, comparisons
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import get_profile

ISOLATE = comparisons("isolate", ["stats_aggregate", "redis_cache", "ws_manager"])
ENDTOEND = comparisons("endtoend", ["stats_aggregate", "redis_cache", "ws_manager"])
STATS_ALONE = comparisons("isolate", ["stats_aggregate"])
WARM_UP_SLEEP_S = 0.2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class FakeStack:
    runtime = "fake"
    placement = Placement()
    database = "chrono"
    role = "chrono"
    api_url = prometheus_url = upstream_url = database_url = "fake://"

    def __init__(self) -> None:
        self.variant: Variant = BASELINE
        self.applied: list[Variant] = []

    def apply(self, variant: Variant) -> Changes:
        self.applied.append(variant)
        self.variant = variant
        return Changes(False, False, True, False)


class FakeScenario:
    """Reports the variant's size as its value; a window can be made invalid."""

    metrics = ("api_p95_ms",)

    def __init__(self, name: str, clock: FakeClock, invalid_windows: set[int] = frozenset()):
        self.name = name
        self.clock = clock
        self.runs: list[Variant] = []
        self.warm_ups: list[Variant] = []
        self.invalid_windows = invalid_windows
        self.target = None

    def prepare(self, target, profile) -> None:
        pass

    def warm_up(self, target, profile, out_dir) -> None:
        self.warm_ups.append(target.variant)

    def run(self, target, profile, out_dir: Path) -> WindowRecord:
        self.runs.append(target.variant)
        start = self.clock()
        reason = "load generator CPU 97% > 90%" if len(self.runs) in self.invalid_windows else None
        return WindowRecord(self.name, start, self.clock(), {"size": len(target.variant)},
                            invalid_reason=reason)  # fmt: skip

    def collect(self, target, record: WindowRecord) -> list[Measurement]:
        return [Measurement("api_p95_ms", 100.0 - record.readings["size"])]


class FakeVerifier:
    def __init__(self, differs: set[str] = frozenset()) -> None:
        self.differs = differs

    def request_set(self, target) -> list[str]:
        return ["/api/v1/projects/"]

    def answers(self, target, paths) -> dict[str, Answer]:
        body = [sorted(target.variant & self.differs)]
        return {path: Answer(200, body) for path in paths}


def fake_prober(wrong: set[tuple[str, bool]] = frozenset()) -> Prober:
    """Real Prober bookkeeping over probes that see what `wrong` says: (id, on) misread."""

    def probe_of(optimization: str):
        def probe(context, on: bool) -> Reading:
            seen = (optimization, on) not in wrong
            return Reading(seen, f"{optimization} {'fix' if on else 'problem'} seen: {seen}",
                           {"on": float(on)})  # fmt: skip

        return probe

    prober = Prober(
        {o: probe_of(o) for o in ("stats_aggregate", "redis_cache", "ws_manager", "frontend_split")}
    )
    prober.cross_check = lambda: prober._timed(lambda c: Reading(True, "app 1, pg 1"))
    return prober


class FakeMachine:
    """The machine's other jobs as a script: True for a window they disturb, in order."""

    def __init__(self, busy: list[bool]) -> None:
        self.busy = list(busy)

    def __call__(self) -> FakeMachine:
        return self

    def begin(self) -> None:
        pass

    def end(self) -> dict[str, float]:
        busy = self.busy.pop(0) if self.busy else False
        return {"machine.foreign_cpu_max_pct": 95.0 if busy else 3.0,
                "machine.foreign_cpu_mean_pct": 40.0 if busy else 1.0,
                "machine.busy_seconds": 4.0 if busy else 0.0}  # fmt: skip


def _run(tmp_path: Path, runs, repeats: int, verifier=None, invalid: set[int] = frozenset(),
         prober=None, machine=None, patch=None):  # fmt: skip
    clock = FakeClock()
    stack = FakeStack()
    scenarios = {name: FakeScenario(name, clock, invalid if name == "api" else set())
                 for name in ("api", "concurrency", "scrape", "websocket", "soak",
                              "frontend")}  # fmt: skip
    if patch is not None:
        patch(scenarios)
    logs = []
    for index, _ in enumerate(runs):
        header = {
            "schema": 2, "run_id": f"run{index}", "started_at": "2026-01-01T00:00:00",
            "finished_at": None, "git": {"commit": "x", "dirty": False},
            "host": {"cpus": 2, "memory_mb": 1, "cpu_model": "x", "os": "x"},
            "runtime": "fake", "profile": "quick", "mode": "isolate", "budget": {},
            "environment": {"versions": {}, "loadgen_max_rps": {}},
            "samples": [], "verification": [], "summary": [],
        }  # fmt: skip
        logs.append(ResultsLog(tmp_path / f"run{index}" / "results.json", header))
    plan = build_plan(runs, repeats)
    runner = Runner(stack, scenarios, get_profile("quick"), tmp_path, clock=clock,
                    verifier=verifier or FakeVerifier(),
                    prober=prober or fake_prober(), machine=machine)  # fmt: skip
    runner.run(logs, runs, plan)
    return stack, scenarios, [load_results(log.path) for log in logs]


def test_isolate_shares_the_baseline_and_alternates_each_optimization() -> None:
    plan = build_plan([ISOLATE], repeats=2)
    variants = [sorted(window_set.variant) for window_set in plan]
    assert variants == [[], ["stats_aggregate"], ["redis_cache"], ["ws_manager"]] * 2
    for optimization in ("stats_aggregate", "ws_manager"):
        order = [
            (w.repeat, d.variant) for w in plan for d in w.destinations
            if d.optimization == optimization
        ]  # fmt: skip
        assert order == [(0, "before"), (0, "after"), (1, "before"), (1, "after")]
    baseline = plan[0]
    assert baseline.scenarios() == ["api", "websocket", "soak"]
    assert window_count(plan) == 2 * (3 + 1 + 1 + 2)


def test_every_variant_switch_is_followed_by_the_same_warm_up(tmp_path: Path) -> None:
    stack, scenarios, _ = _run(tmp_path, [ISOLATE], repeats=2)
    switches = stack.applied
    # the request mix after every switch, whatever the variant measures (ws_manager's
    # variant runs no api window), before its first window
    assert scenarios["api"].warm_ups == switches
    assert len(switches) == 2 * 4
    assert scenarios["websocket"].warm_ups == [v for v in switches if "redis_cache" not in v
                                               and "stats_aggregate" not in v]  # fmt: skip


def test_the_warm_ups_after_a_switch_run_side_by_side(tmp_path: Path) -> None:
    """The request mix and a scenario's own warm-up (the frontend's page load) overlap:
    one after another they added a page load to every switch."""
    spans: dict[str, list[tuple[float, float]]] = {"api": [], "frontend": []}

    def slow_warm_up(name: str):
        def warm_up(target, profile, out_dir) -> None:
            started = time.monotonic()
            time.sleep(WARM_UP_SLEEP_S)
            spans[name].append((started, time.monotonic()))

        return warm_up

    def patch(scenarios) -> None:
        for name in spans:
            scenarios[name].warm_up = slow_warm_up(name)

    _run(tmp_path, [comparisons("isolate", ["frontend_split"])], repeats=1, patch=patch)
    assert len(spans["api"]) == len(spans["frontend"]) == 2  # baseline, then the split
    for (api_start, api_end), (page_start, page_end) in zip(*spans.values(), strict=True):
        assert page_start < api_end and api_start < page_end


def test_endtoend_and_isolate_share_the_baseline_windows() -> None:
    plan = build_plan([ENDTOEND, ISOLATE], repeats=1)
    assert [len(w.variant) for w in plan] == [0, 3, 1, 1, 1]
    runs_of_baseline = {d.run for d in plan[0].destinations}
    assert runs_of_baseline == {0, 1}


def test_optimized_mode_measures_every_optimization_on_alone_as_after() -> None:
    plan = build_plan([comparisons("optimized", ["stats_aggregate", "redis_cache"])], repeats=3)
    assert [sorted(w.variant) for w in plan] == [["redis_cache", "stats_aggregate"]] * 3
    assert {(d.optimization, d.variant) for w in plan for d in w.destinations} == {("all", "after")}


def test_ladder_after_is_the_next_before() -> None:
    plan = build_plan([comparisons("ladder", ["stats_aggregate", "redis_cache"])], repeats=1)
    assert [sorted(w.variant) for w in plan] == [
        [],
        ["stats_aggregate"],
        ["redis_cache", "stats_aggregate"],
    ]
    assert {(d.optimization, d.variant) for d in plan[1].destinations} == {
        ("stats_aggregate", "after"),
        ("redis_cache", "before"),
    }


def test_runner_interleaves_and_writes_every_windows_samples(tmp_path: Path) -> None:
    stack, _, [results] = _run(tmp_path, [ISOLATE], repeats=2)
    assert stack.applied == [w.variant for w in build_plan([ISOLATE], 2)]
    stats = [(s["repeat"], s["variant"]) for s in results["samples"]
             if s["optimization"] == "stats_aggregate"]  # fmt: skip
    assert stats == [(0, "before"), (0, "after"), (1, "before"), (1, "after")]
    assert all(v["passed"] for v in results["verification"])
    assert results["finished_at"] is not None
    row = next(r for r in results["summary"] if r["optimization"] == "stats_aggregate")
    assert row["before_median"] == 100.0 and row["after_median"] == 99.0


def test_a_saturated_load_generator_marks_only_its_window_invalid(tmp_path: Path) -> None:
    _, _, [results] = _run(tmp_path, [ISOLATE], repeats=1, invalid={2})
    invalid = [s for s in results["samples"] if not s["valid"]]
    assert [(s["optimization"], s["variant"]) for s in invalid] == [("stats_aggregate", "after")]
    assert "90%" in invalid[0]["invalid_reason"]


def test_broken_optimization_is_measured_no_further(tmp_path: Path) -> None:
    verifier = FakeVerifier(differs={"redis_cache"})
    _, scenarios, [results] = _run(tmp_path, [ISOLATE], repeats=3, verifier=verifier)
    verdicts = {v["optimization"]: v["passed"] for v in results["verification"]}
    assert verdicts == {"stats_aggregate": True, "redis_cache": False, "ws_manager": True}
    kept = [(s["variant"], s["repeat"]) for s in results["samples"]
            if s["optimization"] == "redis_cache"]  # fmt: skip
    assert set(kept) == {("before", 0)}  # measured before its after was first applied
    measured = [v for v in scenarios["api"].runs if "redis_cache" in v]
    assert measured == []  # its answers differed before its first window
    # its before windows of the first round reach the summary, marked broken
    broken = [r for r in results["summary"] if r["optimization"] == "redis_cache"]
    assert broken and all(r["verdict"] == "broken" for r in broken)
    assert all("answers differ" in r["reason"] for r in broken)


def test_a_probe_that_misses_the_fix_breaks_only_its_comparison(tmp_path: Path) -> None:
    prober = fake_prober(wrong={("redis_cache", True)})
    _, scenarios, [results] = _run(tmp_path, [ISOLATE], repeats=3, prober=prober)
    verification = {v["optimization"]: v for v in results["verification"]}
    broken = verification["redis_cache"]
    assert not broken["passed"]
    parts = {p["part"]: p for p in broken["parts"]}
    assert parts["answers"]["passed"] and parts["problem reproduced"]["passed"]
    assert not parts["fix in effect"]["passed"]
    assert "redis_cache after round 1: redis_cache fix seen: False" in broken["detail"]
    assert verification["stats_aggregate"]["passed"] and verification["ws_manager"]["passed"]
    # the statement counters are cross-checked only where the api scenario measures
    assert {p["part"] for p in verification["ws_manager"]["parts"]} == {
        "answers",
        "problem reproduced",
        "fix in effect",
    }
    assert {p["part"] for p in verification["stats_aggregate"]["parts"]} == {
        "answers",
        "problem reproduced",
        "fix in effect",
        "statement counters",
    }
    assert [v for v in scenarios["api"].runs if "redis_cache" in v] == []
    rows = [r for r in results["summary"] if r["optimization"] == "redis_cache"]
    assert rows and all(r["verdict"] == "broken" for r in rows)
    # every round probed the live comparisons: 3 rounds x (before, after) of two of them
    probes = results["probes"]
    assert {(p["probe"], p["variant"], p["repeat"]) for p in probes
            if p["optimization"] == "ws_manager"} == {
        ("ws_manager", side, r) for side in ("before", "after") for r in range(3)
    }  # fmt: skip
    assert all(p["expects"] == ("fix in effect" if p["variant"] == "after"
                                else "problem reproduced") for p in probes)  # fmt: skip


def test_a_before_already_fixed_breaks_its_comparisons_before_any_window(tmp_path: Path) -> None:
    prober = fake_prober(wrong={("ws_manager", False)})
    _, _, both = _run(tmp_path, [ENDTOEND, ISOLATE], repeats=2, prober=prober)
    # the baseline is the before of `all` too: its ws_manager probe breaks both
    for results, broken in zip(both, ("all", "ws_manager"), strict=True):
        assert not [s for s in results["samples"] if s["optimization"] == broken]
        failed = {v["optimization"]: v for v in results["verification"] if not v["passed"]}
        assert list(failed) == [broken]
        assert (
            "ws_manager before round 1: ws_manager problem seen: False"
            in (failed[broken]["detail"])
        )
    assert {v["optimization"] for v in both[1]["verification"] if v["passed"]} == {
        "stats_aggregate",
        "redis_cache",
    }


@pytest.mark.parametrize(("done", "elapsed", "left"), [(0, 0, 40.0), (1, 8, 24.0), (4, 8, 0.0)])
def test_eta_uses_the_mean_window_time_so_far(done: int, elapsed: float, left: float) -> None:
    ticks = itertools.chain([0.0], itertools.repeat(float(elapsed)))
    eta = Eta(4, lambda: next(ticks), first_guess_s=10.0)
    eta.advance(done)
    assert eta.remaining_s() == pytest.approx(left)


def test_the_run_says_where_its_time_went(tmp_path: Path) -> None:
    _, scenarios, [results] = _run(tmp_path, [ISOLATE], repeats=2)
    phases = results["environment"]["phase_seconds"]
    assert set(phases) == {"preparing", "switching", "probing", "warming up", "measuring",
                           "collecting"}  # fmt: skip
    # the fake clock ticks once per reading: every window takes at least one second
    windows = sum(len(s.runs) for s in scenarios.values())
    assert phases["measuring"] >= windows
    assert all(seconds >= 0 for seconds in phases.values())


def test_a_window_on_a_busy_machine_is_measured_again_then_kept_invalid(tmp_path: Path) -> None:
    # the baseline's window is disturbed once; the after's on the first try and both retries
    machine = FakeMachine([True, False, True, True, True])
    _, scenarios, [results] = _run(tmp_path, [STATS_ALONE], repeats=1, machine=machine)
    runs = scenarios["api"].runs
    assert runs == [BASELINE] * 2 + [frozenset({"stats_aggregate"})] * 3
    assert results["environment"]["busy_windows"] == {"measured_again": 3, "kept_invalid": 1}
    invalid = [s for s in results["samples"] if not s["valid"]]
    assert [s["variant"] for s in invalid] == ["after"]
    assert invalid[0]["invalid_reason"].startswith("the machine was busy: other processes")
    assert "measuring again" in results["environment"]["phase_seconds"]
    # every attempt's machine readings stay beside the window's files
    kept = [json.loads(line) for path in sorted(tmp_path.rglob("api.machine.jsonl"))
            for line in path.read_text().splitlines()]  # fmt: skip
    assert [bool(line["busy"]) for line in kept] == [True, False, True, True, True]


def test_a_quiet_machine_measures_each_window_once(tmp_path: Path) -> None:
    _, scenarios, [results] = _run(tmp_path, [STATS_ALONE], repeats=2, machine=FakeMachine([]))
    assert len(scenarios["api"].runs) == 4
    assert results["environment"]["busy_windows"] == {"measured_again": 0, "kept_invalid": 0}
    assert all(s["valid"] for s in results["samples"])


@pytest.mark.parametrize(
    ("runtime", "load_hosts", "judged"),
    [
        ("local", (), True),
        # a container's processes are not the harness's descendants
        ("compose", (), False),
        # workers started over SSH on a load host that may be this machine
        ("local", ("lg",), False),
    ],
)
def test_who_can_tell_a_busy_machine(runtime: str, load_hosts: tuple[str, ...],
                                     judged: bool) -> None:  # fmt: skip
    target = SimpleNamespace(runtime=runtime, placement=SimpleNamespace(load_hosts=load_hosts))
    reader = busy_machine_reader(target)  # type: ignore[arg-type]
    assert (reader is ForeignCpu) == judged and (reader is None) != judged
