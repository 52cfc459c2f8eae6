"""Capture bodies generated on demand: HTML pages in five languages, PDFs, JPEGs, stylesheets,
error and redirect pages.

A body is a pure function of (seed, spec): the same bytes in every process. Its size is
fixed in advance by the spec and hit exactly (the filler is whitespace), so responses carry
a Content-Length and the CDX digest can be computed without keeping the body. Bodies come
out in chunks; a 12 MB page is never held in memory whole.
"""

from __future__ import annotations

import base64
import hashlib
import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from random import Random

from harness.upstream.seeding import derive_rng
from harness.upstream.words import VOCABULARIES, Vocabulary

CHUNK_BYTES = 64 * 1024
# Main text is drawn from a per-language pool of ready paragraphs: building a 40 KB page
# is then a few hundred random picks rather than thousands of word draws.
PARAGRAPH_POOL_SIZE = 768
HEADING_POOL_SIZE = 96
FUNCTION_WORD_SHARE = 0.4
HEADING_EVERY_N_PARAGRAPHS = 6
SCRIPT_OPEN = b'<script type="application/json">['
SCRIPT_CLOSE = b"0]</script>\n"
SCRIPT_ITEM = b'{"id":1024,"k":"w","v":[3,1,4,1,5,9,2,6]},\n'


class BodyKind(StrEnum):
    """What a capture's payload is."""

    HTML = "html"
    NOT_FOUND = "not_found"
    REDIRECT = "redirect"
    PDF = "pdf"
    JPEG = "jpeg"
    CSS = "css"


CONTENT_TYPES: dict[BodyKind, str] = {
    BodyKind.HTML: "text/html; charset=utf-8",
    BodyKind.NOT_FOUND: "text/html; charset=utf-8",
    BodyKind.REDIRECT: "text/html; charset=utf-8",
    BodyKind.PDF: "application/pdf",
    BodyKind.JPEG: "image/jpeg",
    BodyKind.CSS: "text/css",
}


@dataclass(frozen=True, slots=True)
class BodySpec:
    """Everything a body is generated from; `key` is its identity (one key, one body)."""

    key: str
    kind: BodyKind
    language: str
    site: str
    path: str
    size: int
    title_key: str
    location: str = ""
    # HTML: bytes of main text at most (0: the whole body); the rest is inline script,
    # the markup a page carries beside its text, which extraction drops.
    text_bytes: int = 0


class BodyTooSmallError(ValueError):
    """The spec's size cannot hold the page's fixed parts (a corpus bug, not a user error)."""


def b32_sha1(data_chunks: Iterator[bytes]) -> str:
    """The CDX digest: base32 of the SHA-1 of the payload."""
    sha = hashlib.sha1()
    for chunk in data_chunks:
        sha.update(chunk)
    return base64.b32encode(sha.digest()).decode("ascii")


def _sentence(rng: Random, vocab: Vocabulary, words: int) -> str:
    picked = [
        rng.choice(vocab.function_words)
        if rng.random() < FUNCTION_WORD_SHARE
        else rng.choice(vocab.content_words)
        for _ in range(words)
    ]
    text = " ".join(picked)
    return text[0].upper() + text[1:] + "."


def _title(rng: Random, vocab: Vocabulary) -> str:
    words = [rng.choice(vocab.content_words) for _ in range(rng.randint(3, 7))]
    text = " ".join(words)
    return text[0].upper() + text[1:]


