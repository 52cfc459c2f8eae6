"""The scrape scenario's page check: a window is valid only when it stored exactly the
archive's captures, each once, with the same extracted text as the first window."""

from __future__ import annotations

from collections import Counter

import pytest

from scenarios.scrape import stored_difference, text_digest

A = ("http://a.example/", "20200101000000")
B = ("http://a.example/b", "20200102000000")
C = ("http://a.example/c", "20200103000000")
EXPECTED = frozenset({A, B})


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (Counter({A: 1, B: 1}), None),
        (Counter({A: 1}), "1 missing (first ('http://a.example/b'"),
        (Counter({A: 1, B: 1, C: 1}), "1 unexpected (first ('http://a.example/c'"),
        (Counter({A: 2, B: 1}), "1 stored twice (first ('http://a.example/'"),
        (Counter({A: 2, C: 1}), "1 missing (first ('http://a.example/b', '20200102000000')), 1 "
         "unexpected (first ('http://a.example/c', '20200103000000')), 1 stored twice"),
    ],
)  # fmt: skip
def test_stored_pages_against_the_archive(
    stored: Counter[tuple[str, str]], reason: str | None
) -> None:
    difference = stored_difference(stored, EXPECTED)
    if reason is None:
        assert difference is None
    else:
        assert difference is not None
        assert difference.startswith("stored pages differ from the archive: ")
        assert reason in difference


def test_text_digest_covers_only_the_shared_captures_and_their_text() -> None:
    texts = {A: "alpha", B: "beta", C: "only stored without the cap"}
    shared = frozenset({A, B})
    assert text_digest(texts, shared) == text_digest({A: "alpha", B: "beta"}, shared)
    assert text_digest(texts, shared) != text_digest({A: "alpha", B: "BETA"}, shared)
    # the order rows came back in does not matter
    assert text_digest(dict(reversed(texts.items())), shared) == text_digest(texts, shared)
    # the text of one capture cannot pass as another's
    assert text_digest({A: "beta", B: "alpha"}, shared) != text_digest(texts, shared)
