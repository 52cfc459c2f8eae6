"""results.json of a run as it is made: its header, the samples of each window set as
they come, the verification and probes, and its close (also for an interrupted run)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path

from harness.budget.allocation import Budget
from harness.compare import summarize
from harness.load.hosts import describe_load
from harness.metrics import METRICS
from harness.progress import Clock
from harness.results import (
    LOWER,
    SCHEMA_VERSION,
    Mode,
    ProbeRecord,
    Results,
    Sample,
    Verification,
    dump_results,
    iso,
    pooled_latencies,
)
from harness.run.environment import git_info, host_info, package_versions
from harness.run.plan import Destination
from harness.runtime.placement import Placement
from harness.upstream.profiles import UpstreamProfile
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile
from scenarios.scrape_figures import polite_ceiling_per_min

# The API's throughput must stay well below what the load generator can send.
MIN_LOADGEN_RATIO = 3.0
# A metric several scenarios of one window set measure (API memory during api and
# websocket) is the peak over them.
PEAK_METRICS = frozenset({"backend_memory_mb", "worker_memory_mb"})
Measured = list[tuple[WindowRecord, list[Measurement]]]


def header(
    run_id: str,
    mode: Mode,
    profile: MeasureProfile,
    budget: Budget,
    placement: Placement,
    runtime: str = "local",
) -> Results:
    return {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "started_at": iso(time.time()),
        "finished_at": None,
        "git": git_info(),
        "host": host_info(),
        "runtime": runtime,
        "profile": profile.name,
        "mode": mode,
        "budget": budget.to_dict(),
        "environment": {
            "versions": package_versions(),
            "loadgen_max_rps": {},
            "placement": placement.describe(),
            "load_generator": describe_load(placement),
            # what the profile's name stood for when this run was made: a baseline of the
            # same name but other windows is not comparable (harness/gate/comparable.py)
            "measure_profile": json.loads(json.dumps(asdict(profile))),
        },
        "samples": [],
        "verification": [],
        "summary": [],
    }


def describe_upstream(upstream: UpstreamProfile, domains: int) -> dict[str, object]:
    """What results.json says about the stand-in: its profile, the time factor every
    latency, limit and pause ran at, the limits as applied, the polite ceiling of the
    scrape scenario's `domains` (scenarios/scrape_figures.py), each figure's source."""
    ceiling = polite_ceiling_per_min(upstream, domains)
    return {
        "profile": upstream.name,
        "time_factor": upstream.time_factor,
        "scrape_domains": domains,
        "polite_ceiling_pages_per_min": ceiling,
        "polite_ceiling_pages_per_min_real": ceiling / upstream.time_factor,
        "polite_ceiling_domain_pages_per_min": polite_ceiling_per_min(upstream, 1),
        "cdx_limit_per_min": upstream.cdx_limit.per_min if upstream.cdx_limit else None,
        "memento_limit_per_min": (
            upstream.memento_limit.per_min if upstream.memento_limit else None
        ),
        "sources": dict(upstream.sources),
    }


def close_log(log: ResultsLog, workers: int = 0) -> None:
    """Summary and load generator ratio, also for an interrupted run's partial data."""
    results = log.results
    if results["finished_at"] is None:
        results["summary"] = summarize(results["samples"], results["verification"])
    ratio = loadgen_ratio(results, workers)
    environment = results["environment"]
    environment["loadgen_ratio"] = ratio
    if ratio is not None and ratio < MIN_LOADGEN_RATIO:
        environment["loadgen_note"] = (
            f"locust's ceiling is only {ratio:.1f}x the API's highest throughput "
            f"(< {MIN_LOADGEN_RATIO:g}x): the load generator may have limited the API"
        )
    log.write()


def loadgen_ratio(results: Results, workers: int = 1) -> float | None:
    """The locust ceiling (with the run's workers, where measured) over the highest
    throughput the API reached in this run."""
    ceilings = results["environment"]["loadgen_max_rps"]
    ceiling = ceilings.get(f"locust_workers_{max(workers, 1)}", ceilings.get("locust_workers_1"))
    api = [s["value"] for s in results["samples"] if s["metric"] == "api_rps" and s["valid"]]
    if not ceiling or not api or max(api) <= 0:
        return None
    return ceiling / max(api)


class ResultsLog:
    """results.json of one run, rewritten (atomically) after every change."""

    def __init__(self, path: Path, results: Results) -> None:
        self.path = path
        self.results = results
        self.write()

    def write(self) -> None:
        dump_results(self.results, self.path)

    def add_samples(self, samples: list[Sample]) -> None:
        if samples:
            self.results["samples"].extend(samples)
            self.write()

    def set_verification(self, verification: Verification) -> None:
        """Add a comparison's verification, or replace the one it had."""
        kept = [
            v for v in self.results["verification"]
            if v["optimization"] != verification["optimization"]
        ]  # fmt: skip
        self.results["verification"] = [*kept, verification]
        self.write()

    def add_probes(self, records: list[ProbeRecord]) -> None:
        if records:
            self.results.setdefault("probes", []).extend(records)
            self.write()

    def finish(self, clock: Clock) -> None:
        samples = self.results["samples"]
        self.results["summary"] = summarize(
            samples,
            self.results["verification"],
            pooled=pooled_latencies(self.path.parent, samples),
        )
        self.results["finished_at"] = iso(clock())
        self.write()


def to_samples(destination: Destination, repeat: int, measured: Measured) -> list[Sample]:
    """One window set's measurements as one destination's samples, one per metric.

    A sample is valid only if its window was (the load generator kept up) and its value
    is finite; an invalid sample keeps the reason.
    """
    merged: dict[str, Sample] = {}
    for record, measurements in measured:
        if record.scenario not in destination.scenarios:
            continue
        for m in measurements:
            valid = m.valid and record.invalid_reason is None and math.isfinite(m.value)
            sample: Sample = {
                "optimization": destination.optimization,
                "variant": destination.variant,
                "scenario": record.scenario,
                "metric": m.metric,
                "value": m.value if math.isfinite(m.value) else 0.0,
                "unit": METRICS[m.metric].unit,
                "repeat": repeat,
                "window": [iso(record.started_at), iso(record.finished_at)],
                "valid": valid,
            }
            if m.bound_reason is not None:
                sample["bound"] = LOWER
                sample["bound_reason"] = m.bound_reason
            if m.failed_at is not None:
                sample["failed_at"] = m.failed_at
            if m.requests is not None:
                sample["requests"] = m.requests
            if m.note is not None:
                sample["note"] = m.note
            if not valid:
                sample["invalid_reason"] = (
                    record.invalid_reason or m.invalid_reason or "no finite value"
                )
            previous = merged.get(m.metric)
            if previous is not None and m.metric in PEAK_METRICS:
                sample = _peak(previous, sample)
            merged[m.metric] = sample
    return list(merged.values())


def _peak(first: Sample, second: Sample) -> Sample:
    peak = second.copy() if second["value"] >= first["value"] else first.copy()
    peak["scenario"] = f"{first['scenario']}+{second['scenario']}"
    peak["valid"] = first["valid"] and second["valid"]
    peak["window"] = [first["window"][0], second["window"][1]]
    return peak
