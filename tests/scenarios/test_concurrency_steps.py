"""The concurrency metric: the largest step such that it and every lower step met the SLO."""

from __future__ import annotations

import pytest

from scenarios.concurrency import largest_passing_step

FAST, SLOW = 100.0, 900.0
ONE_ERROR_IN_21_AT_20 = [(20, FAST, False)] + [(20, FAST, True)] * 20
CASES = [
    ("every step fast", [(10, FAST, True)] * 20 + [(20, FAST, True)] * 20, 20),
    ("second step slow", [(10, FAST, True)] * 20 + [(20, SLOW, True)] * 20, 10),
    ("first step slow", [(10, SLOW, True)] * 20 + [(20, FAST, True)] * 20, 0),
    (
        "errors over 1 %",
        [(10, FAST, True)] * 20 + [(20, FAST, False)] + [(20, FAST, True)] * 20,
        10,
    ),
    ("p95 just under", [(10, FAST, True)] * 95 + [(10, SLOW, True)] * 4, 10),
    ("p95 over", [(10, FAST, True)] * 90 + [(10, SLOW, True)] * 10, 0),
    ("no requests", [], 0),
]


@pytest.mark.parametrize(("case", "samples", "expected"), CASES, ids=[c[0] for c in CASES])
def test_largest_passing_step(case: str, samples: list, expected: int) -> None:
    assert largest_passing_step(samples) == expected
