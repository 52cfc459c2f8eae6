"""Lower bounds ("≥ N": a ladder stopped at its ceiling or at the load generator's limit)
in compare's summary and the report: two bounds are never "no change"."""

from __future__ import annotations

import pytest

from harness.compare import median_is_lower_bound, summarize
from harness.report.tables import expected_table, section_cells
from harness.results import Sample, validate_results
from tests.report.synthetic import make_results, samples_for, spread

CEILING = "ceiling 5120"
LOADGEN = "load-generator bound at 640 connections"


def bounded(samples: list[Sample], variant: str, reason: str) -> list[Sample]:
    for sample in samples:
        if sample["variant"] == variant:
            sample["bound"] = "lower"
            sample["bound_reason"] = reason
    return samples


def row_for(samples: list[Sample]) -> dict:
    (row,) = summarize(samples, [])
    return dict(row)


def test_two_lower_bounds_are_inconclusive_not_no_change() -> None:
    samples = samples_for("all", "ws_connections", [5120.0] * 5, [5120.0] * 5)
    assert row_for(samples)["verdict"] == "no-change"  # the same figures, exact
    bounded(bounded(samples, "before", CEILING), "after", CEILING)
    row = row_for(samples)
    assert row["verdict"] == "inconclusive"
    assert "both ≥" in row["reason"]
    assert row["bound"] == "lower" and row["bound_sides"] == ["before", "after"]
    assert CEILING in row["bound_reason"]
    results = make_results(samples, mode="endtoend")
    validate_results(results)
    cells = section_cells(row)  # type: ignore[arg-type]
    assert cells[1].startswith("≥ 5120") and cells[2].startswith("≥ 5120")
    (measured,) = [r for r in expected_table(results) if r.metric.id == "ws_connections"]
    assert measured.before.startswith("≥") and measured.after.startswith("≥")
    assert "no-change" not in measured.verdict


def test_a_bounded_after_above_an_exact_before_is_still_an_improvement() -> None:
    samples = bounded(
        samples_for("all", "ws_connections", spread(640, 5), [5120.0] * 5), "after", CEILING
    )
    row = row_for(samples)
    assert row["verdict"] == "improved"
    assert row["bound_sides"] == ["after"]
    assert section_cells(row)[3].startswith("≥ ")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("before", "after", "bounded_side"),
    [
        # the after could truly be higher than the before: no regression can be claimed
        (spread(1000, 5), spread(640, 5), "after"),
        # the before could truly be higher than the after: no improvement either
        (spread(640, 5), spread(1000, 5), "before"),
    ],
)
def test_a_verdict_a_bound_could_overturn_is_inconclusive(
    before: list[float], after: list[float], bounded_side: str
) -> None:
    samples = samples_for("all", "concurrent_users", before, after)
    assert row_for(samples)["verdict"] in ("improved", "regressed")
    row = row_for(bounded(samples, bounded_side, LOADGEN))
    assert row["verdict"] == "inconclusive"
    assert LOADGEN in row["bound_reason"]


def test_a_median_is_a_bound_only_when_a_bounded_value_could_raise_it() -> None:
    # the bounded value sits above the median: raising it leaves the median alone
    assert not median_is_lower_bound([1000, 2000, 3000], [False, False, True])
    assert median_is_lower_bound([1000, 2000, 3000], [False, True, False])
    assert median_is_lower_bound([5120, 5120, 5120], [True, False, False])


def test_a_bound_without_its_reason_is_rejected() -> None:
    samples = samples_for("all", "ws_connections", [10.0] * 5, [20.0] * 5)
    samples[0]["bound"] = "lower"
    with pytest.raises(Exception, match="bound_reason"):
        validate_results(make_results(samples))


def test_a_before_that_held_no_step_shows_why_beside_its_zero() -> None:
    samples = samples_for("all", "concurrent_users", [0.0] * 4, spread(256, 4))
    why = "the first step missed the SLO (users: 1; p95 912 ms, errors 0.0% of 3 requests)"
    for sample in samples:
        if sample["variant"] == "before":
            sample["note"] = why
    row = row_for(samples)
    assert row["note"] == f"before: {why} (in 4 of 4 windows)"
    results = make_results(samples, mode="endtoend")
    validate_results(results)
    (measured,) = [r for r in expected_table(results) if r.metric.id == "concurrent_users"]
    assert measured.before == "0 users" and why in measured.measured
    # without notes the row carries none
    for sample in samples:
        sample.pop("note", None)
    assert "note" not in row_for(samples)


def test_notes_that_differ_come_with_every_windows_value() -> None:
    # the demo at e8791f5: two windows held no step, two held one user
    samples = samples_for("all", "concurrent_users", [0.0, 1.0, 1.0, 0.0], spread(1024, 4))
    missed = "the first step missed the SLO (users: 1; p95 506 ms, errors 0.0% of 4 requests)"
    held = "held 1 users on 20 requests; 2 failed (p95 841 ms, errors 0.0% of 8 requests)"
    befores = [s for s in samples if s["variant"] == "before"]
    for sample, note in zip(befores, [missed, held, held, missed], strict=True):
        sample["note"] = note
    row = row_for(samples)
    values = "the 4 windows' values: 0, 1, 1, 0"
    assert row["note"] == f"before: {missed} (the first of 4 notes; {values})"
    # the same value in every window, each note with its own figures: no list of values
    for sample, p95 in zip(befores, [504, 520, 506, 511], strict=True):
        sample["value"], sample["note"] = 0.0, missed.replace("506", str(p95))
    first = missed.replace("506", "504")
    assert row_for(samples)["note"] == (
        f"before: {first} (the first of 4 windows' notes, with their own figures)"
    )
