"""The soak's growth is a slope only over a hold long enough for one; its peak always counts."""

from __future__ import annotations

from typing import Any, cast

import pytest

from harness.runtime.target import Target
from scenarios.base import WindowRecord
from scenarios.soak import MIN_SLOPE_HOLD_S, SoakScenario

NO_TARGET = cast(Target, None)  # collect() reads only the record


def soak_record(hold_s: float, **fields: Any) -> WindowRecord:
    return WindowRecord(
        "soak", 0.0, hold_s + 1.0,
        {"api.peak_mb": 226.0, "api.growth_mib_per_min": 5.7},
        data={"hold": {}, "samples": 20, "hold_s": hold_s}, **fields,
    )  # fmt: skip


def test_a_short_hold_keeps_its_peak_and_marks_its_growth_no_slope() -> None:
    measured = {m.metric: m for m in SoakScenario().collect(NO_TARGET, soak_record(5.0))}
    peak, growth = measured["backend_memory_mb"], measured["backend_memory_growth"]
    assert peak.valid and peak.value == 226.0
    assert not growth.valid and growth.value == 5.7
    assert growth.invalid_reason is not None and "5 s hold is too short" in growth.invalid_reason


@pytest.mark.parametrize("hold_s", [MIN_SLOPE_HOLD_S, 180.0])
def test_a_long_enough_hold_measures_a_growth(hold_s: float) -> None:
    measured = {m.metric: m for m in SoakScenario().collect(NO_TARGET, soak_record(hold_s))}
    assert measured["backend_memory_growth"].valid
    assert measured["backend_memory_mb"].valid


def test_an_invalid_window_says_its_own_reason_for_both() -> None:
    record = soak_record(180.0, invalid_reason="the api load did not run")
    for m in SoakScenario().collect(NO_TARGET, record):
        assert not m.valid and m.invalid_reason == "the api load did not run"
