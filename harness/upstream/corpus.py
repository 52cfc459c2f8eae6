"""The archive the stand-in serves, as one model: domains, captures in CDX order, contents.

The index (one `Capture` per CDX line) is built eagerly and cheaply from the seed (see
`generate.py`); bodies are not: they come from their `BodySpec` on demand, and a digest is
computed the first time a CDX answer needs it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harness.upstream.cdx import CdxIndex, CdxQuery, evaluate
from harness.upstream.content import Renderer
from harness.upstream.generate import generate
from harness.upstream.records import Capture, Content, CorpusConfig, Domain
from harness.upstream.urlkeys import MatchType, urlkey

__all__ = ["Capture", "Content", "Corpus", "CorpusConfig", "Domain", "build_corpus"]


@dataclass
class Corpus:
    """The whole archive: domains, captures in CDX order, and lazily computed digests."""

    config: CorpusConfig
    domains: list[Domain]
    contents: list[Content]
    captures: list[Capture]
    renderer: Renderer
    _digests: dict[int, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.index = CdxIndex(self.captures, self.digest_of)
        # Equal content ids mean equal bodies and distinct ids distinct bodies, so collapsing
        # on the id answers like collapsing on the digest without generating any body.
        self.identity_index = self.index.with_digest(lambda row: str(row.content))

    @property
    def domain_names(self) -> list[str]:
        return [domain.name for domain in self.domains]

    def digest(self, content: int) -> str:
        """The base32 SHA-1 of a content's body, computed once."""
        cached = self._digests.get(content)
        if cached is None:
            cached = self.renderer.digest(self.contents[content].spec)
            self._digests[content] = cached
        return cached

    def digest_of(self, row: Capture) -> str:
        return self.digest(row.content)

    def captures_of(self, url: str) -> Sequence[Capture]:
        """All captures whose urlkey is `url`'s, oldest first."""
        key = urlkey(url)
        low = bisect_left(self.index.line_keys, key + " ")
        high = bisect_left(self.index.line_keys, key + "!")
        return self.captures[low:high]

    def expected_captures(
        self,
        domains: Iterable[str] | None = None,
        from_ts: str = "",
        to_ts: str = "",
        max_body_bytes: int | None = None,
    ) -> frozenset[tuple[str, str]]:
        """The (original, timestamp) pairs a client gets by querying each domain with
        `matchType=domain`, `filter=statuscode:200`, `filter=mimetype:text/html` and
        `collapse=digest` (and `from`/`to`). A client that pages or resumes sees the same set
        once it drops repeated digests, as the reference scraper does. Bodies above
        `max_body_bytes` are left out (a capped fetch skips them)."""
        expected: set[tuple[str, str]] = set()
        for name in self.domain_names if domains is None else domains:
            query = CdxQuery(
                url=name,
                match_type=MatchType.DOMAIN,
                from_ts=from_ts,
                to_ts=to_ts,
                filters=CdxQuery.parse_filters(["statuscode:200", "mimetype:text/html"]),
                collapses=CdxQuery.parse_collapses(["digest"]),
            )
            for row in evaluate(self.identity_index, query).records:
                size = self.contents[row.content].spec.size
                if max_body_bytes is None or size <= max_body_bytes:
                    expected.add((row.original, row.timestamp))
        return frozenset(expected)

    def oversized_captures(self, min_body_bytes: int) -> list[Capture]:
        """Captures whose body is larger than `min_body_bytes` (the >10 MB ones)."""
        return [c for c in self.captures if self.contents[c.content].spec.size > min_body_bytes]


def build_corpus(config: CorpusConfig) -> Corpus:
    """Build the index for `config`; no body is generated here."""
    domains, contents, captures = generate(config)
    return Corpus(config, domains, contents, captures, Renderer(config.seed))
