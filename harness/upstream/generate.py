"""Generation of the archive's index from a seed: domains, their pages, and captures over years.

Every draw is keyed by name (`derive_rng(seed, "page", urlkey)`), so a corpus with more
domains starts with the same domains as a smaller one. Each page goes through a life of
captures: new content (status 200), the same content re-captured (200, same digest),
revisit records (`warc/revisit`, status `-`, the digest of the content they repeat), 404s
while the page is gone, and 301s to its https address. No body is generated here.
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import UTC, datetime
from random import Random

from harness.upstream.content import BodyKind, BodySpec
from harness.upstream.profiles import HTML_CAPTURE_SIZES
from harness.upstream.records import Capture, Content, CorpusConfig, Domain
from harness.upstream.seeding import derive_rng
from harness.upstream.sizes import compression_ratio, draw_body_bytes
from harness.upstream.urlkeys import urlkey
from harness.upstream.words import LANGUAGES, VOCABULARIES

# A page's main text (the rest of its HTML is markup and script): log-normal around
# 20 kB within 5-80 kB. No published distribution of main-text size was found; this is an
# assumption (the stand-in's whole HTML bodies had these sizes before sizes came from
# Common Crawl's records).
TEXT_MIN_BYTES = 5_000
TEXT_MAX_BYTES = 80_000
TEXT_MEDIAN_BYTES = 20_000
TEXT_SIGMA = 0.6
# Bodies over the 10 MB fetch cap forced at `huge_rate` (CorpusConfig) have these sizes.
HUGE_MIN_BYTES = 10_500_000
HUGE_MAX_BYTES = 14_000_000
NOT_FOUND_BYTES = (4_000, 6_000)
REDIRECT_BYTES = (520, 640)
SIZE_RANGES_BYTES: dict[BodyKind, tuple[int, int]] = {
    BodyKind.PDF: (40_000, 1_500_000),
    BodyKind.JPEG: (15_000, 400_000),
    BodyKind.CSS: (3_000, 40_000),
}
# Weights of the page kinds after the home page.
PAGE_KIND_WEIGHTS: dict[str, float] = {
    "article": 0.70,
    "listing": 0.08,
    "pdf": 0.08,
    "image": 0.09,
    "stylesheet": 0.05,
}
PAGE_BODY_KIND = {
    "home": BodyKind.HTML,
    "article": BodyKind.HTML,
    "listing": BodyKind.HTML,
    "pdf": BodyKind.PDF,
    "image": BodyKind.JPEG,
    "stylesheet": BodyKind.CSS,
}
CDX_MIMETYPES: dict[BodyKind, str] = {
    BodyKind.HTML: "text/html",
    BodyKind.NOT_FOUND: "text/html",
    BodyKind.REDIRECT: "text/html",
    BodyKind.PDF: "application/pdf",
    BodyKind.JPEG: "image/jpeg",
    BodyKind.CSS: "text/css",
}
# What happens at each capture after the first, while the page is up.
P_REDIRECT = 0.04
P_GONE = 0.04
P_REVISIT = 0.18
P_SAME = 0.22
P_BACK_AFTER_GONE = 0.5
SUBDOMAIN_SHARE = 0.3
WWW_SHARE = 0.8
# CDX `length` is the compressed WARC record, not the body: ratio per kind plus headers.
WARC_HEADER_BYTES = 450
COMPRESSION_RATIO = {BodyKind.PDF: 0.92, BodyKind.JPEG: 0.99, BodyKind.CSS: 0.25}
HTML_COMPRESSION_RATIO = compression_ratio(HTML_CAPTURE_SIZES)
REVISIT_RECORD_BYTES = (480, 720)


def generate(config: CorpusConfig) -> tuple[list[Domain], list[Content], list[Capture]]:
    """Domains, contents and captures (in CDX order) for `config`."""
    builder = _Builder(config)
    for number in range(config.domains):
        builder.add_domain(number)
    # CDX order is the order of the lines as text; "<urlkey> <timestamp>" decides it here
    # because a url has at most one capture per second.
    captures = sorted(builder.captures, key=lambda c: f"{c.urlkey} {c.timestamp}")
    return builder.domains, builder.contents, captures


def _redirect_target(original: str) -> str:
    """Where a 301 capture points: the https address, or the other www form if already https."""
    if original.startswith("http://"):
        return "https://" + original.removeprefix("http://")
    rest = original.removeprefix("https://")
    if rest.startswith("www."):
        return "https://" + rest.removeprefix("www.")
    return "https://www." + rest


@functools.cache
def _ascii_words(language: str) -> tuple[str, ...]:
    """The language's content words folded to ASCII letters, for host names and slugs."""
    words = []
    for word in VOCABULARIES[language].content_words:
        folded = unicodedata.normalize("NFKD", word.lower()).encode("ascii", "ignore").decode()
        words.append("".join(ch for ch in folded if ch.isalpha()))
    return tuple(words)


