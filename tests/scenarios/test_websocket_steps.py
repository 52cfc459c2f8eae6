"""ws_connections: the largest step that kept every connection and delivered on time."""

from __future__ import annotations

import pytest

from scenarios.websocket import held_steps


def step(connections: int, held: int, expected: int, on_time: int) -> dict:
    return {"connections": connections, "held": held, "expected": expected,
            "on_time": on_time, "p99_ms": 10.0}  # fmt: skip


CASES = [
    ("all held", [step(50, 50, 100, 100), step(100, 100, 200, 200)], 100),
    ("late messages", [step(50, 50, 100, 100), step(100, 100, 200, 197)], 50),
    ("a connection refused", [step(50, 50, 100, 100), step(100, 95, 190, 190)], 50),
    ("nothing published", [step(50, 50, 0, 0)], 0),
    ("99 % exactly", [step(50, 50, 100, 99)], 50),
]


@pytest.mark.parametrize(("case", "steps", "expected"), CASES, ids=[c[0] for c in CASES])
def test_held_steps(case: str, steps: list, expected: int) -> None:
    passed = held_steps(steps)
    assert (passed[-1]["connections"] if passed else 0) == expected
