"""Synthetic but schema-valid runs: factories for the report, compare and gate tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.compare import summarize
from harness.metrics import METRICS
from harness.results import Results, Sample, Verification, dump_results

BUDGET = {
    "host": {"name": "test-host", "cpus": 2, "memory_mb": 4096},
    "services": {
        "postgres": {"cpus": 1.0, "memory_mb": 1024, "reservation_mb": 512, "settings": {}},
        "redis_cache": {"cpus": 0.5, "memory_mb": 256, "reservation_mb": 128, "settings": {}},
        "api": {"cpus": 1.0, "memory_mb": 768, "reservation_mb": 384, "settings": {}},
        "worker": {"cpus": 1.0, "memory_mb": 1024, "reservation_mb": 512, "settings": {}},
    },
    "connections": {"max_connections": 60, "demand": 45},
}


def spread(median: float, n: int, cv: float = 0.03) -> list[float]:
    """n deterministic values around median, evenly spread over +-cv."""
    return [median * (1 + cv * x) for x in np.linspace(-1, 1, n)]


def lognormal(rng: np.random.Generator, median: float, cv: float, n: int) -> list[float]:
    """n log-normal values with the given median and coefficient of variation."""
    sigma = float(np.sqrt(np.log1p(cv**2)))
    return [float(v) for v in rng.lognormal(np.log(median), sigma, n)]


def samples_for(
    optimization: str,
    metric: str,
    before: Sequence[float],
    after: Sequence[float],
    invalid: Sequence[tuple[str, int]] = (),
) -> list[Sample]:
    """Interleaved before/after samples; `invalid` lists (variant, repeat) windows to mark."""
    out: list[Sample] = []
    for variant, values in (("before", before), ("after", after)):
        for repeat, value in enumerate(values):
            start = f"2026-11-29T15:{repeat:02d}:00+00:00"
            sample: Sample = {
                "optimization": optimization,
                "variant": "before" if variant == "before" else "after",
                "scenario": "api",
                "metric": metric,
                "value": float(value),
                "unit": METRICS[metric].unit,
                "repeat": repeat,
                "window": [start, start.replace(":00+", ":30+")],
                "valid": (variant, repeat) not in invalid,
            }
            if not sample["valid"]:
                sample["invalid_reason"] = "load generator CPU 97% > 90%"
            out.append(sample)
    return out


def make_results(
    samples: list[Sample],
    verification: list[Verification] | None = None,
    *,
    run_id: str = "20261129-153000-test01",
    mode: str = "isolate",
    with_summary: bool = True,
) -> Results:
    verification = verification or []
    results = {
        "schema": 2,
        "run_id": run_id,
        "started_at": "2026-11-29T15:30:00+00:00",
        "finished_at": "2026-11-29T15:45:00+00:00",
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False},
        "host": {"cpus": 2, "memory_mb": 24000, "cpu_model": "test cpu", "os": "Debian 12"},
        "runtime": "local",
        "profile": "quick",
        "mode": mode,
        "budget": BUDGET,
        "environment": {
            "versions": {"postgres": "15.8", "redis": "7.0.15", "python": "3.11.2"},
            "loadgen_max_rps": {"wrk": 41000.0, "locust_workers_1": 3100.0},
        },
        "samples": samples,
        "verification": verification,
        "summary": summarize(samples, verification) if with_summary else [],
    }
    return results  # type: ignore[return-value]


def write_run(reports: Path, results: Results) -> Path:
    run_dir = reports / results["run_id"]
    dump_results(results, run_dir / "results.json")
    return run_dir


def write_demo_runs(reports: Path, isolate_not_measured: dict[str, str]) -> list[Path]:
    """The demo's two runs: end to end, then stats_aggregate in isolation with what that
    run left unmeasured (optimization -> why)."""
    endtoend = make_results(
        samples_for("all", "api_p95_ms", spread(500, 4), spread(50, 4)),
        run_id="20261206-190000-e2e001", mode="endtoend",
    )  # fmt: skip
    isolate = make_results(
        samples_for("stats_aggregate", "api_p95_ms", spread(500, 4), spread(150, 4)),
        run_id="20261206-190000-iso001", mode="isolate",
    )  # fmt: skip
    isolate["environment"]["not_measured"] = isolate_not_measured
    return [write_run(reports, endtoend), write_run(reports, isolate)]


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path
