"""The Wayback profile over HTTP: 429 with Retry-After past the CDX limit, and connections
refused once a client has ignored its 429s for longer than the profile allows.

A real stand-in process at time factor 20: the CDX window is 3 s, a client is blocked
after 3 s of early returns, for 180 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.upstream import CorpusConfig, UpstreamServer
from harness.upstream.profiles import WAYBACK

TIME_FACTOR = 20.0
PROFILE = WAYBACK.scaled(TIME_FACTOR)
CDX_PARAMS = {"url": "example.com", "limit": "1"}
BURST = 40
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wayback() -> Iterator[UpstreamServer]:
    with UpstreamServer(CorpusConfig(seed=5, domains=2, pages_per_domain=4), profile=PROFILE) as s:
        yield s


def cdx(client: httpx.Client) -> httpx.Response | Exception:
    try:
        return client.get("/cdx/search/cdx", params=CDX_PARAMS)
    except httpx.TransportError as error:
        return error


def burst(base_url: str, count: int) -> list[httpx.Response | Exception]:
    with (
        httpx.Client(base_url=base_url, timeout=30) as client,
        ThreadPoolExecutor(max_workers=count) as pool,
    ):
        return list(pool.map(lambda _: cdx(client), range(count)))


def test_past_the_cdx_limit_the_answer_is_429_with_retry_after(wayback: UpstreamServer) -> None:
    wayback.clear_stats()
    answers = burst(wayback.base_url, BURST)
    statuses = sorted(a.status_code for a in answers if isinstance(a, httpx.Response))
    assert statuses.count(200) == 30
    limited = [a for a in answers if isinstance(a, httpx.Response) and a.status_code == 429]
    assert len(limited) == BURST - 30
    window_s = PROFILE.cdx_limit.window_s if PROFILE.cdx_limit else 0
    assert all(1 <= int(a.headers["retry-after"]) <= window_s for a in limited)
    assert wayback.stats()["limits"]["cdx 429"] == BURST - 30
    # Waiting as told lets the next request in.
    time.sleep(max(int(a.headers["retry-after"]) for a in limited))
    assert burst(wayback.base_url, 1)[0].status_code == 200  # type: ignore[union-attr]


def hammer(base_url: str, seconds: float, threads: int = 8) -> list[Exception]:
    """Requests from `threads` threads, back to back, ignoring every 429, until a
    connection is refused or `seconds` pass; the transport errors met."""
    deadline = time.monotonic() + seconds
    errors: list[Exception] = []

    def loop(_: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while not errors and time.monotonic() < deadline:
                answer = cdx(client)
                if isinstance(answer, Exception):
                    errors.append(answer)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(loop, range(threads)))
    return errors


def test_a_client_that_keeps_going_after_429s_is_refused_at_connection_level(
    wayback: UpstreamServer,
) -> None:
    wayback.clear_stats()
    blocking = PROFILE.blocking
    assert blocking is not None
    refused = hammer(wayback.base_url, blocking.ignored_for_s + 10.0)
    assert refused, "still answered after ignoring 429s past the block threshold"
    stats = wayback.stats()["limits"]
    assert stats["blocks"] == 1 and stats["cdx early"] > 0
    # Every route, and a fresh connection, is refused while the block lasts.
    with httpx.Client(base_url=wayback.base_url, timeout=10) as fresh:
        with pytest.raises(httpx.TransportError):
            fresh.get("/web/2020id_/http://example.com/")
        # The admin API is not the archive: it still answers, and clearing forgets the block.
        wayback.clear_stats()
        assert cdx(fresh).status_code == 200  # type: ignore[union-attr]


def test_a_client_that_honours_retry_after_is_never_refused(wayback: UpstreamServer) -> None:
    wayback.clear_stats()
    blocking = PROFILE.blocking
    assert blocking is not None and PROFILE.cdx_limit is not None
    # Fill the window at once (every request admitted), then one request at a time,
    # waiting as told after each 429, for twice as long as ignoring would take to block.
    assert {a.status_code for a in burst(wayback.base_url, PROFILE.cdx_limit.requests)} == {200}  # type: ignore[union-attr]
    deadline = time.monotonic() + 2 * blocking.ignored_for_s
    with httpx.Client(base_url=wayback.base_url, timeout=10) as client:
        while time.monotonic() < deadline:
            answer = cdx(client)
            assert isinstance(answer, httpx.Response), f"refused: {answer!r}"
            if answer.status_code == 429:
                time.sleep(int(answer.headers["retry-after"]))
    stats = wayback.stats()["limits"]
    assert stats.get("cdx 429", 0) > 0 and stats.get("cdx early", 0) == 0
    assert stats.get("refused", 0) == 0
