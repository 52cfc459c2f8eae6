"""What a scrape window's raw data says: steady-state throughput and politeness.

Throughput is taken between the first and the last moment pages became indexed, so the
window's fixed parts (project creation, the first CDX queries, polling) do not count:
the pages indexed after the first indexing moment, over the time from it to the last.
Pages indexed together (one batch, one statement) share a moment, which is why the first
moment's pages are left out of the count rather than the time stretched to include them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SECONDS_PER_MINUTE = 60.0


def steady_rate_per_min(moments: Sequence[float]) -> float:
    """Pages per minute from the moments (s) pages became indexed; NaN with fewer than
    two distinct moments (nothing to measure a rate over)."""
    if not moments:
        return math.nan
    first, last = min(moments), max(moments)
    if last <= first:
        return math.nan
    after_first = sum(1 for moment in moments if moment > first)
    return after_first / (last - first) * SECONDS_PER_MINUTE


def rates_by_domain(indexed: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Steady-state pages/min of each domain, from (domain, moment) of its indexed pages."""
    moments: dict[str, list[float]] = {}
    for domain, moment in indexed:
        moments.setdefault(domain, []).append(moment)
    return {domain: steady_rate_per_min(found) for domain, found in sorted(moments.items())}


@dataclass(frozen=True)
class Politeness:
    """How the scraper treated the archive during one window (the stand-in's counts)."""

    too_many_requests: int
    retry_after_ignored: int
    refused: int

    @classmethod
    def from_limits(cls, limits: Mapping[str, int]) -> Politeness:
        return cls(
            too_many_requests=limits.get("cdx 429", 0) + limits.get("web 429", 0),
            retry_after_ignored=limits.get("cdx early", 0) + limits.get("web early", 0),
            refused=limits.get("refused", 0),
        )
