"""Pure addressing rules: SURT ranges of url scopes, and which capture a /web/ address means."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.upstream.replay import (
    exact,
    memento_datetime,
    nearest,
    parse_replay_path,
    target_timestamp,
)
from harness.upstream.urlkeys import MatchType, key_range, split_wildcard, urlkey


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://www.example.com:80/", "com,example)/"),
        ("https://Example.COM/News/", "com,example)/news"),
        ("example.com/a?b=2&a=1", "com,example)/a?a=1&b=2"),
        ("http://blog.example.co.uk/post", "uk,co,example,blog)/post"),
    ],
)
def test_urlkey_is_the_canonical_surt(url: str, key: str) -> None:
    assert urlkey(url) == key


@pytest.mark.parametrize(
    ("url", "given", "expected"),
    [
        ("*.example.com", None, ("example.com", MatchType.DOMAIN)),
        ("example.com/news/*", None, ("example.com/news/", MatchType.PREFIX)),
        ("example.com", None, ("example.com", MatchType.EXACT)),
        ("example.com/*", MatchType.EXACT, ("example.com/*", MatchType.EXACT)),
    ],
)
def test_wildcards_only_without_match_type(
    url: str, given: MatchType | None, expected: tuple[str, MatchType]
) -> None:
    assert split_wildcard(url, given) == expected


@pytest.mark.parametrize(
    ("url", "match_type", "expected"),
    [
        ("example.com", MatchType.EXACT, ("com,example)/", "com,example)/!")),
        ("example.com/news/", MatchType.PREFIX, ("com,example)/news/", "com,example)/news0")),
        ("example.com/", MatchType.PREFIX, ("com,example)/", "com,example*")),
        ("example.com/a", MatchType.HOST, ("com,example)/", "com,example*")),
        ("www.example.com", MatchType.DOMAIN, ("com,example)/", "com,example-")),
        (".example.com", MatchType.DOMAIN, ("com,example)/", "com,example-")),
    ],
)
def test_key_ranges_follow_the_cdx_server(
    url: str, match_type: MatchType, expected: tuple[str, str]
) -> None:
    assert key_range(url, match_type) == expected


@pytest.mark.parametrize(
    ("requested", "moment"),
    [
        ("2015", "20151231235959"),
        ("201502", "20150228235959"),
        ("201602", "20160229235959"),
        ("20150213", "20150213235959"),
        ("2015021312", "20150213125959"),
        ("201502131230", "20150213123000"),
        ("20150213123045", "20150213123045"),
        ("20151399999999", "20151231235959"),
    ],
)
def test_partial_timestamps_mean_the_end_of_their_period(requested: str, moment: str) -> None:
    assert target_timestamp(requested) == moment


@dataclass(frozen=True)
class Stamp:
    timestamp: str
    urlkey: str = "com,example)/"
    original: str = "http://example.com/"
    mimetype: str = "text/html"
    statuscode: str = "200"
    length: str = "1"


CAPTURES = [Stamp("20150101000000"), Stamp("20150701000000"), Stamp("20160101000000")]


@pytest.mark.parametrize(
    ("requested", "chosen"),
    [
        ("20150101000001", "20150101000000"),
        ("20150601000000", "20150701000000"),
        ("2015", "20160101000000"),  # 20151231235959 is closest to 2016-01-01
        ("2014", "20150101000000"),
        ("2030", "20160101000000"),
    ],
)
def test_nearest_capture(requested: str, chosen: str) -> None:
    assert nearest(CAPTURES, target_timestamp(requested)).timestamp == chosen


def test_a_tie_goes_to_the_earlier_capture() -> None:
    captures = [Stamp("20150101000000"), Stamp("20150101000010")]
    assert nearest(captures, "20150101000005").timestamp == "20150101000000"


def test_exact_needs_the_very_second() -> None:
    assert exact(CAPTURES, "20150701000000") == CAPTURES[1]
    assert exact(CAPTURES, "201507010000") == CAPTURES[1]  # 12 digits get 00
    assert exact(CAPTURES, "20150701") is None
    assert exact(CAPTURES, "20150701000001") is None


def test_replay_path_parsing() -> None:
    parsed = parse_replay_path("/web/20150101000000id_/http:/example.com/a", "b=1")
    assert parsed is not None
    assert (parsed.timestamp, parsed.flags, parsed.url) == (
        "20150101000000",
        "id_",
        "http://example.com/a?b=1",
    )
    assert parse_replay_path("/web/notatimestamp/http://example.com/", "") is None


def test_memento_datetime_is_rfc_1123() -> None:
    assert memento_datetime("20150213123045") == "Fri, 13 Feb 2015 12:30:45 GMT"
