"""`chrono-bench gate --self-test`: the gate shown to pass and to fail, for real.

Three runs of the ci profile (the optimized stack, the api scenario) on this machine: a baseline,
an A/A run of the same code, which must pass against it, and a run with the app's canary
on (a known delay on the project list, a test switch: app/core/config.py), which must fail
naming api_p95_ms. The canary's delay is CANARY_SHARE of the baseline's p95, so the
regression it injects is about +50 % of the p95 whatever this machine's speed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from harness.compare import median, pooled_percentile
from harness.gate.comparable import machine_notes, require_comparable
from harness.gate.outputs import markdown_summary
from harness.gate.policy import Policy
from harness.gate.rules import GateResult, run_gate
from harness.results import ALL, load_results, pooled_latencies
from harness.run.session import RunOptions, run_benchmarks

CANARY_SHARE = 0.5
CANARY_METRIC = "api_p95_ms"
CANARY_QUANTILE = 0.95
SELF_TEST_DIR = "self-test"
PROFILE = "ci"
MODE = "optimized"


@dataclass(frozen=True)
class Leg:
    """One gate of the self-test and whether it did what it must."""

    name: str
    result: GateResult
    run_id: str
    expected_exit: int
    seconds: float

    @property
    def ok(self) -> bool:
        if self.result.exit_code != self.expected_exit:
            return False
        if self.expected_exit == 0:
            return True
        # caught: detected as a regression, not merely failed as inconclusive
        return any(c.metric == CANARY_METRIC and c.kind == "regression"
                   and c.message.startswith("regression") for c in self.result.failed)  # fmt: skip


@dataclass(frozen=True)
class SelfTest:
    legs: list[Leg]
    canary_delay_ms: float
    baseline_seconds: float

    @property
    def exit_code(self) -> int:
        return 0 if all(leg.ok for leg in self.legs) else 1


def _run(options: RunOptions, console: Console | None) -> tuple[Path, float]:
    started = time.monotonic()
    [run_dir] = run_benchmarks(options, console)
    return run_dir, time.monotonic() - started


def baseline_p95(run_dir: Path) -> float:
    """The p95 the gate compares: of the pooled requests where the run kept them."""
    samples = load_results(run_dir)["samples"]
    windows = pooled_latencies(run_dir, samples).get((ALL, CANARY_METRIC), {}).get("after")
    if windows:
        return pooled_percentile(windows, CANARY_QUANTILE)
    values = [
        s["value"] for s in samples
        if s["optimization"] == ALL and s["variant"] == "after" and s["valid"]
        and s["metric"] == CANARY_METRIC
    ]  # fmt: skip
    return median(values)


def run_self_test(
    policy: Policy,
    reports_dir: Path,
    console: Console | None,
    canary_delay_ms: float | None,
    inventory: Path = Path("inventory.py"),
    *,
    with_aa: bool = True,
    repeats: int | None = None,
) -> SelfTest:
    """Baseline, A/A and canary runs; each gated against the baseline. Without the A/A
    run and with fewer windows (`repeats`), the canary alone: the suite's lean check."""
    options = RunOptions(modes=(MODE,), profile=PROFILE, inventory=inventory, repeats=repeats,
                         reports_dir=reports_dir / SELF_TEST_DIR)  # fmt: skip
    base_dir, base_seconds = _run(options, console)
    baseline = load_results(base_dir)
    delay = canary_delay_ms or round(CANARY_SHARE * baseline_p95(base_dir), 1)
    legs = []
    plan = [("A/A", 0.0, 0)] if with_aa else []
    for name, delay_ms, expected in [*plan, (f"canary +{delay:g} ms", delay, 1)]:
        run_options = replace(options, canary_delay_ms=delay_ms)
        run_dir, seconds = _run(run_options, console)
        run = load_results(run_dir)
        require_comparable(run, baseline)
        result = run_gate(run, baseline, policy, pooled_latencies(run_dir, run["samples"]),
                          pooled_latencies(base_dir, baseline["samples"]))  # fmt: skip
        result.notes.extend(machine_notes(run, baseline))
        legs.append(Leg(name, result, run["run_id"], expected, seconds))
    return SelfTest(legs, delay, base_seconds)


def describe(test: SelfTest) -> str:
    """The self-test's report in Markdown: each leg's verdict, then its gate summary."""
    lines = [
        f"# Gate self-test: {'passed' if test.exit_code == 0 else 'FAILED'}",
        "",
        f"Baseline run: {test.baseline_seconds:.0f} s. Canary delay: {test.canary_delay_ms:g} ms "
        f"({CANARY_SHARE:.0%} of the baseline's {CANARY_METRIC}).",
        "",
    ]
    for leg in test.legs:
        want = "pass (exit 0)" if leg.expected_exit == 0 else f"fail on {CANARY_METRIC} (exit 1)"
        lines += [
            f"- {leg.name}: run {leg.run_id} ({leg.seconds:.0f} s), gate exit "
            f"{leg.result.exit_code}, expected {want}: {'ok' if leg.ok else 'NOT AS EXPECTED'}",
        ]
    for leg in test.legs:
        lines += ["", f"## {leg.name}", "", markdown_summary(leg.result, leg.run_id)]
    return "\n".join(lines) + "\n"
