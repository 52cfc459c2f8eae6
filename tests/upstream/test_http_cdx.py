"""The CDX endpoint over HTTP, checked against the corpus model built in the test process."""

from __future__ import annotations

import gzip
import itertools
import re

import httpx

from harness.upstream import Corpus
from tests.upstream.conftest import BLOCK_LINES

CDX = "/cdx/search/cdx"
# The query of the original scraper (docs/original-service.md, "Scraping flow").
SCRAPER_PARAMS = [
    ("matchType", "domain"),
    ("output", "json"),
    ("collapse", "digest"),
    ("fl", "timestamp,original,mimetype,statuscode,digest,length"),
    ("filter", "statuscode:200"),
    ("filter", "mimetype:text/html"),
]


def busiest_url(model: Corpus) -> str:
    counts: dict[str, int] = {}
    for capture in model.captures:
        counts[capture.original] = counts.get(capture.original, 0) + 1
    return max(counts, key=lambda url: counts[url])


def lines(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return response.text.splitlines()


def test_default_lines_are_the_captures_of_the_url(client: httpx.Client, model: Corpus) -> None:
    url = busiest_url(model)
    expected = [
        " ".join(
            (
                c.urlkey,
                c.timestamp,
                c.original,
                c.mimetype,
                c.statuscode,
                model.digest_of(c),
                c.length,
            )
        )
        for c in model.captures_of(url)
    ]
    assert len(expected) > 3
    assert lines(client.get(CDX, params={"url": url})) == expected


def test_json_header_follows_fl(client: httpx.Client, model: Corpus) -> None:
    url = busiest_url(model)
    rows = client.get(
        CDX, params={"url": url, "output": "json", "fl": "length,timestamp,urlkey"}
    ).json()
    assert rows[0] == ["length", "timestamp", "urlkey"]
    captures = model.captures_of(url)
    assert rows[1:] == [[c.length, c.timestamp, c.urlkey] for c in captures]


def test_gzip_when_asked(client: httpx.Client, model: Corpus) -> None:
    params = {"url": model.domain_names[0], "matchType": "domain"}
    plain = client.get(CDX, params={**params, "gzip": "false"}, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    raw_bodies = []
    for _ in range(2):
        with client.stream(
            "GET", CDX, params=params, headers={"Accept-Encoding": "gzip"}
        ) as zipped:
            assert zipped.headers["content-encoding"] == "gzip"
            raw_bodies.append(b"".join(zipped.iter_raw()))
    assert gzip.decompress(raw_bodies[0]) == plain.content
    assert raw_bodies[0] == raw_bodies[1]  # no timestamp in the gzip header


def test_length_filter_is_a_whole_field_match(client: httpx.Client, model: Corpus) -> None:
    params = {"url": model.domain_names[0], "matchType": "domain", "fl": "length"}
    class_filter = client.get(CDX, params={**params, "filter": "length:[1000 TO 10485760]"})
    digits_filter = client.get(CDX, params={**params, "filter": r"length:\d{4,8}"})
    # Every length here has three or more digits, so the character class matches none.
    assert lines(class_filter) == []
    assert len(lines(digits_filter)) > 10


def test_resume_key_round_trip_collects_every_row_once(client: httpx.Client, model: Corpus) -> None:
    params = {"url": f"*.{model.domain_names[1]}", "output": "json"}
    everything = client.get(CDX, params=params).json()[1:]
    collected: list[list[str]] = []
    resume_key = None
    requests = 0
    while True:
        page_params = {**params, "limit": "7", "showResumeKey": "true"}
        if resume_key:
            page_params["resumeKey"] = resume_key
        rows = client.get(CDX, params=page_params).json()
        requests += 1
        if len(rows) > 2 and rows[-2] == []:
            resume_key = rows[-1][0]
            collected += rows[1:-2]
        else:
            collected += rows[1:]
            break
    assert requests == -(-len(everything) // 7)
    assert collected == everything


def test_paging_covers_every_row_once(client: httpx.Client, model: Corpus) -> None:
    params = {"url": model.domain_names[2], "matchType": "domain", "pageSize": "1"}
    count = client.get(CDX, params={**params, "showNumPages": "true"})
    assert re.fullmatch(r"\d+\n", count.text)
    pages = int(count.text)
    everything = lines(client.get(CDX, params={"url": params["url"], "matchType": "domain"}))
    assert pages >= len(everything) // BLOCK_LINES > 1
    collected: list[str] = []
    for page in range(pages):
        collected += lines(client.get(CDX, params={**params, "page": str(page)}))
    assert collected == everything
    assert client.get(CDX, params={**params, "page": str(pages)}).content == b""


def test_scraper_query_gets_the_expected_captures(client: httpx.Client, model: Corpus) -> None:
    served: set[tuple[str, str]] = set()
    for domain in model.domain_names:
        rows = client.get(CDX, params=[("url", domain), *SCRAPER_PARAMS]).json()
        assert rows[0] == ["timestamp", "original", "mimetype", "statuscode", "digest", "length"]
        domain_rows = {(row[1], row[0]) for row in rows[1:]}
        assert domain_rows == model.expected_captures([domain])
        served |= domain_rows
        digests = [row[4] for row in rows[1:]]
        assert all(a != b for a, b in itertools.pairwise(digests))
    assert served == model.expected_captures()


def test_bad_queries_answer_400(client: httpx.Client) -> None:
    missing = client.get(CDX, params={"output": "json"})
    assert missing.status_code == 400
    assert missing.text == "url parameter is required"
    assert client.get(CDX, params={"url": "x.org", "from": "2015-01-01"}).status_code == 400
