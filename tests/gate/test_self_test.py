"""`chrono-bench gate --self-test` for real: three runs of the ci profile on this machine.

The canary's run (+50 % of the baseline's p95 on the project list) must fail naming
api_p95_ms as a detected regression. The A/A run must never fail as a regression; it
passes when its required p95 check is conclusive (the windows can show 20 %), and on a
machine too busy for that it fails as inconclusive, saying what it could detect. Three
ci runs: this is the suite's longest test (about 10 minutes on 2 quiet cores; 28 on
this project's shared machine at load average 10).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gate.policy import load_policy
from harness.gate.selftest import CANARY_METRIC, describe, run_self_test

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.selftest
@pytest.mark.timeout(3600)
def test_the_gate_passes_an_aa_pair_and_fails_the_canary(tmp_path: Path) -> None:
    test = run_self_test(load_policy(), tmp_path, None, None, REPO / "inventory.py")
    report = describe(test)
    aa, canary = test.legs
    assert canary.result.exit_code == 1, report
    assert any(c.metric == CANARY_METRIC and c.message.startswith("regression")
               for c in canary.result.failed), report  # fmt: skip
    assert not any(c.message.startswith("regression") for c in aa.result.failed), report
    [p95] = [c for c in aa.result.checks if c.kind == "regression" and c.metric == CANARY_METRIC]
    assert p95.detectable is not None and p95.allowed is not None
    if p95.detectable <= p95.allowed:
        assert aa.result.exit_code == 0, report
    else:
        assert p95.status == "fail" and p95.message.startswith("inconclusive"), report