class _Builder:
    """Accumulates domains, contents and captures while the corpus is generated."""

    def __init__(self, config: CorpusConfig) -> None:
        self.config = config
        self.domains: list[Domain] = []
        self.contents: list[Content] = []
        self.captures: list[Capture] = []
        self._names: set[str] = set()
        start = datetime(config.first_year, 1, 1, tzinfo=UTC)
        end = datetime(config.last_year + 1, 1, 1, tzinfo=UTC)
        self._span_s = (int(start.timestamp()), int(end.timestamp()) - 1)

    def add_domain(self, number: int) -> None:
        rng = derive_rng(self.config.seed, "domain", number)
        language = LANGUAGES[number % len(LANGUAGES)]
        vocab = VOCABULARIES[language]
        words = [word for word in _ascii_words(language) if len(word) >= 3]
        joiner = "-" if rng.random() < 0.3 else ""
        name = f"{rng.choice(words)}{joiner}{rng.choice(words)}.{rng.choice(vocab.tlds)}"
        if name in self._names:
            name = name.replace(".", f"{number}.", 1)
        self._names.add(name)
        domain = Domain(
            name=name,
            language=language,
            subdomain=rng.choice(("blog", "news", "shop"))
            if rng.random() < SUBDOMAIN_SHARE
            else None,
            www=rng.random() < WWW_SHARE,
            https_from_year=rng.randint(self.config.first_year, self.config.last_year + 1),
        )
        self.domains.append(domain)
        not_found = self._add_content(
            BodySpec(
                key=f"{name}|404",
                kind=BodyKind.NOT_FOUND,
                language=language,
                site=name,
                path="/404",
                size=rng.randint(*NOT_FOUND_BYTES),
                title_key=f"{name}|404",
            ),
            status=404,
        )
        seen: set[str] = set()
        for page_number in range(self.config.pages_per_domain):
            host, path, kind = self._page_address(rng, domain, page_number)
            key = urlkey(f"http://{host}{path}")
            if key in seen:
                continue
            seen.add(key)
            self._add_page_captures(domain, host, path, kind, key, not_found)

    def _page_address(self, rng: Random, domain: Domain, number: int) -> tuple[str, str, str]:
        if number == 0:
            return domain.name, "/", "home"
        vocab = VOCABULARIES[domain.language]
        kinds, weights = zip(*PAGE_KIND_WEIGHTS.items(), strict=True)
        kind = rng.choices(kinds, weights)[0]
        host = domain.name
        if domain.subdomain and rng.random() < SUBDOMAIN_SHARE:
            host = f"{domain.subdomain}.{domain.name}"
        slug = "-".join(rng.choice(_ascii_words(domain.language)) for _ in range(rng.randint(2, 5)))
        section = rng.choice(vocab.sections)
        path = {
            "article": f"/{section}/{slug}",
            "listing": f"/{section}/?page={rng.randint(2, 40)}",
            "pdf": f"/files/{slug}.pdf",
            "image": f"/images/{slug}.jpg",
            "stylesheet": f"/assets/{slug}.css",
        }[kind]
        if kind == "article" and rng.random() < 0.4:
            year = rng.randint(self.config.first_year, self.config.last_year)
            path = f"/{section}/{year}/{slug}.html"
        return host, path, kind

    def _timestamps(self, rng: Random, count: int) -> list[str]:
        seconds: set[int] = set()
        while len(seconds) < count:
            seconds.add(rng.randint(*self._span_s))
        return [datetime.fromtimestamp(s, UTC).strftime("%Y%m%d%H%M%S") for s in sorted(seconds)]

    def _original(self, rng: Random, domain: Domain, host: str, path: str, stamp: str) -> str:
        scheme = "https" if int(stamp[:4]) >= domain.https_from_year else "http"
        www = domain.www if rng.random() > 0.1 else not domain.www
        if host == domain.name and www:
            host = f"www.{host}"
        return f"{scheme}://{host}{path}"

    def _add_content(self, spec: BodySpec, status: int, location: str = "") -> int:
        self.contents.append(Content(spec, status, location))
        return len(self.contents) - 1

    def _add_page_captures(
        self, domain: Domain, host: str, path: str, kind: str, key: str, not_found: int
    ) -> None:
        rng = derive_rng(self.config.seed, "page", key)
        body_kind = PAGE_BODY_KIND[kind]
        mean = self.config.captures_per_page * (3 if kind == "home" else 1)
        count = rng.randint(1, max(1, 2 * mean - 1))
        version, current, state = 0, -1, "new"
        for stamp in self._timestamps(rng, count):
            original = self._original(rng, domain, host, path, stamp)
            event = self._next_event(rng, state, kind)
            if event == "new":
                version += 1
                current = self._add_content(
                    BodySpec(
                        key=f"{key}|{version}",
                        kind=body_kind,
                        language=domain.language,
                        site=domain.name,
                        path=path,
                        size=self._body_size(rng, body_kind, stamp),
                        title_key=key,
                        text_bytes=self._text_size(rng) if body_kind is BodyKind.HTML else 0,
                    ),
                    status=200,
                )
                state = "up"
                self._capture(key, stamp, original, current, body_kind, rng)
            elif event == "same":
                self._capture(key, stamp, original, current, body_kind, rng)
            elif event == "revisit":
                length = str(rng.randint(*REVISIT_RECORD_BYTES))
                self.captures.append(
                    Capture(key, stamp, original, "warc/revisit", "-", length, current)
                )
            elif event == "gone":
                state = "gone"
                self._capture(key, stamp, original, not_found, BodyKind.NOT_FOUND, rng, "404")
            else:
                target = _redirect_target(original)
                redirect = self._add_content(
                    BodySpec(
                        key=f"{key}|301|{stamp}",
                        kind=BodyKind.REDIRECT,
                        language=domain.language,
                        site=domain.name,
                        path=path,
                        size=rng.randint(*REDIRECT_BYTES),
                        title_key=key,
                        location=target,
                    ),
                    status=301,
                    location=target,
                )
                self._capture(key, stamp, original, redirect, BodyKind.REDIRECT, rng, "301")

    def _next_event(self, rng: Random, state: str, kind: str) -> str:
        draw = rng.random()
        if state == "new":
            return "new"
        if state == "gone":
            return "new" if draw < P_BACK_AFTER_GONE else "gone"
        if kind in ("home", "article", "listing") and draw < P_REDIRECT:
            return "redirect"
        draw -= P_REDIRECT
        if kind != "home" and draw < P_GONE:
            return "gone"
        draw -= P_GONE
        if draw < P_REVISIT:
            return "revisit"
        return "same" if draw - P_REVISIT < P_SAME else "new"

    def _body_size(self, rng: Random, kind: BodyKind, stamp: str) -> int:
        if kind is not BodyKind.HTML:
            low, high = SIZE_RANGES_BYTES[kind]
            return int(low * (high / low) ** rng.random())  # log-uniform
        huge_here = not self.config.huge_before or stamp < self.config.huge_before
        if self.config.huge_rate and huge_here and rng.random() < self.config.huge_rate:
            return rng.randint(HUGE_MIN_BYTES, HUGE_MAX_BYTES)
        return draw_body_bytes(HTML_CAPTURE_SIZES, rng)

    def _text_size(self, rng: Random) -> int:
        size = int(rng.lognormvariate(0, TEXT_SIGMA) * TEXT_MEDIAN_BYTES)
        return min(TEXT_MAX_BYTES, max(TEXT_MIN_BYTES, size))

    def _capture(
        self,
        key: str,
        stamp: str,
        original: str,
        content: int,
        kind: BodyKind,
        rng: Random,
        status: str = "200",
    ) -> None:
        size = self.contents[content].spec.size
        ratio = COMPRESSION_RATIO.get(kind, HTML_COMPRESSION_RATIO)
        length = WARC_HEADER_BYTES + rng.randint(0, 60) + int(size * ratio)
        self.captures.append(
            Capture(key, stamp, original, CDX_MIMETYPES[kind], status, str(length), content)
        )
