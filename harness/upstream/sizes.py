"""HTML capture sizes drawn from published figures (profiles.HTML_CAPTURE_SIZES).

The CDX `length` of a capture is its gzipped WARC record; the payload a scraper fetches is
larger by the compression ratio. Up to the last published quantile a size is interpolated
between quantiles (log-linear); beyond it, a Pareto tail whose slope comes from the two
published shares of payloads over 1 MiB and 5 MiB. The compression ratio is the one that
puts the 1 MiB share where the record lengths say it is.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from random import Random

from harness.upstream.profiles import CaptureSizes


def record_length_at(sizes: CaptureSizes, q: float) -> float:
    """The record length at quantile `q`, within the published quantiles."""
    points = sizes.record_length_quantiles
    levels = [level for level, _ in points]
    if q <= levels[0]:
        return float(points[0][1])
    if q >= levels[-1]:
        return float(points[-1][1])
    i = bisect_left(levels, q)
    (q0, v0), (q1, v1) = points[i - 1], points[i]
    share = (q - q0) / (q1 - q0)
    return math.exp(math.log(v0) + share * (math.log(v1) - math.log(v0)))


def compression_ratio(sizes: CaptureSizes) -> float:
    """Record length over payload, from where the share over the first size falls."""
    body, share = sizes.share_over[0]
    return record_length_at(sizes, 1.0 - share) / body


def tail_exponent(sizes: CaptureSizes) -> float:
    """The Pareto exponent through the two published shares over a size."""
    (body_1, share_1), (body_2, share_2) = sizes.share_over
    return math.log(share_1 / share_2) / math.log(body_2 / body_1)


def body_bytes_at(sizes: CaptureSizes, q: float) -> int:
    """The payload size at quantile `q` (0 < q < 1)."""
    ratio = compression_ratio(sizes)
    last_level, last_length = sizes.record_length_quantiles[-1]
    if q <= last_level:
        body = record_length_at(sizes, q) / ratio
    else:
        body = (
            last_length / ratio * ((1.0 - q) / (1.0 - last_level)) ** (-1.0 / tail_exponent(sizes))
        )
    return int(min(sizes.max_body_bytes, max(sizes.min_body_bytes, body)))


def draw_body_bytes(sizes: CaptureSizes, rng: Random) -> int:
    """One HTML payload size."""
    return body_bytes_at(sizes, rng.random())
