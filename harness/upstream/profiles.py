"""How the stand-in behaves as an upstream: the Wayback Machine's limits, latency and faults.

A profile is what a user reads and changes to make the stand-in behave like the archive
the original scrapes. Every figure carries where it comes from (`sources`); a figure with
no public source says so rather than pretending to have one.

`time_factor` compresses time: every latency, window, Retry-After, block and pause is
divided by it, every request count stays, so a rate limit of N per minute becomes N per
minute/factor. Throughput measured at factor F is F times the real-time figure. Work the
services do (extraction, SQL, indexing) is not compressed: at a large factor it weighs
more than it would against the real archive, which is why the full profile runs at 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from harness.upstream.faults import Conditions

SECONDS_PER_MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` per client in any sliding `window_s`; over it, 429 + Retry-After."""

    requests: int
    window_s: float = SECONDS_PER_MINUTE

    @property
    def per_min(self) -> float:
        return self.requests * SECONDS_PER_MINUTE / self.window_s


@dataclass(frozen=True, slots=True)
class Blocking:
    """A client that keeps coming back before its Retry-After for more than
    `ignored_for_s` is refused at connection level for `block_s`, doubled at each block."""

    ignored_for_s: float
    block_s: float
    doubling: bool = True


@dataclass(frozen=True, slots=True)
class Latency:
    """Time to first byte: log-normal with this median and 95th percentile (0: none)."""

    median_ms: float = 0.0
    p95_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class UpstreamProfile:
    """One upstream behaviour; `scaled(f)` gives the figures the server applies."""

    name: str
    cdx_limit: RateLimit | None
    memento_limit: RateLimit | None
    blocking: Blocking | None
    cdx_latency: Latency = Latency()
    memento_latency: Latency = Latency()
    rate_503: float = 0.0
    rate_reset: float = 0.0
    rate_slow: float = 0.0
    # Slow bodies trickle in pieces of this size with this pause between them.
    slow_chunk_bytes: int = 16 * 1024
    slow_chunk_delay_ms: float = 200.0
    time_factor: float = 1.0
    sources: dict[str, str] = field(default_factory=dict)

    def conditions(self) -> Conditions:
        """The fault layer's settings for this profile (its 429s come from the limits)."""
        return Conditions(
            rate_503=self.rate_503,
            rate_reset=self.rate_reset,
            rate_slow=self.rate_slow,
            slow_chunk_bytes=self.slow_chunk_bytes,
            slow_chunk_delay_ms=self.slow_chunk_delay_ms,
        )

    def scaled(self, time_factor: float) -> UpstreamProfile:
        """This profile with time compressed `time_factor` times (see the module)."""
        if time_factor <= 0:
            raise ValueError("the time factor must be positive")
        f = time_factor / self.time_factor

        def limit(value: RateLimit | None) -> RateLimit | None:
            return None if value is None else RateLimit(value.requests, value.window_s / f)

        def latency(value: Latency) -> Latency:
            return Latency(value.median_ms / f, value.p95_ms / f)

        blocking = self.blocking
        if blocking is not None:
            blocking = Blocking(blocking.ignored_for_s / f, blocking.block_s / f, blocking.doubling)
        return replace(
            self,
            cdx_limit=limit(self.cdx_limit),
            memento_limit=limit(self.memento_limit),
            blocking=blocking,
            cdx_latency=latency(self.cdx_latency),
            memento_latency=latency(self.memento_latency),
            slow_chunk_delay_ms=self.slow_chunk_delay_ms / f,
            time_factor=time_factor,
        )


WAYBACK = UpstreamProfile(
    name="wayback",
    # The hard limit; well-behaved clients stay at 80 % of it (24/min).
    cdx_limit=RateLimit(requests=30),
    memento_limit=RateLimit(requests=600),
    blocking=Blocking(ignored_for_s=60.0, block_s=3600.0),
    cdx_latency=Latency(median_ms=1500.0, p95_ms=6000.0),
    memento_latency=Latency(median_ms=800.0, p95_ms=4000.0),
    rate_503=0.005,
    rate_reset=0.002,
    rate_slow=0.01,
    sources={
        "cdx_limit": (
            "edgi-govdata-archiving/wayback: release notes v0.5.1 (search limited to 24/min "
            "'to match the actual hard limits now set on Wayback Machine servers'); its "
            "src/wayback/_client.py (commit db10610) sets DEFAULT_CDX_RATE_LIMIT = "
            "0.8 * 30 / 60 per second, 'Internet Archive folks have asked us to set the "
            "defaults at 80% of the hard limits': hard limit 30/min, 24/min polite"
        ),
        "memento_limit": (
            "the same file: DEFAULT_MEMENTO_RATE_LIMIT = 0.8 * 600 / 60 per second, "
            "so a hard limit of 600 mementos/min per client"
        ),
        "blocking": (
            "edgi-govdata-archiving/wayback issue #137, the Internet Archive's answer: "
            "'If 429s are ignored for more than a minute we block the IP at the firewall "
            "(no connection) for 1 hour ... Subsequent 429s over a given period will "
            "double that time each occurrence'"
        ),
        "retry_after": (
            "the same _client.py notes that as of 2023-11-27 the real server sends no "
            "Retry-After (its clients then wait 60 s); the stand-in sends one, the time "
            "until its window has room, so that honouring it is measurable"
        ),
        "memento_latency": (
            "no public measurement of id_ playback latency found; an assumption "
            "(median 0.8 s, p95 4 s). edgi-govdata-archiving/web-monitoring-processing "
            "PR #174 reports that many mementos are 'extraordinarily slow to load'"
        ),
        "cdx_latency": "no public measurement found; an assumption (median 1.5 s, p95 6 s)",
        "faults": (
            "no published rates; assumptions (503 0.5 %, reset 0.2 %, slow body 1 %). "
            "edgi's client retries 413, 421, 500, 502, 503, 504 and 599 as transient"
        ),
        "capture_sizes": (
            "the corpus generator (harness/upstream/generate.py): HTML bodies log-normal "
            "around 20 kB, 2 % up to 400 kB, 0.1 % 10.5-14 MB; the CDX length is the "
            "compressed record. HTTP Archive's Web Almanac 2022 (Markup) gives a median "
            "HTML transfer size of 30 kB; no published distribution of the CDX length "
            "field itself was found"
        ),
    },
)

# For tests: no limits, latency or faults, and the original's pauses compressed 1000 times.
FAST = UpstreamProfile(
    name="fast", cdx_limit=None, memento_limit=None, blocking=None, time_factor=1000.0
)

UPSTREAM_PROFILES = {profile.name: profile for profile in (WAYBACK, FAST)}
