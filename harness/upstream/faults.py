"""Network conditions the stand-in imposes: latency and injected faults, decided deterministically.

A fault is decided either by a schedule (the next matching requests get these faults, in
order) or by rates. A rate decision is a pure function of (fault seed, request target,
how many times that target was asked before): the same run of requests meets the same
faults whatever the interleaving, and a retry of a faulted request is a new draw, so
retries get through.
"""

from __future__ import annotations

import threading
from collections import deque
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.upstream.seeding import unit_interval


class FaultKind(StrEnum):
    """What can happen to one request."""

    NONE = "none"
    TOO_MANY_REQUESTS = "429"
    UNAVAILABLE = "503"
    RESET = "reset"
    SLOW = "slow"


Scope = Literal["all", "cdx", "web"]


class Conditions(BaseModel):
    """Latency and faults: set at start (CLI/env), replaced at runtime (`POST /_admin/faults`)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, description="added before every answer")
    latency_jitter_ms: float = Field(default=0.0, ge=0, description="plus up to this, per request")
    rate_429: float = Field(default=0.0, ge=0, le=1)
    rate_503: float = Field(default=0.0, ge=0, le=1)
    rate_reset: float = Field(default=0.0, ge=0, le=1)
    rate_slow: float = Field(default=0.0, ge=0, le=1)
    schedule: list[FaultKind] = Field(
        default_factory=list, description="faults for the next requests"
    )
    applies_to: Scope = "all"
    retry_after_s: int = Field(default=1, ge=0, description="Retry-After of a 429")
    reset_after_bytes: int = Field(default=1024, ge=0, description="body sent before a reset")
    slow_chunk_bytes: int = Field(default=512, ge=1)
    slow_chunk_delay_ms: float = Field(default=50.0, ge=0)
    fault_seed: int = 0

    @model_validator(mode="after")
    def _rates_fit(self) -> Conditions:
        if self.rate_429 + self.rate_503 + self.rate_reset + self.rate_slow > 1:
            raise ValueError("fault rates must add up to at most 1")
        return self


class FaultPlanner:
    """Decides, per request, the fault and the latency under the current conditions."""

    def __init__(self, conditions: Conditions) -> None:
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self.replace(conditions)

    @property
    def conditions(self) -> Conditions:
        return self._conditions

    def replace(self, conditions: Conditions) -> None:
        """Switch conditions; the schedule starts over and attempt counts are forgotten."""
        with self._lock:
            self._conditions = conditions
            self._schedule: deque[FaultKind] = deque(conditions.schedule)
            self._attempts = {}

    def decide(self, target: str, route: Literal["cdx", "web"]) -> tuple[FaultKind, float]:
        """The fault and the latency (seconds) for one request to `target` (path and query).

        Latency applies to every route; faults only to those `applies_to` names, and only
        those consume the schedule.
        """
        with self._lock:
            conditions = self._conditions
            faultable = conditions.applies_to in ("all", route)
            attempt = self._attempts.get(target, 0)
            self._attempts[target] = attempt + 1
            scheduled = self._schedule.popleft() if faultable and self._schedule else None
        seed = conditions.fault_seed
        jitter = conditions.latency_jitter_ms * unit_interval(seed, "jitter", target, attempt)
        latency_s = (conditions.latency_ms + jitter) / 1000
        if scheduled is not None:
            return scheduled, latency_s
        if not faultable:
            return FaultKind.NONE, latency_s
        draw = unit_interval(seed, "fault", target, attempt)
        for kind, rate in (
            (FaultKind.TOO_MANY_REQUESTS, conditions.rate_429),
            (FaultKind.UNAVAILABLE, conditions.rate_503),
            (FaultKind.RESET, conditions.rate_reset),
            (FaultKind.SLOW, conditions.rate_slow),
        ):
            if draw < rate:
                return kind, latency_s
            draw -= rate
        return FaultKind.NONE, latency_s
