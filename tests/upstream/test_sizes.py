"""Capture sizes follow the published figures they are drawn from (profiles.py)."""

from __future__ import annotations

import statistics
from random import Random

import pytest

from app.scraper.cdx import DEFAULT_FROM_DATE
from app.scraper.extract import extract
from app.scraper.fetch import MAX_CAPTURE_BYTES
from harness.run.probes.scraping import probe_window
from harness.upstream.content import BodyKind
from harness.upstream.corpus import build_corpus
from harness.upstream.profiles import HTML_CAPTURE_SIZES as SIZES
from harness.upstream.records import CorpusConfig
from harness.upstream.sizes import body_bytes_at, compression_ratio, draw_body_bytes
from scenarios.profiles import PROFILES, corpus_for

DRAWS = 200_000


@pytest.fixture(scope="module")
def bodies() -> list[int]:
    rng = Random(5)
    return [draw_body_bytes(SIZES, rng) for _ in range(DRAWS)]


def share_over(values: list[int], size: int) -> float:
    return sum(value > size for value in values) / len(values)


def test_record_lengths_have_the_published_quantiles(bodies: list[int]) -> None:
    ratio = compression_ratio(SIZES)
    records = sorted(body * ratio for body in bodies)
    for level, published in ((0.25, 10_880), (0.5, 19_359), (0.9, 66_763), (0.99, 226_045)):
        assert records[int(level * len(records))] == pytest.approx(published, rel=0.05)


def test_payload_shares_over_1_and_5_mib_are_the_published_ones(bodies: list[int]) -> None:
    (one_mib, share_1), (five_mib, share_5) = SIZES.share_over
    assert share_over(bodies, one_mib) == pytest.approx(share_1, rel=0.1)
    # the tail is anchored at the last quantile: its 5 MiB share within a factor of 2
    assert share_5 / 2 < share_over(bodies, five_mib) < share_5 * 2


def test_the_tail_is_cut_at_the_largest_document_seen() -> None:
    assert body_bytes_at(SIZES, 1 - 1e-12) == SIZES.max_body_bytes
    smallest = SIZES.record_length_quantiles[0][1] / compression_ratio(SIZES)
    assert body_bytes_at(SIZES, 1e-9) == int(max(smallest, SIZES.min_body_bytes))


def test_the_corpus_cdx_length_follows_the_records() -> None:
    corpus = build_corpus(CorpusConfig(seed=4, domains=6, pages_per_domain=80))
    html = [c for c in corpus.captures if c.statuscode == "200" and c.mimetype == "text/html"]
    lengths = [int(c.length) for c in html]
    assert statistics.median(lengths) == pytest.approx(19_359, rel=0.25)
    assert max(corpus.contents[c.content].spec.size for c in html) > 1024 * 1024


def test_a_large_page_keeps_its_text_and_extraction_drops_the_rest() -> None:
    corpus = build_corpus(CorpusConfig(seed=4, domains=6, pages_per_domain=80))
    spec = max(
        (c.spec for c in corpus.contents if c.spec.kind is BodyKind.HTML and c.status == 200),
        key=lambda spec: spec.size,
    )
    body = corpus.renderer.body(spec)
    assert len(body) == spec.size
    extracted = extract(body)
    assert extracted.word_count > 50
    # main text within its budget, not the megabytes of script beside it
    assert extracted.character_count <= spec.text_bytes


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_probes_find_captures_over_the_cap_outside_the_scrapes_window(name: str) -> None:
    corpus = build_corpus(corpus_for(PROFILES[name]))
    assert probe_window(corpus).oversized
    from_ts = DEFAULT_FROM_DATE.strftime("%Y%m%d")
    scraped = corpus.expected_captures(corpus.domain_names, from_ts=from_ts)
    capped = corpus.expected_captures(corpus.domain_names, from_ts=from_ts,
                                      max_body_bytes=MAX_CAPTURE_BYTES)  # fmt: skip
    assert scraped == capped  # the scrape meets the realistic sizes alone
