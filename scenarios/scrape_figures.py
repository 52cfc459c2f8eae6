"""What a scrape window's raw data says: steady-state throughput and politeness.

Throughput is taken between the first and the last moment pages became indexed, so the
window's fixed parts (project creation, the first CDX queries, polling) do not count:
the pages indexed after the first indexing moment, over the time from it to the last.
Pages indexed together (one batch, one statement) share a moment, which is why the first
moment's pages are left out of the count rather than the time stretched to include them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.core.config import Settings
from app.scraper.pipeline import FETCH_BATCH_SIZE
from harness.upstream.admission import Z_95
from harness.upstream.profiles import HTML_CAPTURE_SIZES, UpstreamProfile
from harness.upstream.sizes import draw_body_bytes

SECONDS_PER_MINUTE = 60.0
# Draws of a batch's slowest memento latency, for its expected value (fixed seed).
CEILING_DRAWS = 20_000
ORIGINAL_PAUSE_S = float(Settings.model_fields["scrape_batch_pause_s"].default)
ORIGINAL_RETRY_BASE_S = float(Settings.model_fields["scrape_retry_base_s"].default)


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


def spans_by_domain(indexed: Iterable[tuple[str, float]]) -> dict[str, tuple[float, float]]:
    """When each domain's first and last page became indexed: whether the domains were
    scraped at once or one after another."""
    spans: dict[str, tuple[float, float]] = {}
    for domain, moment in indexed:
        first, last = spans.get(domain, (moment, moment))
        spans[domain] = (min(first, moment), max(last, moment))
    return dict(sorted(spans.items()))


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


def fetch_s(profile: UpstreamProfile, rng: random.Random, draw: Callable[[], float]) -> float:
    """One capture's time under the profile: its latency, a slow body trickling at the
    profile's pace now and then, and one retry (backoff, then latency again) after a 503
    or a reset. Transfer at full speed and the scraper's own work are taken as free."""
    seconds = draw()
    if rng.random() < profile.rate_slow:
        body = draw_body_bytes(HTML_CAPTURE_SIZES, rng)
        seconds += body / profile.slow_chunk_bytes * profile.slow_chunk_delay_ms / 1000
    if rng.random() < profile.rate_503 + profile.rate_reset:
        seconds += ORIGINAL_RETRY_BASE_S / profile.time_factor + draw()
    return seconds


def expected_slowest_s(profile: UpstreamProfile, batch: int = FETCH_BATCH_SIZE) -> float:
    """Expected time of the slowest of `batch` captures fetched together (fixed seed)."""
    latency = profile.memento_latency
    rng = random.Random(0)
    if latency.median_ms > 0:
        sigma = math.log(max(latency.p95_ms, latency.median_ms) / latency.median_ms) / Z_95
        mu = math.log(latency.median_ms / 1000)

        def draw() -> float:
            return rng.lognormvariate(mu, sigma)
    else:

        def draw() -> float:
            return 0.0

    total = sum(
        max(fetch_s(profile, rng, draw) for _ in range(batch)) for _ in range(CEILING_DRAWS)
    )
    return total / CEILING_DRAWS


def polite_ceiling_per_min(profile: UpstreamProfile, domains: int) -> float:
    """The most pages/min a polite scraper gets from `profile` (at its time factor) with
    `domains` scraped at once: each domain fetches 10 captures together, then pauses
    (the original's 2 s), so at best 10 pages per pause plus the batch's slowest
    capture (fetch_s), and all of them together no more than the memento limit. Work on
    the scraper's side (extraction, storage, indexing) is taken as free."""
    pause_s = ORIGINAL_PAUSE_S / profile.time_factor
    per_domain = FETCH_BATCH_SIZE / (pause_s + expected_slowest_s(profile)) * SECONDS_PER_MINUTE
    total = domains * per_domain
    if profile.memento_limit is not None:
        total = min(total, profile.memento_limit.per_min)
    return total
