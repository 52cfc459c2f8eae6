"""Collectors: what a measured window reads from the stack, one module per source.

Every collector that brackets a window shares the `WindowCollector` protocol: `begin()`
when the window opens, `end()` when it closes, returning named readings. Sources that are
read once after the fact (locust's stats file) are plain parsing functions.
"""

from __future__ import annotations

from typing import Protocol

Readings = dict[str, float]


class WindowCollector(Protocol):
    """Reads one source over a measured window."""

    def begin(self) -> None: ...

    def end(self) -> Readings: ...
