"""results.csv: one sample a row, the run's context repeated on each, for pandas users."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.metrics import METRICS
from harness.results import Results

COLUMNS = [
    "run_id", "optimization", "variant", "scenario", "metric", "value", "unit", "better",
    "repeat", "window_start", "window_end", "valid", "invalid_reason", "runtime", "profile",
    "mode", "git_commit",
]  # fmt: skip


def samples_frame(results: Results) -> pd.DataFrame:
    records = [
        {
            "run_id": results["run_id"],
            "optimization": s["optimization"],
            "variant": s["variant"],
            "scenario": s["scenario"],
            "metric": s["metric"],
            "value": s["value"],
            "unit": s["unit"],
            "better": METRICS[s["metric"]].better,
            "repeat": s["repeat"],
            "window_start": s["window"][0],
            "window_end": s["window"][1],
            "valid": s["valid"],
            "invalid_reason": s.get("invalid_reason", ""),
            "runtime": results["runtime"],
            "profile": results["profile"],
            "mode": results["mode"],
            "git_commit": results["git"]["commit"],
        }
        for s in results["samples"]
    ]
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def write_csv(results: Results, path: Path) -> None:
    samples_frame(results).to_csv(path, index=False)
