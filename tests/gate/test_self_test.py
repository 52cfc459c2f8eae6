"""`chrono-bench gate --self-test` for real, at the ci profile on this machine.

The suite's lean check (`make test`, 5.2 minutes measured): a baseline and a run with the
app's canary on (+50 % of the baseline's p95 on the project list), LEAN_REPEATS windows
each rather than the profile's: the gate must fail it with exit 1, naming the policy's
required metric, api_p50_ms, as a detected regression. At 4 windows on a busy shared
machine the p95 itself could not be resolved (detectable 243 % in the one real run, the
machine's speed -49 % between the two runs); the full self-test holds the p95 to it.

The full self-test (`make selftest`): the ci profile's windows, and an A/A run of the same
code between them, which must pass; three ci runs (about 20 minutes on 2 cores).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gate.policy import load_policy
from harness.gate.rules import GateResult
from harness.gate.selftest import CANARY_METRIC, describe, run_self_test

REPO = Path(__file__).resolve().parents[2]
# windows a side in the lean check (each ~29 s with locust's start and stop, two runs in
# about 5 minutes)
LEAN_REPEATS = 4
REQUIRED_METRIC = "api_p50_ms"


def _detected(result: GateResult, metric: str = CANARY_METRIC) -> bool:
    return any(c.metric == metric and c.message.startswith("regression")
               for c in result.failed)  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_gate_fails_the_canary_for_real(tmp_path: Path) -> None:
    test = run_self_test(load_policy(), tmp_path, None, None, REPO / "inventory.py",
                         with_aa=False, repeats=LEAN_REPEATS)  # fmt: skip
    report = describe(test)
    print(report)
    [canary] = test.legs
    assert canary.result.exit_code == 1, report
    assert _detected(canary.result, REQUIRED_METRIC), report


@pytest.mark.slow
@pytest.mark.selftest
@pytest.mark.timeout(3600)
def test_the_gate_passes_an_aa_pair_and_fails_the_canary(tmp_path: Path) -> None:
    test = run_self_test(load_policy(), tmp_path, None, None, REPO / "inventory.py")
    report = describe(test)
    print(report)
    aa, canary = test.legs
    assert canary.result.exit_code == 1 and _detected(canary.result), report
    assert aa.result.exit_code == 0, report
    [p95] = [c for c in aa.result.checks if c.kind == "regression" and c.metric == CANARY_METRIC]
    assert p95.detectable is not None and p95.allowed is not None
    assert p95.detectable <= p95.allowed, report
