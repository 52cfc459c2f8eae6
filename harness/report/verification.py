"""The three parts of each comparison's verification and its probes' readings, as rows.

summary.md and index.html show them beside each optimization: the parts (identical
answers, the problem seen in the before, the fix seen in the after, the statement
counters agreeing) and, per probe and side, how many rounds it passed and what it read
the first time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from harness.results import ProbeRecord, Results

PARTS_HEADER = ["Part", "Passed", "Detail"]
PROBES_HEADER = ["Probe", "Side", "Expects", "Rounds passed", "What it saw (first round)",
                 "Readings (first round)", "Seconds per run"]  # fmt: skip


@dataclass(frozen=True)
class VerificationView:
    broken: bool
    parts: list[list[str]]
    probes: list[list[str]]


def _figure(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else value


def _probe_rows(records: list[ProbeRecord]) -> list[list[str]]:
    grouped: dict[tuple[str, str], list[ProbeRecord]] = defaultdict(list)
    for record in records:
        grouped[(record["probe"], record["variant"])].append(record)
    rows = []
    for (probe, side), found in sorted(
        grouped.items(), key=lambda item: (item[0][0], item[0][1] == "after")
    ):
        found.sort(key=lambda r: r["repeat"])
        first = found[0]
        passed = sum(r["passed"] for r in found)
        failed = next((r for r in found if not r["passed"]), None)
        seen = (
            first["detail"]
            if failed is None
            else f"FAILED round {failed['repeat'] + 1}: {failed['detail']}"
        )
        rows.append([
            probe, side, first["expects"], f"{passed}/{len(found)}", seen,
            ", ".join(f"{k} {_figure(v)}" for k, v in first["figures"].items()),
            f"{sum(r['duration_s'] for r in found) / len(found):.2f}",
        ])  # fmt: skip
    return rows


def verification_view(results: Results, optimization: str) -> VerificationView | None:
    """The comparison's verification parts and probe rows; None when it has neither."""
    checks = [v for v in results["verification"] if v["optimization"] == optimization]
    records = [r for r in results.get("probes", []) if r["optimization"] == optimization]
    if not checks and not records:
        return None
    parts = [
        [part["part"], "yes" if part["passed"] else "NO", part["detail"]]
        for check in checks
        for part in check.get("parts", [])
    ]
    return VerificationView(
        broken=any(not check["passed"] for check in checks),
        parts=parts,
        probes=_probe_rows(records),
    )
