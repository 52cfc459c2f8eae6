"""The records of the generated archive: its config, domains, captures (CDX lines) and contents."""

from __future__ import annotations

from dataclasses import dataclass

from harness.upstream.content import BodySpec


@dataclass(frozen=True, slots=True)
class CorpusConfig:
    """The knobs of a corpus; the same config always gives the same corpus."""

    seed: int = 1
    domains: int = 20
    pages_per_domain: int = 20
    captures_per_page: int = 5
    first_year: int = 2016
    last_year: int = 2025
    # A share of HTML bodies forced over the 10 MB fetch cap (tests, and the probes'
    # captures), only in captures before `huge_before` (a timestamp prefix; "": all).
    huge_rate: float = 0.0
    huge_before: str = ""


@dataclass(frozen=True, slots=True)
class Domain:
    """A registrable domain with its language, hosts and address habits."""

    name: str
    language: str
    subdomain: str | None
    www: bool
    https_from_year: int


@dataclass(frozen=True, slots=True)
class Capture:
    """One CDX line; `content` indexes `Corpus.contents` (a revisit points at what it repeats)."""

    urlkey: str
    timestamp: str
    original: str
    mimetype: str
    statuscode: str
    length: str
    content: int

    @property
    def is_revisit(self) -> bool:
        return self.mimetype == "warc/revisit"


@dataclass(frozen=True, slots=True)
class Content:
    """A distinct payload: what replay serves (status, body) for the captures that use it."""

    spec: BodySpec
    status: int
    location: str = ""
