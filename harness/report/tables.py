"""The report's tables as plain rows, shared by summary.md and index.html.

"met" for the report's expected improvement: the end-to-end comparison (optimization
`all`: every optimization off vs on, the report's Current/Optimized columns) must be
`improved`, and the conservative end of its 95 % CI must reach the report's claim: for
"80% reduction" the CI's upper ratio bound <= 0.20, for "5x increase" its lower bound
>= 5; for "New capability" (cache hit rate from 0 %) the after median >= the target.
Anything short of that is "missed", with the measured figures beside it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from harness.compare import summarize
from harness.metrics import METRICS, REPORT_METRICS, Metric
from harness.results import ALL, OPTIMIZATIONS, Results, Sample, Side, SummaryRow

NOT_AVAILABLE = "—"


def fmt_value(value: float | None, unit: str, *, lower_bound: bool = False) -> str:
    if value is None:
        return NOT_AVAILABLE
    at_least = "≥ " if lower_bound else ""
    if unit == "ratio":
        return f"{at_least}{value:.0%}"
    return f"{at_least}{value:.4g} {unit}"


def fmt_side(row: SummaryRow, side: Side, unit: str) -> str:
    """One side's median, "≥ N" when it is only a lower bound."""
    bounded = side in row.get("bound_sides", [])
    return fmt_value(row[f"{side}_median"], unit, lower_bound=bounded)  # type: ignore[literal-required]


def _pct(share: float) -> str:
    # one decimal near 100 %, where "100% reduction" would hide 401 -> 1
    return f"{share:.1%}" if abs(share) >= 0.99 else f"{share:.0%}"


def fmt_change(metric: Metric, row: SummaryRow) -> str:
    """A ratio in the report's own words: 'N% reduction' or 'Nx increase', with its CI,
    then the row's note (why a ladder held no step, say)."""
    text = _change(metric, row)
    return f"{text} ({row['note']})" if "note" in row else text


def _change(metric: Metric, row: SummaryRow) -> str:
    ratio, ci = row["ratio"], row["ci95"]
    sides = row.get("bound_sides", [])
    if ratio is None or len(sides) == 2:
        if row["before_median"] is None or row["after_median"] is None:
            return NOT_AVAILABLE
        before = fmt_side(row, "before", metric.unit)
        return f"{before} → {fmt_side(row, 'after', metric.unit)}"
    if sides:
        # a bounded after can only raise the ratio, a bounded before only lower it
        at = "≥ " if sides == ["after"] else "≤ "
        return (
            f"{at}{ratio:.2f}x ({fmt_side(row, 'before', metric.unit)} → "
            f"{fmt_side(row, 'after', metric.unit)}; {row.get('bound_reason', '')})"
        )
    if metric.better == "lower":
        word = "reduction" if ratio <= 1 else "increase"
        text = f"{_pct(abs(1 - ratio))} {word}"
        if ci:
            text += f" (95% CI {_ci_change(ci[0], ci[1])})"
        return text
    text = f"{ratio:.2f}x"
    if ci:
        text += f" (95% CI {ci[0]:.2f}x to {ci[1]:.2f}x)"
    return text


def _ci_change(low: float, high: float) -> str:
    """A ratio's CI as changes, each bound in its own direction ("1% to 2% increase",
    never "-2% to -1% reduction")."""
    if high <= 1:
        return f"{_pct(1 - high)} to {_pct(1 - low)} reduction"
    if low >= 1:
        return f"{_pct(low - 1)} to {_pct(high - 1)} increase"
    return f"{_pct(1 - low)} reduction to {_pct(high - 1)} increase"


def summary_rows(results: Results) -> list[SummaryRow]:
    """The run's summary, or one computed from its samples when the run has none yet."""
    return results["summary"] or summarize(results["samples"], results["verification"])


@dataclass(frozen=True)
class ExpectedRow:
    metric: Metric
    before: str
    after: str
    measured: str
    verdict: str


def expectation_verdict(metric: Metric, row: SummaryRow) -> str:
    """met / missed / not measured, by the rule in this module's docstring."""
    claim = metric.claim
    if row["verdict"] in ("inconclusive", "broken"):
        reason = row.get("reason", "no reason given")
        return f"not measured conclusively ({row['verdict']}: {reason})"
    if claim is None:
        return "not measured: no claim in the report"
    ci = row["ci95"]
    if claim.kind == "target":
        reached = row["after_median"] is not None and row["after_median"] >= claim.amount
    elif ci is None:
        why = row.get("ci_reason", "the run did not record why")
        return f"not measured: no confidence interval ({why})"
    elif claim.kind == "reduction":
        reached = ci[1] <= 1 - claim.amount
    else:
        reached = ci[0] >= claim.amount
    if row["verdict"] == "improved" and reached:
        return "met"
    return f"missed: {row['verdict']}, claim {metric.improvement}"


# Metrics with a physical ceiling under the scrape's upstream profile, and the key of
# results.json's environment.upstream that holds it (harness/run/results_log.py).
CEILING_KEYS = {
    "scrape_pages_per_min": "polite_ceiling_pages_per_min",
    "scrape_domain_pages_per_min": "polite_ceiling_domain_pages_per_min",
}