class Renderer:
    """Generates bodies for one seed; paragraph pools are built once per language."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._pools: dict[str, tuple[tuple[bytes, ...], tuple[bytes, ...]]] = {}
        self._lock = threading.Lock()

    def _pool(self, language: str) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        with self._lock:
            if language not in self._pools:
                vocab = VOCABULARIES[language]
                rng = derive_rng(self.seed, "pool", language)
                paragraphs = tuple(
                    (
                        "<p>"
                        + html.escape(
                            " ".join(
                                _sentence(rng, vocab, rng.randint(6, 18))
                                for _ in range(rng.randint(3, 7))
                            )
                        )
                        + "</p>\n"
                    ).encode()
                    for _ in range(PARAGRAPH_POOL_SIZE)
                )
                headings = tuple(
                    f"<h2>{html.escape(_title(rng, vocab))}</h2>\n".encode()
                    for _ in range(HEADING_POOL_SIZE)
                )
                self._pools[language] = (paragraphs, headings)
            return self._pools[language]

    def chunks(self, spec: BodySpec) -> Iterator[bytes]:
        """The body in chunks of about CHUNK_BYTES, exactly `spec.size` bytes in total."""
        if spec.kind in (BodyKind.PDF, BodyKind.JPEG):
            yield from self._binary(spec)
        elif spec.kind is BodyKind.CSS:
            yield from self._stylesheet(spec)
        elif spec.kind is BodyKind.REDIRECT:
            yield _padded(_redirect_page(spec.location), spec)
        else:
            yield from self._html(spec)

    def body(self, spec: BodySpec) -> bytes:
        """The whole body at once (for small bodies and tests)."""
        return b"".join(self.chunks(spec))

    def digest(self, spec: BodySpec) -> str:
        """The body's CDX digest, computed chunk by chunk."""
        return b32_sha1(self.chunks(spec))

    def _html(self, spec: BodySpec) -> Iterator[bytes]:
        vocab = VOCABULARIES[spec.language]
        rng = derive_rng(self.seed, "body", spec.key)
        head, tail = _html_frame(self.seed, spec, vocab, rng)
        budget = spec.size - len(head) - len(tail)
        if budget < 0:
            raise BodyTooSmallError(f"{spec.key}: {spec.size} bytes cannot hold the page frame")
        yield head
        if spec.kind is BodyKind.HTML:
            text_budget = min(budget, spec.text_bytes) if spec.text_bytes else budget
            yield from _fill(rng, self._pool(spec.language), text_budget)
            yield from _script(budget - text_budget)
        else:
            yield b" " * budget
        yield tail

    def _binary(self, spec: BodySpec) -> Iterator[bytes]:
        rng = derive_rng(self.seed, "body", spec.key)
        if spec.kind is BodyKind.JPEG:
            head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            tail = b"\xff\xd9"
        else:
            head, tail = _pdf_frame(spec.size)
        remaining = spec.size - len(head) - len(tail)
        if remaining < 0:
            raise BodyTooSmallError(f"{spec.key}: {spec.size} bytes cannot hold the file frame")
        yield head
        while remaining > 0:
            step = min(CHUNK_BYTES, remaining)
            yield rng.randbytes(step)
            remaining -= step
        yield tail

    def _stylesheet(self, spec: BodySpec) -> Iterator[bytes]:
        rng = derive_rng(self.seed, "body", spec.key)
        selectors = (
            "body",
            "header",
            "nav a",
            "main",
            "article p",
            "h1",
            "h2",
            "footer",
            ".byline",
        )
        properties = ("margin", "padding", "font-size", "line-height", "letter-spacing")
        parts: list[bytes] = []
        used = 0
        while True:
            rule = (
                f"{rng.choice(selectors)}.s{rng.randrange(10_000)} {{ "
                f"{rng.choice(properties)}: {rng.randint(1, 48)}px; "
                f"color: #{rng.randrange(0x1000000):06x}; }}\n"
            ).encode()
            if used + len(rule) > spec.size:
                break
            parts.append(rule)
            used += len(rule)
        parts.append(b" " * (spec.size - used))
        yield b"".join(parts)


def _fill(
    rng: Random, pool: tuple[tuple[bytes, ...], tuple[bytes, ...]], budget: int
) -> Iterator[bytes]:
    """Main text: paragraphs (and a heading now and then) until the budget, then whitespace."""
    paragraphs, headings = pool
    buffer: list[bytes] = []
    buffered = 0
    used = 0
    count = 0
    while True:
        count += 1
        if count % HEADING_EVERY_N_PARAGRAPHS == 0:
            item = headings[rng.randrange(len(headings))]
        else:
            item = paragraphs[rng.randrange(len(paragraphs))]
        if used + len(item) > budget:
            break
        buffer.append(item)
        buffered += len(item)
        used += len(item)
        if buffered >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, buffered = [], 0
    buffer.append(b"\n" * (budget - used))
    yield b"".join(buffer)


