"""A real stand-in process on loopback, shared by the HTTP tests of this directory."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.upstream import CdxSettings, Conditions, Corpus, CorpusConfig, UpstreamServer

# Small, with CDX blocks small enough that a domain spans several pages, and a huge-page
# rate high enough that this seed has captures over 10 MB.
CORPUS = CorpusConfig(seed=21, domains=4, pages_per_domain=10, captures_per_page=4, huge_rate=0.05)
BLOCK_LINES = 10


@pytest.fixture(scope="session")
def upstream() -> Iterator[UpstreamServer]:
    with UpstreamServer(CORPUS, cdx=CdxSettings(block_lines=BLOCK_LINES)) as server:
        yield server


@pytest.fixture(scope="session")
def model(upstream: UpstreamServer) -> Corpus:
    """The corpus model, rebuilt in the test process from the server's config."""
    return upstream.corpus


@pytest.fixture
def client(upstream: UpstreamServer) -> Iterator[httpx.Client]:
    """A client of the stand-in; every test starts and ends without latency or faults."""
    upstream.set_conditions(Conditions())
    with httpx.Client(base_url=upstream.base_url, timeout=60) as http:
        yield http
    upstream.set_conditions(Conditions())
