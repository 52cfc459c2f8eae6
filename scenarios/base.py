"""The one contract every scenario follows, and what it may ask of a running stack.

A scenario `prepare`s a stack once (users, domains, ids it needs), then `run`s one
measured window at a time, returning the raw record of that window; `collect` turns a
record into measurements of docs/design.md's metrics. Collection is separate from running so
the runner can collect a window while the stack switches to the next variant: the
Prometheus scrape after the window's end lands in the meantime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.collect import Readings
from harness.runtime.target import Target
from scenarios.profiles import MeasureProfile


@dataclass(frozen=True)
class Measurement:
    """One metric's value from one window; invalid windows say why."""

    metric: str
    value: float
    valid: bool = True
    invalid_reason: str | None = None
    # Only a lower bound, and why (a ladder that stopped at its ceiling or at the load
    # generator's limit); None: exact.
    bound_reason: str | None = None
    # A ladder's first load that failed, when its value is exact: the true limit lies in
    # [value, failed_at).
    failed_at: float | None = None
    # How many requests stand behind a latency percentile.
    requests: int | None = None
    # What a value cannot say by itself: why a ladder held no step ("the first step missed
    # the SLO (users: 1; p95 912 ms, errors 0.0% of 3 requests)").
    note: str | None = None


@dataclass
class WindowRecord:
    """The raw outcome of one window, kept until it is collected."""

    scenario: str
    started_at: float
    finished_at: float
    readings: Readings = field(default_factory=dict)
    # Scenario-specific raw data (locust stats, step results, ...).
    data: dict[str, Any] = field(default_factory=dict)
    # Set when the window cannot be trusted (load generator saturated, say).
    invalid_reason: str | None = None


class Scenario(Protocol):
    """prepare once per stack, run one window at a time, collect each window's record.

    `warm_up` drives the stack briefly without measuring, after a variant is applied.
    """

    @property
    def name(self) -> str: ...

    @property
    def metrics(self) -> Sequence[str]: ...

    def prepare(self, target: Target, profile: MeasureProfile) -> None: ...

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None: ...

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord: ...

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]: ...
