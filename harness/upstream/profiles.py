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
            "no public distribution of id_ playback latency found; median 0.8 s and p95 4 s "
            "are an assumption, chosen to agree with what is published: "
            "edgi-govdata-archiving/web-monitoring-processing PR #174 ('many mementos are "
            "just *extraordinarily* slow to load'), PR #679 (memento read timeouts: '10s "
            "seems much more stable than 2', so a real share of reads exceeds 2 s and few "
            "exceed 10 s; this log-normal gives 17 % over 2 s and 0.5 % over 10 s)"
        ),
        "cdx_latency": "no public measurement found; an assumption (median 1.5 s, p95 6 s)",
        "faults": (
            "edgi-govdata-archiving/web-monitoring-processing PR #703: fetching mementos "
            "with a 60 s timeout 'gives us a low error rate (0.15%-1.0%)'; the split into "
            "503 0.5 %, reset 0.2 % (0.7 % of attempts fail) and slow bodies 1 % is an "
            "assumption within it. edgi's client retries 413, 421, 500, 502, 503, 504 and "
            "599 as transient"
        ),
        "capture_sizes": (
            "HTML_CAPTURE_SIZES below: Common Crawl's text/html WARC records "
            "(commoncrawl/cc-notebooks, warc-truncation/data/"
            "warc-record-size-truncation-by-mime-type-CC-MAIN-2025-13.csv and -2025-05.csv)"
        ),
    },
)


@dataclass(frozen=True, slots=True)
class CaptureSizes:
    """How large HTML captures are: the CDX `length` (the gzipped WARC record) at
    quantiles, and the shares of payloads over two sizes, which give the compression
    ratio and the heavy tail beyond the last quantile (harness/upstream/sizes.py)."""

    record_length_quantiles: tuple[tuple[float, int], ...]
    # (payload bytes, share of HTML captures whose payload is larger)
    share_over: tuple[tuple[int, float], tuple[int, float]]
    max_body_bytes: int
    min_body_bytes: int


HTML_CAPTURE_SIZES = CaptureSizes(
    # Common Crawl CC-MAIN-2025-13, text/html (2.46 billion records), column
    # percentiles_warc_record_length of warc-record-size-truncation-by-mime-type-
    # CC-MAIN-2025-13.csv in commoncrawl/cc-notebooks (warc-truncation/), at the levels of
    # the query in cc-main-2025-truncation-stats.ipynb. Common Crawl's WARC record length
    # is what the Wayback CDX `length` field holds: the compressed record. Mean 32,877 B.
    # The Internet Archive publishes no distribution of its own; Common Crawl is the proxy.
    record_length_quantiles=(
        (0.01, 992),
        (0.02, 1_713),
        (0.05, 3_753),
        (0.10, 5_932),
        (0.15, 7_599),
        (0.25, 10_880),
        (0.50, 19_359),
        (0.75, 37_199),
        (0.85, 51_529),
        (0.90, 66_763),
        (0.95, 103_836),
        (0.98, 179_737),
        (0.99, 226_045),
        (0.995, 269_022),
    ),
    share_over=(
        # CC-MAIN-2025-05 still truncated payloads at 1 MiB: 64,028,128 of its
        # 2,731,118,776 text/html records were cut for length (the same notebook's table).
        (1024 * 1024, 64_028_128 / 2_731_118_776),
        # CC-MAIN-2025-13 truncates at 5 MiB: 940,023 of 2,464,098,263 cut for length.
        (5 * 1024 * 1024, 940_023 / 2_464_098_263),
    ),
    # The largest HTML document HTTP Archive found (Web Almanac 2021, Markup: 45 MB on
    # desktop, 21 MB on mobile); the tail is cut there.
    max_body_bytes=45_000_000,
    # The stand-in's page frame (head, navigation, footer) needs about this much; the 1-2 %
    # of records below it are stubs a scraper drops for too few words anyway.
    min_body_bytes=5_000,
)

# For tests: no limits, latency or faults, and the original's pauses compressed 1000 times.
FAST = UpstreamProfile(
    name="fast", cdx_limit=None, memento_limit=None, blocking=None, time_factor=1000.0
)

UPSTREAM_PROFILES = {profile.name: profile for profile in (WAYBACK, FAST)}
