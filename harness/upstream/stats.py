"""What the stand-in has done: answers by route and status, faults injected, captures served.

Scenarios read it through `GET /_admin/stats` and `GET /_admin/served` to check claims such
as "every capture served was stored exactly once".
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TypedDict


class StatsSnapshot(TypedDict):
    """The JSON of `GET /_admin/stats`."""

    requests: dict[str, int]
    statuses: dict[str, int]
    faults: dict[str, int]
    captures_served: int
    # The upstream profile's limiter: "cdx 429", "web 429", "cdx early" / "web early" (a
    # client back over the limit before its Retry-After), "refused", "blocks".
    limits: dict[str, int]


class ServerStats:
    """Thread-safe counters (bodies are generated in worker threads)."""

    def __init__(self, limits: Counter[str] | None = None) -> None:
        self._limits = limits if limits is not None else Counter()
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._served: list[tuple[str, str, int]] = []

    def count_request(self, route: str, fault: str) -> None:
        with self._lock:
            self._requests[route] += 1
            self._faults[fault] += 1

    def count_status(self, route: str, status: int) -> None:
        with self._lock:
            self._statuses[f"{route} {status}"] += 1

    def record_served(self, timestamp: str, original: str, status: int) -> None:
        """A capture whose whole body was handed to the server."""
        with self._lock:
            self._served.append((timestamp, original, status))

    def served(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self._served)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                requests=dict(self._requests),
                statuses=dict(self._statuses),
                faults=dict(self._faults),
                captures_served=len(self._served),
                limits=dict(self._limits),
            )

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._statuses.clear()
            self._faults.clear()
            self._served.clear()
