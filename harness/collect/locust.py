"""Locust's final stats (`--json-file`): client-side latency, throughput and failures.

Locust keeps response times in buckets (whole milliseconds, rounded to two significant
figures above 100 ms) and writes the bucket counts to its JSON stats file; percentiles are
computed here from those counts rather than by importing locust, whose gevent patching
must stay out of the harness process. In distributed runs the master merges its workers'
stats into that file itself; its log says which workers it lost during the run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError

AGGREGATE = "Aggregated"
# What a locust master (2.x) logs, at INFO, about its workers (locust/runners.py).
WORKER_READY = re.compile(
    r"^.*?(\S+) \(index \d+\) reported as ready\. (\d+) workers connected", re.M
)
WORKER_MISSING = re.compile(r"Worker (\S+) failed to send heartbeat, setting state to missing")
WORKER_QUIT = re.compile(r"Worker '([^']+)' \(index \d+\) quit\.")
# The end of the run: from here on workers quit because the master told them to.
END_OF_RUN = re.compile(r"--run-time limit reached|Shutting down \(exit code")
WORKER_CPU = re.compile(r"Worker (\S+) \(index \d+\) exceeded cpu threshold")


@dataclass(frozen=True)
class EndpointStats:
    """One locust stats entry (a request name) over a run."""

    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    # response time (ms, locust's bucket) -> requests in that bucket
    buckets: dict[float, int] = field(default_factory=dict)

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def percentile(buckets: dict[float, int], fraction: float) -> float:
    """The smallest bucket at or below which `fraction` of the samples fall (locust's rule)."""
    total = sum(buckets.values())
    if total == 0:
        return 0.0
    threshold = total * fraction
    seen = 0
    for value in sorted(buckets):
        seen += buckets[value]
        if seen >= threshold:
            return float(value)
    return float(max(buckets))


def expand(buckets: dict[float, int]) -> list[float]:
    """One latency per request, in ascending order, from locust's bucket counts.

    Each request appears at its bucket's value, so the list is as coarse as locust's
    buckets (exact below 100 ms, two significant figures above): a CDF drawn from it is
    a step at each bucket, which is all the resolution locust kept.
    """
    return [float(value) for value in sorted(buckets) for _ in range(buckets[value])]


def _rps(entry: dict[str, Any]) -> float:
    per_second: dict[str, int] = entry.get("num_reqs_per_sec") or {}
    if per_second:
        seconds = [int(second) for second in per_second]
        span = max(seconds) - min(seconds) + 1
        return sum(per_second.values()) / span
    duration = float(entry["last_request_timestamp"] or 0) - float(entry["start_time"] or 0)
    return entry["num_requests"] / duration if duration > 0 else 0.0


def _entry_stats(name: str, entry: dict[str, Any]) -> EndpointStats:
    buckets = {float(key): int(count) for key, count in entry["response_times"].items()}
    requests = int(entry["num_requests"])
    return EndpointStats(
        name=name,
        requests=requests,
        failures=int(entry["num_failures"]),
        rps=_rps(entry),
        p50_ms=percentile(buckets, 0.50),
        p95_ms=percentile(buckets, 0.95),
        p99_ms=percentile(buckets, 0.99),
        mean_ms=float(entry["total_response_time"]) / requests if requests else 0.0,
        buckets=buckets,
    )


def _merge(entries: list[dict[str, Any]]) -> dict[str, Any]:
    buckets: dict[str, int] = {}
    per_second: dict[str, int] = {}
    for entry in entries:
        for key, count in entry["response_times"].items():
            buckets[key] = buckets.get(key, 0) + count
        for second, count in (entry.get("num_reqs_per_sec") or {}).items():
            per_second[second] = per_second.get(second, 0) + count
    return {
        "response_times": buckets,
        "num_reqs_per_sec": per_second,
        "num_requests": sum(entry["num_requests"] for entry in entries),
        "num_failures": sum(entry["num_failures"] for entry in entries),
        "total_response_time": sum(entry["total_response_time"] for entry in entries),
        "start_time": min((entry["start_time"] for entry in entries), default=0),
        "last_request_timestamp": max(
            (entry["last_request_timestamp"] or 0 for entry in entries), default=0
        ),
    }


def read_stats(path: Path) -> dict[str, EndpointStats]:
    """Stats per request name from a locust JSON stats file, plus the `Aggregated` total."""
    try:
        entries: list[dict[str, Any]] = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise UserError(f"locust wrote no stats file at {path}: see its log beside it") from error
    stats = {entry["name"]: _entry_stats(entry["name"], entry) for entry in entries}
    stats[AGGREGATE] = _entry_stats(AGGREGATE, _merge(entries))
    return stats


@dataclass(frozen=True)
class MasterLog:
    """What a locust master said about its workers over one run."""

    # the most workers connected at once
    connected: int = 0
    # workers that went missing (no heartbeat) or quit on their own before the run's end
    lost: tuple[str, ...] = ()
    # workers whose CPU passed locust's 90 % mark at some heartbeat
    saturated: tuple[str, ...] = field(default_factory=tuple)


def read_master_log(path: Path) -> MasterLog:
    """The workers a locust master saw connect, lose and saturate, from its log."""
    text = path.read_text(errors="replace") if path.exists() else ""
    connected = max((int(match.group(2)) for match in WORKER_READY.finditer(text)), default=0)
    end = END_OF_RUN.search(text)
    during = text if end is None else text[: end.start()]
    lost = [match.group(1) for pattern in (WORKER_MISSING, WORKER_QUIT)
            for match in pattern.finditer(during)]  # fmt: skip
    saturated = [match.group(1) for match in WORKER_CPU.finditer(text)]
    return MasterLog(connected, tuple(dict.fromkeys(lost)), tuple(dict.fromkeys(saturated)))
