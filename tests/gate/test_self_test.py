"""`chrono-bench gate --self-test` for real: three runs of the ci profile on this machine.

The A/A run must pass against the baseline and the canary's run (+50 % of the baseline's
p95 on the project list) must fail naming api_p95_ms. Three ci runs: this is the suite's
longest test (about 10 minutes on 2 quiet cores).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gate.policy import load_policy
from harness.gate.selftest import CANARY_METRIC, describe, run_self_test

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_gate_passes_an_aa_pair_and_fails_the_canary(tmp_path: Path) -> None:
    test = run_self_test(load_policy(), tmp_path, None, None, REPO / "inventory.py")
    report = describe(test)
    aa, canary = test.legs
    assert aa.result.exit_code == 0, report
    assert canary.result.exit_code == 1, report
    assert any(c.metric == CANARY_METRIC and c.message.startswith("regression")
               for c in canary.result.failed), report  # fmt: skip
    assert test.exit_code == 0, report
