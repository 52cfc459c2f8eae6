"""The CDX client against the stand-in: paging both ways, retries, Retry-After."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from app.scraper.cdx import CdxClient, CdxQuery, Paging
from app.scraper.retry import RetryableStatusError, RetryPolicy
from harness.upstream import Conditions, FaultKind, UpstreamServer
from tests.scraper.support import FAST_RETRIES, FROM_TS


async def captures(server: UpstreamServer, client: CdxClient, domain: str) -> set[tuple[str, str]]:
    records = await client.captures(CdxQuery(url=domain))
    keys = {(r.original, r.timestamp) for r in records}
    assert len(keys) == len(records), "a capture was listed twice"
    return keys


@pytest.mark.parametrize("paging", ["pages", "resume_key"])
def test_client_gets_exactly_the_expected_captures(standin: UpstreamServer, paging: Paging) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=standin.base_url) as http:
            # Small pages and resume limits: each domain takes several requests.
            client = CdxClient(http, paging=paging, resume_limit=5, page_size_blocks=1)
            for domain in standin.corpus.domain_names:
                expected = standin.corpus.expected_captures([domain], from_ts=FROM_TS)
                assert expected
                assert await captures(standin, client, domain) == expected

    asyncio.run(run())


def test_429_is_retried_after_the_servers_retry_after(standin: UpstreamServer) -> None:
    standin.set_conditions(
        Conditions(schedule=[FaultKind.TOO_MANY_REQUESTS], retry_after_s=1, applies_to="cdx")
    )
    domain = standin.corpus.domain_names[0]

    async def run() -> float:
        async with httpx.AsyncClient(base_url=standin.base_url) as http:
            started = time.perf_counter()
            got = await captures(standin, CdxClient(http, policy=FAST_RETRIES), domain)
            assert got == standin.corpus.expected_captures([domain], from_ts=FROM_TS)
            return time.perf_counter() - started

    try:
        # The backoff alone would wait 10 ms: the elapsed second is the Retry-After.
        assert asyncio.run(run()) >= 1.0
    finally:
        standin.set_conditions(Conditions())


def test_gives_up_after_five_attempts(standin: UpstreamServer) -> None:
    standin.set_conditions(Conditions(schedule=[FaultKind.UNAVAILABLE] * 6, applies_to="cdx"))
    standin.clear_stats()

    async def run() -> None:
        async with httpx.AsyncClient(base_url=standin.base_url) as http:
            await CdxClient(http, policy=RetryPolicy(base_s=0.01)).num_pages(CdxQuery(url="x.org"))

    try:
        with pytest.raises(RetryableStatusError) as raised:
            asyncio.run(run())
        assert raised.value.status == 503
        stats = standin.stats()
        assert stats["requests"]["cdx"] == 5
        assert stats["faults"]["503"] == 5
    finally:
        standin.set_conditions(Conditions())
