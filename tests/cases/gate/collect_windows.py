"""Copy the windows of real runs into ci_windows.json beside this file, for test_power.py.

Each run's valid after windows of the end-to-end comparison (`all`), per metric, with the
run's id, profile, start, canary delay and busy windows (None: measured before the runner
re-measured windows the machine's other jobs disturbed), as `chrono-bench run --profile ci`
wrote them;
and, where the run kept them, each window's request latencies of a pooled percentile
metric as [latency_ms, requests] pairs (locust's whole-ms buckets: a few hundred a window).

Run: .venv/bin/python tests/cases/gate/collect_windows.py reports/<run-id> [...]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from harness.results import ALL, load_results, pooled_latencies

OUT = Path(__file__).with_name("ci_windows.json")
REQUESTS_METRIC = "api_p95_ms"


def windows(run_dir: Path) -> dict[str, object]:
    results = load_results(run_dir)
    metrics: dict[str, list[float]] = {}
    for sample in results["samples"]:
        if sample["optimization"] == ALL and sample["variant"] == "after" and sample["valid"]:
            metrics.setdefault(sample["metric"], []).append(sample["value"])
    environment = results["environment"]
    latencies = {
        metric: [sorted(Counter(window).items()) for window in sides["after"]]
        for (optimization, metric), sides in pooled_latencies(run_dir, results["samples"]).items()
        # one copy: p50, p95 and p99 read the same requests
        if optimization == ALL
        and metric == REQUESTS_METRIC
        and len(sides.get("after", [])) == len(metrics[metric])
    }
    return {
        "run_id": results["run_id"],
        "profile": results["profile"],
        "mode": results["mode"],
        "started_at": results["started_at"],
        "canary_delay_ms": environment.get("canary_delay_ms", 0),
        # present since the runner re-measures windows a busy machine disturbed
        "busy_windows": environment.get("busy_windows"),
        "metrics": metrics,
        "latencies": latencies,
    }


def main(paths: list[str]) -> None:
    known = json.loads(OUT.read_text()) if OUT.exists() else {"runs": []}
    runs = {run["run_id"]: run for run in known["runs"]}
    for path in paths:
        run = windows(Path(path))
        runs[str(run["run_id"])] = run
    known["runs"] = sorted(runs.values(), key=lambda run: str(run["run_id"]))
    # one line per run: the latencies are thousands of pairs
    lines = ",\n".join(json.dumps(run) for run in known["runs"])
    OUT.write_text('{"runs": [\n' + lines + "\n]}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