def ceiling_of(results: Results, metric_id: str) -> float | None:
    """The polite ceiling a metric cannot exceed in this run (None: it has none)."""
    upstream = results["environment"].get("upstream") or {}
    key = CEILING_KEYS.get(metric_id)
    value = upstream.get(key) if key is not None else None
    return None if value is None else float(str(value))


def mechanism_note(metric: Metric, row: SummaryRow, ceiling: float | None) -> str:
    """Why a claimed increase cannot happen here: the before already sits above the
    ceiling divided by the claim ('' when it could, or nothing says otherwise)."""
    claim, before = metric.claim, row["before_median"]
    if ceiling is None or claim is None or claim.kind != "increase" or not before:
        return ""
    if before * claim.amount <= ceiling:
        return ""
    return (
        f"; the report's mechanism does not hold here: the before already reaches "
        f"{before / ceiling:.0%} of the polite ceiling ({ceiling:.0f} {metric.unit}), so no "
        f"fix can make it {claim.amount:g}x (at most {ceiling / before:.2f}x)"
    )


def expected_table(results: Results) -> list[ExpectedRow]:
    """The report's ten rows, each with the end-to-end measurement or why there is none."""
    rows = {(r["optimization"], r["metric"]): r for r in summary_rows(results)}
    measured_by: dict[str, set[str]] = defaultdict(set)
    for sample in results["samples"]:
        measured_by[sample["metric"]].add(sample["optimization"])
    table: list[ExpectedRow] = []
    for metric_id in REPORT_METRICS:
        metric = METRICS[metric_id]
        row = rows.get((ALL, metric_id))
        if row is None:
            others = sorted(measured_by[metric_id] - {ALL})
            why = (
                f"not measured end to end; isolated: {', '.join(others)} (see below)"
                if others
                else "not measured: no samples of this metric in this run"
            )
            table.append(ExpectedRow(metric, NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE, why))
            continue
        table.append(
            ExpectedRow(
                metric,
                fmt_side(row, "before", metric.unit),
                fmt_side(row, "after", metric.unit),
                fmt_change(metric, row),
                expectation_verdict(metric, row)
                + mechanism_note(metric, row, ceiling_of(results, metric_id)),
            )
        )
    return table


@dataclass(frozen=True)
class OptimizationSection:
    optimization: str
    verification: str
    rows: list[SummaryRow]
    invalid: list[Sample]


def optimizations_in(results: Results) -> list[str]:
    """Optimizations with samples or a verification, `all` first, then catalog order."""
    present = {s["optimization"] for s in results["samples"]}
    present |= {v["optimization"] for v in results["verification"]}
    order = (ALL, *OPTIMIZATIONS)
    return [o for o in order if o in present]


def optimization_sections(results: Results) -> list[OptimizationSection]:
    rows_by: dict[str, list[SummaryRow]] = defaultdict(list)
    for row in summary_rows(results):
        rows_by[row["optimization"]].append(row)
    sections = []
    for optimization in optimizations_in(results):
        checks = [v for v in results["verification"] if v["optimization"] == optimization]
        verification = (
            "; ".join(("passed" if v["passed"] else "FAILED") + f": {v['detail']}" for v in checks)
            or "not recorded"
        )
        invalid = [
            s for s in results["samples"] if s["optimization"] == optimization and not s["valid"]
        ]
        sections.append(
            OptimizationSection(optimization, verification, rows_by[optimization], invalid)
        )
    return sections


def fmt_p(p: float | None) -> str:
    return NOT_AVAILABLE if p is None else f"{p:.3g}"


def section_cells(row: SummaryRow) -> list[str]:
    """Metric | Before | After | Change (95% CI) | p | Verdict cells of one summary row."""
    metric = METRICS[row["metric"]]
    verdict = row["verdict"] + (f" ({row['reason']})" if "reason" in row else "")
    return [
        metric.id,
        f"{fmt_side(row, 'before', metric.unit)} ({_behind(row, 'before')})",
        f"{fmt_side(row, 'after', metric.unit)} ({_behind(row, 'after')})",
        fmt_change(metric, row),
        fmt_p(row["p_value"]),
        verdict,
    ]


def _behind(row: SummaryRow, side: Side) -> str:
    """What stands behind a side's figure: its windows, and its requests when pooled."""
    text = f"n={row.get(f'n_{side}', '?')}"
    requests = row.get(f"requests_{side}")
    return f"{text}, {requests} requests" if requests is not None else text


def invalid_cells(sample: Sample) -> list[str]:
    return [
        sample["variant"],
        str(sample["repeat"]),
        sample["metric"],
        " to ".join(sample["window"]),
        sample.get("invalid_reason", "no reason recorded"),
    ]


EXPECTED_HEADER = [
    "Metric",
    "Current (report)",
    "Optimized (report)",
    "Improvement (report)",
    "Measured before",
    "Measured after",
    "Measured improvement (95% CI)",
    "Verdict",
]
SECTION_HEADER = ["Metric", "Before (median)", "After (median)", "Change (95% CI)", "p", "Verdict"]
INVALID_HEADER = ["Side", "Repeat", "Metric", "Window", "Why invalid"]


def expected_cells(row: ExpectedRow) -> list[str]:
    m = row.metric
    return [
        m.label,
        m.current or NOT_AVAILABLE,
        m.optimized or NOT_AVAILABLE,
        m.improvement or NOT_AVAILABLE,
        row.before,
        row.after,
        row.measured,
        row.verdict,
    ]
