"""The generated archive: deterministic, realistic in shape, and its expected-capture set."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from harness.upstream.content import BodyKind, b32_sha1
from harness.upstream.corpus import Corpus, CorpusConfig, build_corpus
from harness.upstream.urlkeys import urlkey
from harness.upstream.words import VOCABULARIES

SMALL = CorpusConfig(seed=11, domains=10, pages_per_domain=15, captures_per_page=4)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return build_corpus(SMALL)


def test_same_config_same_corpus(corpus: Corpus) -> None:
    again = build_corpus(SMALL)
    assert again.captures == corpus.captures
    assert again.domain_names == corpus.domain_names
    sample = corpus.captures[:: max(1, len(corpus.captures) // 25)]
    assert [again.digest_of(c) for c in sample] == [corpus.digest_of(c) for c in sample]


def test_another_seed_another_corpus(corpus: Corpus) -> None:
    other = build_corpus(CorpusConfig(seed=12, domains=10, pages_per_domain=15))
    assert other.domain_names != corpus.domain_names


def test_more_domains_extend_a_smaller_corpus(corpus: Corpus) -> None:
    larger = build_corpus(
        CorpusConfig(seed=11, domains=20, pages_per_domain=15, captures_per_page=4)
    )
    assert larger.domain_names[:10] == corpus.domain_names
    small_keys = {(c.urlkey, c.timestamp, c.original) for c in corpus.captures}
    large_keys = {(c.urlkey, c.timestamp, c.original) for c in larger.captures}
    assert small_keys < large_keys


def test_captures_are_in_cdx_order_and_unique(corpus: Corpus) -> None:
    keys = [f"{c.urlkey} {c.timestamp}" for c in corpus.captures]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_urlkeys_are_the_surt_of_every_original(corpus: Corpus) -> None:
    assert all(urlkey(c.original) == c.urlkey for c in corpus.captures)
    schemes = Counter(c.original.split(":")[0] for c in corpus.captures)
    assert schemes["http"] and schemes["https"]


def test_every_body_has_its_announced_size(corpus: Corpus) -> None:
    for content in corpus.contents:
        if content.spec.size < 2_000_000:
            assert len(corpus.renderer.body(content.spec)) == content.spec.size, content.spec.key


def test_digest_is_base32_sha1_of_the_body(corpus: Corpus) -> None:
    capture = next(c for c in corpus.captures if c.statuscode == "200")
    body = corpus.renderer.body(corpus.contents[capture.content].spec)
    assert corpus.digest_of(capture) == b32_sha1(iter([body]))
    assert re.fullmatch(r"[A-Z2-7]{32}", corpus.digest_of(capture))


def test_mix_of_statuses_and_mimetypes(corpus: Corpus) -> None:
    statuses = Counter(c.statuscode for c in corpus.captures)
    mimetypes = Counter(c.mimetype for c in corpus.captures)
    assert {"200", "404", "301", "-"} <= set(statuses)
    assert {"text/html", "application/pdf", "image/jpeg", "text/css", "warc/revisit"} <= set(
        mimetypes
    )
    assert statuses["200"] > len(corpus.captures) / 2


def test_revisits_repeat_an_earlier_capture_of_the_same_url(corpus: Corpus) -> None:
    revisits = [c for c in corpus.captures if c.is_revisit]
    assert revisits
    for revisit in revisits:
        assert revisit.statuscode == "-"
        earlier = [
            c
            for c in corpus.captures_of(revisit.original)
            if c.timestamp < revisit.timestamp and not c.is_revisit
        ]
        assert any(corpus.digest_of(c) == corpus.digest_of(revisit) for c in earlier)


def test_recaptured_content_repeats_its_digest(corpus: Corpus) -> None:
    ok = [c for c in corpus.captures if c.statuscode == "200"]
    digests = Counter(corpus.digest_of(c) for c in ok)
    assert any(count > 1 for count in digests.values())


def test_huge_captures_appear_at_their_rate() -> None:
    corpus = build_corpus(CorpusConfig(seed=3, domains=10, pages_per_domain=10, huge_rate=0.05))
    huge = corpus.oversized_captures(10 * 1024 * 1024)
    assert huge
    assert all(corpus.contents[c.content].spec.kind is BodyKind.HTML for c in huge)
    assert {c.mimetype for c in huge} <= {"text/html", "warc/revisit"}


@pytest.mark.parametrize("language", sorted(VOCABULARIES))
def test_pages_are_written_in_their_domain_language(corpus: Corpus, language: str) -> None:
    domain = next(d for d in corpus.domains if d.language == language)
    capture = next(
        c
        for c in corpus.captures
        if domain.name in c.original and c.statuscode == "200" and c.mimetype == "text/html"
    )
    spec = corpus.contents[capture.content].spec
    text = corpus.renderer.body(spec).decode()
    assert f'<html lang="{language}">' in text
    for part in ("<title>", '<meta name="description"', "<nav>", "<footer>", "<article>"):
        assert part in text
    visible = re.sub(r"<script.*?</script>", " ", text, flags=re.S)
    words = re.findall(r"\w+", re.sub(r"<[^>]+>", " ", visible).lower())
    vocabulary = {w.lower() for w in VOCABULARIES[language].function_words}
    assert sum(w in vocabulary for w in words) / len(words) > 0.2
    assert "lorem" not in words


def test_non_html_bodies_start_like_their_type(corpus: Corpus) -> None:
    starts = {BodyKind.PDF: b"%PDF-", BodyKind.JPEG: b"\xff\xd8\xff"}
    for kind, magic in starts.items():
        content = next(c for c in corpus.contents if c.spec.kind is kind)
        assert corpus.renderer.body(content.spec).startswith(magic)


def brute_force_expected(
    corpus: Corpus, domain: str, first_year: str = "0000", last_year: str = "9999"
) -> set[tuple[str, str]]:
    """First 200 text/html capture in the window of each run of one body: what
    collapse=digest keeps once filters dropped everything else, without the CDX engine."""
    host = urlkey(f"http://{domain}/").split(")")[0]
    expected: set[tuple[str, str]] = set()
    previous: str | None = None
    for capture in corpus.captures:
        in_domain = capture.urlkey.startswith((host + ")", host + ","))
        in_window = first_year <= capture.timestamp[:4] <= last_year
        wanted = capture.statuscode == "200" and capture.mimetype == "text/html"
        if not (in_domain and in_window and wanted):
            continue
        digest = corpus.digest_of(capture)
        if digest != previous:
            expected.add((capture.original, capture.timestamp))
        previous = digest
    return expected


def test_expected_captures_match_a_brute_force_definition(corpus: Corpus) -> None:
    expected = corpus.expected_captures()
    brute: set[tuple[str, str]] = set()
    for domain in corpus.domain_names:
        brute |= brute_force_expected(corpus, domain)
    assert expected == brute
    assert len(expected) > 50


def test_expected_captures_window_and_size_cap(corpus: Corpus) -> None:
    everything = corpus.expected_captures()
    window = corpus.expected_captures(from_ts="2020", to_ts="2022")
    brute: set[tuple[str, str]] = set()
    for domain in corpus.domain_names:
        brute |= brute_force_expected(corpus, domain, "2020", "2022")
    assert window == brute
    # Collapsing happens inside the window: a body first seen before it still counts once.
    assert {(o, t) for o, t in everything if "2020" <= t[:4] <= "2022"} < window
    capped = corpus.expected_captures(max_body_bytes=20_000)
    sizes = {
        (c.original, c.timestamp): corpus.contents[c.content].spec.size for c in corpus.captures
    }
    assert capped == {key for key in everything if sizes[key] <= 20_000}


def test_large_corpus_builds_and_answers_quickly() -> None:
    """~500 domains x ~100 captures: index built eagerly, bodies only on demand."""
    started = time.perf_counter()
    corpus = build_corpus(CorpusConfig(seed=5, domains=500, pages_per_domain=20))
    build_s = time.perf_counter() - started
    assert len(corpus.captures) > 40_000
    from harness.upstream.cdx import CdxQuery, evaluate

    query = CdxQuery.from_params(
        [("url", corpus.domain_names[250]), ("matchType", "domain"), ("collapse", "digest")]
    )
    started = time.perf_counter()
    rows = evaluate(corpus.index, query).rows
    query_s = time.perf_counter() - started
    assert rows
    # Generous bounds: the point is "seconds to build, well under a second per domain query".
    assert build_s < 30
    assert query_s < 1.0
