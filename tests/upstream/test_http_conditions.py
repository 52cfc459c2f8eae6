"""Latency and injected faults over HTTP, switched at runtime through /_admin/faults."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from mirakuru import HTTPExecutor

from harness.upstream import Capture, Conditions, Corpus, FaultKind, UpstreamServer
from harness.upstream.server import free_port
from tests.upstream.conftest import CORPUS


def html_capture(model: Corpus, min_bytes: int = 0) -> Capture:
    return next(
        c
        for c in model.captures
        if c.statuscode == "200"
        and c.mimetype == "text/html"
        and min_bytes <= model.contents[c.content].spec.size < 1_000_000
    )


def web(capture: Capture) -> str:
    return f"/web/{capture.timestamp}id_/{capture.original}"


def test_429_carries_retry_after(
    upstream: UpstreamServer, client: httpx.Client, model: Corpus
) -> None:
    upstream.set_conditions(Conditions(schedule=[FaultKind.TOO_MANY_REQUESTS], retry_after_s=7))
    limited = client.get(web(html_capture(model)))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert client.get(web(html_capture(model))).status_code == 200


def test_503(upstream: UpstreamServer, client: httpx.Client, model: Corpus) -> None:
    upstream.set_conditions(Conditions(schedule=[FaultKind.UNAVAILABLE], applies_to="cdx"))
    assert client.get(web(html_capture(model))).status_code == 200  # out of scope
    answer = client.get("/cdx/search/cdx", params={"url": model.domain_names[0]})
    assert answer.status_code == 503


def test_reset_cuts_the_body_mid_way(
    upstream: UpstreamServer, client: httpx.Client, model: Corpus
) -> None:
    capture = html_capture(model, min_bytes=20_000)
    upstream.clear_stats()
    upstream.set_conditions(Conditions(schedule=[FaultKind.RESET], reset_after_bytes=4096))
    received = bytearray()
    with (
        pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)),
        client.stream("GET", web(capture)) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk
    assert 0 < len(received) <= 4096
    assert upstream.served() == []
    whole = client.get(web(capture))
    assert whole.content.startswith(bytes(received))
    assert upstream.served() == [(capture.timestamp, capture.original, 200)]


def test_reset_on_cdx(upstream: UpstreamServer, client: httpx.Client, model: Corpus) -> None:
    upstream.set_conditions(Conditions(schedule=[FaultKind.RESET], reset_after_bytes=0))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get("/cdx/search/cdx", params={"url": model.domain_names[0], "matchType": "domain"})


def test_slow_body_trickles(upstream: UpstreamServer, client: httpx.Client, model: Corpus) -> None:
    capture = html_capture(model, min_bytes=20_000)
    size = model.contents[capture.content].spec.size
    started = time.perf_counter()
    fast = client.get(web(capture))
    fast_s = time.perf_counter() - started
    upstream.set_conditions(
        Conditions(schedule=[FaultKind.SLOW], slow_chunk_bytes=2048, slow_chunk_delay_ms=20)
    )
    started = time.perf_counter()
    slow = client.get(web(capture))
    slow_s = time.perf_counter() - started
    pauses = -(-size // 2048) - 1
    assert slow.content == fast.content
    assert slow_s >= pauses * 0.020 > fast_s


def test_latency_delays_archive_routes_not_admin(
    upstream: UpstreamServer, client: httpx.Client, model: Corpus
) -> None:
    upstream.set_conditions(Conditions(latency_ms=300))
    started = time.perf_counter()
    assert client.get("/cdx/search/cdx", params={"url": model.domain_names[0]}).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    assert client.get(web(html_capture(model))).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    assert client.get("/_admin/health").status_code == 200
    assert time.perf_counter() - started < 0.3


def test_fault_rates_repeat_for_the_same_requests(
    upstream: UpstreamServer, client: httpx.Client, model: Corpus
) -> None:
    targets = sorted({web(c) for c in model.captures if c.statuscode == "200"})[:40]
    conditions = Conditions(rate_429=0.3, rate_503=0.2, fault_seed=5)

    def statuses() -> list[int]:
        upstream.set_conditions(conditions)  # forgets attempt counts: the same draws again
        return [client.get(target).status_code for target in targets]

    first = statuses()
    assert first == statuses()
    assert {200, 429, 503} <= set(first)
    upstream.set_conditions(conditions)
    retried = []
    for target in targets:
        response = client.get(target)
        while response.status_code in (429, 503):
            response = client.get(target)
        retried.append(response.status_code)
    assert set(retried) == {200}


def test_admin_faults_round_trip_and_validation(
    upstream: UpstreamServer, client: httpx.Client
) -> None:
    wanted = Conditions(latency_ms=12, rate_slow=0.25, schedule=[FaultKind.RESET])
    upstream.set_conditions(wanted)
    assert upstream.conditions() == wanted
    refused = client.post("/_admin/faults", json={"rate_429": 2})
    assert refused.status_code == 422
    assert upstream.conditions() == wanted


def test_conditions_at_start_from_the_command_line(model: Corpus) -> None:
    conditions = Conditions(latency_ms=150, schedule=[FaultKind.UNAVAILABLE])
    with (
        UpstreamServer(CORPUS, conditions) as started,
        httpx.Client(base_url=started.base_url) as http,
    ):
        assert started.conditions() == conditions
        t0 = time.perf_counter()
        assert http.get(web(html_capture(model))).status_code == 503
        assert time.perf_counter() - t0 >= 0.15


def test_conditions_at_start_from_the_environment() -> None:
    port = free_port()
    env = {
        **os.environ,
        "CHRONO_UPSTREAM_PORT": str(port),
        "CHRONO_UPSTREAM_DOMAINS": "2",
        "CHRONO_UPSTREAM_LATENCY_MS": "25",
        "CHRONO_UPSTREAM_RATE_503": "0.5",
    }
    executor = HTTPExecutor(
        [sys.executable, "-m", "harness.upstream"],
        url=f"http://127.0.0.1:{port}/_admin/health",
        method="GET",
        timeout=60,
        envvars=env,
        stdout=subprocess.DEVNULL,
    )
    with executor, httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        faults = http.get("/_admin/faults").json()
        assert (faults["latency_ms"], faults["rate_503"]) == (25, 0.5)
        assert len(http.get("/_admin/corpus").json()["domains"]) == 2


def test_only_loopback_hosts() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "harness.upstream", "--port", "8000", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        "upstream: host '0.0.0.0' is not a loopback address"
    ]
