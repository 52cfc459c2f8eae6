"""The `summary` list of results.json, and lower bounds in verdicts (see harness.compare)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from harness.compare.pooled import Pooled, pool
from harness.compare.stats import CompareConfig, MetricComparison, compare, median
from harness.metrics import METRICS
from harness.results import LOWER, Expected, Sample, Side, SummaryRow, Verdict, Verification


def median_is_lower_bound(values: Sequence[float], bounded: Sequence[bool]) -> bool:
    """Whether a side's median is only a lower bound: some bounded value lies at or below
    it, so its true value, higher, could raise the median."""
    if not values:
        return False
    middle = median(values)
    return any(
        is_bound and value <= middle for value, is_bound in zip(values, bounded, strict=True)
    )


def bounded_verdict(
    result: MetricComparison, before_bound: bool, after_bound: bool
) -> tuple[Verdict, str | None]:
    """The verdict once lower bounds are taken into account (see the module docstring)."""
    if not (before_bound or after_bound) or result.verdict == "inconclusive":
        return result.verdict, result.reason
    if before_bound and after_bound:
        return "inconclusive", "both ≥: two lower bounds say nothing of which side is higher"
    before, after = result.before_median, result.after_median
    assert before is not None and after is not None
    # A bounded side may truly be higher still: only an ordering where it already is the
    # higher one survives that.
    higher_side_bounded = after > before if after_bound else before > after
    if result.verdict in ("improved", "regressed") and higher_side_bounded:
        return result.verdict, result.reason
    side = "after" if after_bound else "before"
    return "inconclusive", f"the {side} side is only a lower bound (≥)"


def summarize(
    samples: Iterable[Sample],
    verification: Iterable[Verification],
    config: CompareConfig = CompareConfig(),
    pooled: Pooled | None = None,
) -> list[SummaryRow]:
    """The results.json `summary`: one row per (optimization, metric) with samples.

    Only valid samples count. An optimization whose verification failed is `broken`
    whatever its samples say.
    """
    values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
        lambda: {"before": [], "after": []}
    )
    # per value, the top of its bracket (a ladder's first failing load; the value itself
    # when exact), in the same order
    uppers: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
        lambda: {"before": [], "after": []}
    )
    # per value, the reason it is a lower bound ("" when exact), in the same order
    bounds: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(
        lambda: {"before": [], "after": []}
    )
    # requests behind the valid windows' percentiles, per side, where samples say so
    requests: dict[tuple[str, str], dict[str, int]] = {}
    # the valid windows' notes, per side, and how many valid windows each side has
    notes: dict[tuple[str, str], dict[Side, list[str]]] = defaultdict(
        lambda: {"before": [], "after": []}
    )
    for sample in samples:
        key = (sample["optimization"], sample["metric"])
        group = values[key]
        if sample["valid"] and "note" in sample:
            notes[key][sample["variant"]].append(sample["note"])
        if sample["valid"] and "requests" in sample:
            behind = requests.setdefault(key, {"before": 0, "after": 0})
            behind[sample["variant"]] += sample["requests"]
        if sample["valid"]:
            group[sample["variant"]].append(sample["value"])
            uppers[key][sample["variant"]].append(sample.get("failed_at", sample["value"]))
            why = sample.get("bound_reason", "") if sample.get("bound") == LOWER else ""
            bounds[key][sample["variant"]].append(why)
    failed = {v["optimization"]: v["detail"] for v in verification if not v["passed"]}
    rows: list[SummaryRow] = []
    for (optimization, metric_id), group in values.items():
        metric = METRICS[metric_id]
        tops = uppers[(optimization, metric_id)]
        result = compare(group["before"], group["after"], metric.better, config,
                         before_upper=tops["before"], after_upper=tops["after"])  # fmt: skip
        windows = (pooled or {}).get((optimization, metric_id), {})
        pooling = (
            metric.pooled_quantile is not None
            and windows.get("before") and windows.get("after")
        )  # fmt: skip
        if pooling and metric.pooled_quantile is not None:
            result = pool(result, windows["before"], windows["after"],
                          metric.pooled_quantile, metric.better, config)  # fmt: skip
        expected: Expected | None = None
        if metric.current is not None and metric.optimized is not None:
            expected = {"current": metric.current, "optimized": metric.optimized}
        row: SummaryRow = {
            "optimization": optimization,
            "metric": metric_id,
            "before_median": result.before_median,
            "after_median": result.after_median,
            "ratio": result.ratio,
            "ci95": list(result.ci95) if result.ci95 else None,
            "p_value": result.p_value,
            "verdict": result.verdict,
            "expected": expected,
            "n_before": result.n_before,
            "n_after": result.n_after,
        }
        if result.ci95 is None and result.ci_reason:
            row["ci_reason"] = result.ci_reason
        if pooling:
            row["requests_before"] = sum(len(w) for w in windows["before"])
            row["requests_after"] = sum(len(w) for w in windows["after"])
        elif (optimization, metric_id) in requests:
            row["requests_before"] = requests[(optimization, metric_id)]["before"]
            row["requests_after"] = requests[(optimization, metric_id)]["after"]
        sides = _bound_sides(group, bounds[(optimization, metric_id)])
        verdict, reason = bounded_verdict(result, "before" in sides, "after" in sides)
        row["verdict"] = verdict
        if sides:
            row["bound"] = LOWER
            row["bound_sides"] = list(sides)
            row["bound_reason"] = "; ".join(f"{side} ≥ ({why})" for side, why in sides.items())
        note = _note(notes[(optimization, metric_id)], group)
        if note:
            row["note"] = note
        if optimization in failed:
            row["verdict"] = "broken"
            row["reason"] = f"verification failed: {failed[optimization]}"
        elif reason:
            row["reason"] = reason
        rows.append(row)
    return rows


def _note(notes: dict[Side, list[str]], values: dict[str, list[float]]) -> str:
    """Each side's first note, with how many of its valid windows carried one; where the
    windows' values differ, those values too, so that one window's note is not read as
    all of them (a before that held no step in two windows and one user in two others)."""
    parts = []
    side: Side
    for side in ("before", "after"):
        if not notes[side]:
            continue
        count, windows = len(notes[side]), len(values[side])
        if len(set(values[side])) > 1:
            each = ", ".join(f"{value:g}" for value in values[side])
            share = f" (the first of {count} notes; the {windows} windows' values: {each})"
        elif len(set(notes[side])) > 1:
            share = f" (the first of {count} windows' notes, with their own figures)"
        else:
            share = f" (in {count} of {windows} windows)"
        parts.append(f"{side}: {notes[side][0]}{share}")
    return "; ".join(parts)


def _bound_sides(values: dict[str, list[float]], reasons: dict[str, list[str]]) -> dict[Side, str]:
    """The sides whose median is a lower bound, each with its samples' reasons."""
    sides: dict[Side, str] = {}
    side: Side
    for side in ("before", "after"):
        bounded = [bool(reason) for reason in reasons[side]]
        if median_is_lower_bound(values[side], bounded):
            sides[side] = ", ".join(sorted({r for r in reasons[side] if r}))
    return sides
