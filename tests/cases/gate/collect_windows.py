"""Copy the windows of real runs into ci_windows.json beside this file, for test_power.py.

Each run's valid after windows of the end-to-end comparison (`all`), per metric, with the
run's id, profile, start and canary delay, as `chrono-bench run --profile ci` wrote them.

Run: .venv/bin/python tests/cases/gate/collect_windows.py reports/<run-id> [...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.results import ALL, load_results

OUT = Path(__file__).with_name("ci_windows.json")


def windows(run_dir: Path) -> dict[str, object]:
    results = load_results(run_dir)
    metrics: dict[str, list[float]] = {}
    for sample in results["samples"]:
        if sample["optimization"] == ALL and sample["variant"] == "after" and sample["valid"]:
            metrics.setdefault(sample["metric"], []).append(sample["value"])
    environment = results["environment"]
    return {
        "run_id": results["run_id"],
        "profile": results["profile"],
        "mode": results["mode"],
        "started_at": results["started_at"],
        "canary_delay_ms": environment.get("canary_delay_ms", 0),
        "metrics": metrics,
    }


def main(paths: list[str]) -> None:
    known = json.loads(OUT.read_text()) if OUT.exists() else {"runs": []}
    runs = {run["run_id"]: run for run in known["runs"]}
    for path in paths:
        run = windows(Path(path))
        runs[str(run["run_id"])] = run
    known["runs"] = sorted(runs.values(), key=lambda run: str(run["run_id"]))
    OUT.write_text(json.dumps(known, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
