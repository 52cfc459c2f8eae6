"""Replay addressing: `/web/<timestamp><flags>/<url>` and the choice of the capture to serve.

As Wayback's `ReplayRequestParser` does: 12 digits get `00` appended; 14 digits ask for that
second; fewer ask for the latest moment of the period they name (`2015` means
20151231235959). A request that names a capture's exact second gets that capture;
anything else is redirected to the capture nearest in time (ties go to the earlier one).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TypeVar

from harness.upstream.cdx import CdxRow

# `(?s)`: an archived url may hold anything after the flags, newlines included.
REPLAY_PATH = re.compile(r"(?s)^/web/(\d{1,14})((?:[a-z]{2}[0-9]*_)*)/(.+)$")
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"

C = TypeVar("C", bound=CdxRow)


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """A parsed replay address."""

    timestamp: str
    flags: str
    url: str


def parse_replay_path(path: str, query_string: str) -> ReplayRequest | None:
    """Split a replay path; the request's query string belongs to the archived url."""
    match = REPLAY_PATH.match(path)
    if match is None:
        return None
    timestamp, flags, url = match.groups()
    # Clients and proxies squash `//` in paths: `http:/example.com` means `http://example.com`.
    url = re.sub(r"^(https?):/(?!/)", r"\1://", url)
    if query_string:
        url = f"{url}?{query_string}"
    return ReplayRequest(timestamp, flags, url)


def target_timestamp(requested: str) -> str:
    """The valid 14-digit moment a (possibly partial) timestamp asks for.

    Missing digits are 9s and every part is then clamped to its range, which gives the
    end of the named period (`201502` is 20150228235959) and tames impossible dates.
    """
    padded = requested + "00" if len(requested) == 12 else requested.ljust(14, "9")
    year = max(1, int(padded[:4]))
    month = min(12, max(1, int(padded[4:6])))
    day = min(calendar.monthrange(year, month)[1], max(1, int(padded[6:8])))
    hour, minute, second = (
        min(23, int(padded[8:10])),
        min(59, int(padded[10:12])),
        min(59, int(padded[12:14])),
    )
    return f"{year:04d}{month:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}"


def _epoch(timestamp: str) -> float:
    return datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC).timestamp()


def nearest(captures: Sequence[C], timestamp: str) -> C:
    """The capture closest in time to a 14-digit timestamp (the earlier one on a tie)."""
    wanted = _epoch(timestamp)
    return min(
        captures, key=lambda capture: (abs(_epoch(capture.timestamp) - wanted), capture.timestamp)
    )


def exact(captures: Sequence[C], requested: str) -> C | None:
    """The capture taken at exactly the requested second, if the request names one."""
    if len(requested) not in (12, 14):
        return None
    wanted = requested + "00" if len(requested) == 12 else requested
    return next((capture for capture in captures if capture.timestamp == wanted), None)


def memento_datetime(timestamp: str) -> str:
    """The RFC 1123 date of a 14-digit timestamp, as in `Memento-Datetime`."""
    moment = datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    return format_datetime(moment, usegmt=True)
