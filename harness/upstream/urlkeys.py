"""SURT url keys and the key ranges a CDX url scope covers, as the Wayback CDX server computes them.

The index is sorted by CDX line, so every match type is a range of line keys
(`"<urlkey> <timestamp>"`): exact is `[key, key!)`, prefix `[key, key with its last
character incremented)`, host `[host)/, host*)` and domain `[host)/, host-)`, the
character order doing the rest (`)` < `*` < `,` < `-`). This mirrors
`UrlSurtRangeComputer` in internetarchive/wayback.
"""

from __future__ import annotations

from enum import StrEnum

import surt


class MatchType(StrEnum):
    """The CDX server's url scopes."""

    EXACT = "exact"
    PREFIX = "prefix"
    HOST = "host"
    DOMAIN = "domain"


def urlkey(url: str) -> str:
    """The SURT key the index stores for `url` (www stripped, trailing slash dropped)."""
    return str(surt.surt(url))


def host_surt(url: str) -> str:
    """The SURT of the url's host alone, such as `com,example,blog`."""
    return urlkey(url).split(")", 1)[0]


def inc_last_char(text: str) -> str:
    """The smallest string above every string that starts with `text`."""
    return text[:-1] + chr(ord(text[-1]) + 1)


def split_wildcard(url: str, match_type: MatchType | None) -> tuple[str, MatchType]:
    """Apply the `*.x` (domain) and `x*` (prefix) shortcuts when no matchType was given."""
    if match_type is not None:
        return url, match_type
    if url.startswith("*."):
        return url[2:], MatchType.DOMAIN
    if url.endswith("*"):
        return url[:-1], MatchType.PREFIX
    return url, MatchType.EXACT


def key_range(url: str, match_type: MatchType) -> tuple[str, str]:
    """The half-open range of line keys `[start, end)` that `url` under `match_type` covers."""
    if url.startswith("."):
        url = url[1:]
    # Prefix queries keep the trailing slash: `x.com/news/` must not match `x.com/newsletter`.
    key = str(
        surt.surt(url, path_strip_trailing_slash_unless_empty=match_type is not MatchType.PREFIX)
    )
    host, _, path = key.partition(")")
    if match_type is MatchType.PREFIX and path == "/":
        match_type = MatchType.HOST
    if match_type is MatchType.EXACT:
        return key, key + "!"
    if match_type is MatchType.PREFIX:
        return key, inc_last_char(key)
    if match_type is MatchType.HOST:
        return host + ")/", host + "*"
    return host + ")/", host + "-"