def _script(size: int) -> Iterator[bytes]:
    """Exactly `size` bytes of inline script data (whitespace when too small for one)."""
    if size < len(SCRIPT_OPEN) + len(SCRIPT_CLOSE):
        yield b"\n" * size
        return
    remaining = size - len(SCRIPT_OPEN) - len(SCRIPT_CLOSE)
    items, rest = divmod(remaining, len(SCRIPT_ITEM))
    block = SCRIPT_ITEM * max(1, CHUNK_BYTES // len(SCRIPT_ITEM))
    yield SCRIPT_OPEN
    while items > 0:
        take = min(items, len(block) // len(SCRIPT_ITEM))
        yield block[: take * len(SCRIPT_ITEM)]
        items -= take
    yield b" " * rest + SCRIPT_CLOSE


def _redirect_page(location: str) -> bytes:
    """The web server's stock 301 page, as archived redirects usually carry."""
    link = html.escape(location, quote=True)
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        "<title>301 Moved Permanently</title>\n</head><body>\n<h1>Moved Permanently</h1>\n"
        f'<p>The document has moved <a href="{link}">here</a>.</p>\n</body></html>\n'
    ).encode()


def _padded(body: bytes, spec: BodySpec) -> bytes:
    if len(body) > spec.size:
        raise BodyTooSmallError(f"{spec.key}: {spec.size} bytes cannot hold the page")
    return body + b"\n" * (spec.size - len(body))


def _html_frame(seed: int, spec: BodySpec, vocab: Vocabulary, rng: Random) -> tuple[bytes, bytes]:
    """The page around the main text: head, navigation, byline; related links and footer."""
    site = spec.site.split(".")[0].replace("-", " ").title()
    if spec.kind is BodyKind.NOT_FOUND:
        title, description, intro = vocab.not_found_title, vocab.not_found_text, ""
    else:
        # The title belongs to the page, the text to the version: re-captures keep the title.
        title_rng = derive_rng(seed, "title", spec.title_key)
        title = _title(title_rng, vocab)
        description = _sentence(title_rng, vocab, title_rng.randint(10, 20))
        author = f"{rng.choice(vocab.first_names)} {rng.choice(vocab.last_names)}"
        day = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}."
        intro = f'<p class="byline">{vocab.byline} {html.escape(author)} · {day}</p>\n'
    home, about, news, contact, archive = vocab.nav
    section = vocab.sections[0]
    nav = "".join(
        f'<li><a href="{href}">{html.escape(label)}</a></li>'
        for href, label in (
            ("/", home),
            ("/about", about),
            (f"/{section}", news),
            ("/contact", contact),
            ("/archive", archive),
        )
    )
    head = (
        f'<!DOCTYPE html>\n<html lang="{spec.language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)} | {html.escape(site)}</title>\n"
        f'<meta name="description" content="{html.escape(description, quote=True)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="/assets/site.css">\n</head>\n<body>\n'
        f'<header class="site-header"><a class="logo" href="/">{html.escape(site)}</a>\n'
        f"<nav><ul>{nav}</ul></nav></header>\n<main>\n<article>\n"
        f"<h1>{html.escape(title)}</h1>\n{intro}"
    )
    related = "".join(
        f'<li><a href="/{section}/{rng.randrange(1000, 9999)}">'
        f"{html.escape(_title(rng, vocab))}</a></li>"
        for _ in range(3)
    )
    tail = (
        "</article>\n</main>\n"
        f'<aside class="related"><h2>{html.escape(vocab.related)}</h2><ul>{related}</ul></aside>\n'
        f"<footer><p>© {html.escape(site)} · {html.escape(vocab.rights)} · "
        f'<a href="/privacy">{html.escape(vocab.privacy)}</a></p></footer>\n</body>\n</html>\n'
    )
    return head.encode(), tail.encode()


def _pdf_head(stream_length: int) -> bytes:
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n"
        b"4 0 obj\n<< /Length " + str(stream_length).encode() + b" /Filter /FlateDecode >>\n"
        b"stream\n"
    )


def _pdf_frame(size: int) -> tuple[bytes, bytes]:
    """A one-page PDF skeleton whose stream length makes the file exactly `size` bytes."""
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    for digits in range(1, 12):
        stream_length = size - len(_pdf_head(10 ** (digits - 1))) - len(tail)
        if len(str(stream_length)) == digits:
            return _pdf_head(stream_length), tail
    raise BodyTooSmallError(f"no PDF frame fits {size} bytes")
