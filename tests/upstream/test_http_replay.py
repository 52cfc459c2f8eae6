"""`/web/<timestamp>id_/<url>` over HTTP: original bytes, Memento-Datetime, redirects, streaming."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import psutil
import pytest

from harness.upstream import Capture, Corpus, UpstreamServer
from harness.upstream.content import b32_sha1
from tests.upstream.conftest import CORPUS

TEN_MB = 10 * 1024 * 1024


def web(capture: Capture, timestamp: str | None = None) -> str:
    return f"/web/{timestamp or capture.timestamp}id_/{capture.original}"


def first(model: Corpus, **fields: str) -> Capture:
    return next(
        c
        for c in model.captures
        if all(getattr(c, name) == value for name, value in fields.items())
        and model.contents[c.content].spec.size < TEN_MB
    )


def cdx_digest(client: httpx.Client, capture: Capture) -> str:
    rows = client.get(
        "/cdx/search/cdx",
        params={"url": capture.original, "fl": "timestamp,digest", "output": "json"},
    ).json()
    return dict(rows[1:])[capture.timestamp]


def moment(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def test_exact_capture_is_served_with_memento_datetime(client: httpx.Client, model: Corpus) -> None:
    capture = first(model, statuscode="200", mimetype="text/html")
    response = client.get(web(capture))
    assert response.status_code == 200
    expected_date = moment(capture.timestamp).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert response.headers["memento-datetime"] == expected_date
    assert response.headers["content-type"].startswith("text/html")
    assert int(response.headers["content-length"]) == len(response.content)
    assert b32_sha1(iter([response.content])) == cdx_digest(client, capture)
    assert client.get(web(capture)).content == response.content
    head = client.head(web(capture))
    assert head.headers["content-length"] == response.headers["content-length"]
    assert head.headers["memento-datetime"] == expected_date


@pytest.mark.parametrize(
    ("mimetype", "magic"), [("application/pdf", b"%PDF-"), ("image/jpeg", b"\xff\xd8")]
)
def test_non_html_captures_keep_their_type(
    client: httpx.Client, model: Corpus, mimetype: str, magic: bytes
) -> None:
    response = client.get(web(first(model, mimetype=mimetype, statuscode="200")))
    assert response.headers["content-type"] == mimetype
    assert response.content.startswith(magic)


def test_inexact_timestamp_redirects_to_the_nearest_capture(
    client: httpx.Client, model: Corpus
) -> None:
    url = max({c.original for c in model.captures}, key=lambda u: len(model.captures_of(u)))
    captures = model.captures_of(url)
    asked = "20190615"  # partial: the end of that day
    wanted = datetime(2019, 6, 15, 23, 59, 59, tzinfo=UTC)
    nearest = min(
        captures, key=lambda c: (abs((moment(c.timestamp) - wanted).total_seconds()), c.timestamp)
    )
    response = client.get(f"/web/{asked}id_/{url}")
    assert response.status_code == 302
    assert "memento-datetime" not in response.headers
    assert response.headers["location"].endswith(web(nearest))
    followed = client.get(response.headers["location"])
    assert followed.status_code in (200, 301, 404)
    assert "memento-datetime" in followed.headers


def test_fourteen_digits_off_by_a_second_redirect(client: httpx.Client, model: Corpus) -> None:
    capture = first(model, statuscode="200")
    off = moment(capture.timestamp).timestamp() + 1
    asked = datetime.fromtimestamp(off, UTC).strftime("%Y%m%d%H%M%S")
    response = client.get(web(capture, asked))
    assert response.status_code == 302
    assert response.headers["location"].endswith(web(capture))


def test_unknown_url_is_404_without_memento(client: httpx.Client) -> None:
    response = client.get("/web/20200101000000id_/http://never-archived.example/")
    assert response.status_code == 404
    assert "memento-datetime" not in response.headers


def test_revisit_serves_the_payload_it_repeats(client: httpx.Client, model: Corpus) -> None:
    revisit = first(model, mimetype="warc/revisit")
    row = client.get(
        "/cdx/search/cdx", params={"url": revisit.original, "filter": "mimetype:warc/revisit"}
    ).text.split()
    assert row[3:5] == ["warc/revisit", "-"]
    response = client.get(web(revisit))
    assert response.status_code == 200
    assert response.headers["memento-datetime"]
    assert b32_sha1(iter([response.content])) == row[5]


def test_archived_404_and_301_keep_their_status(client: httpx.Client, model: Corpus) -> None:
    gone = client.get(web(first(model, statuscode="404")))
    assert gone.status_code == 404
    assert "memento-datetime" in gone.headers
    moved_capture = first(model, statuscode="301")
    moved = client.get(web(moved_capture))
    assert moved.status_code == 301
    assert "memento-datetime" in moved.headers
    assert f"/web/{moved_capture.timestamp}id_/https://" in moved.headers["location"]


def test_captures_over_10_mb_are_streamed(upstream: UpstreamServer, client: httpx.Client) -> None:
    huge = upstream.corpus.oversized_captures(TEN_MB)
    assert huge, "the test corpus must hold a capture over 10 MB"
    capture = huge[0]
    assert upstream.pid is not None
    server = psutil.Process(upstream.pid)
    rss_before = server.memory_info().rss
    chunks = 0
    size = 0
    peak_rss = rss_before
    bodies: list[bytes] = []
    with client.stream("GET", web(capture)) as response:
        assert int(response.headers["content-length"]) > TEN_MB
        for chunk in response.iter_raw():
            chunks += 1
            size += len(chunk)
            bodies.append(chunk)
            if chunks % 20 == 0:
                peak_rss = max(peak_rss, server.memory_info().rss)
    assert size == int(response.headers["content-length"])
    assert chunks > 10
    assert b32_sha1(iter(bodies)) == cdx_digest(client, capture)
    # Streamed in 64 KB chunks: the server never holds the body whole.
    assert peak_rss - rss_before < size / 2


def test_same_seed_same_bytes_across_restarts(client: httpx.Client, model: Corpus) -> None:
    capture = first(model, statuscode="200", mimetype="text/html")
    domain_query = {"url": model.domain_names[0], "matchType": "domain", "output": "json"}
    before = (
        client.get(web(capture)).content,
        client.get("/cdx/search/cdx", params=domain_query).content,
    )
    with UpstreamServer(CORPUS) as again, httpx.Client(base_url=again.base_url) as other:
        after = (
            other.get(web(capture)).content,
            other.get("/cdx/search/cdx", params=domain_query).content,
        )
    assert after == before
