"""The CDX query engine: pure functions from (index, query) to an answer, as the Wayback CDX
server computes it (internetarchive/wayback, `CDXServer.writeCdxResponse`).

The order of operations matters and follows the server: the url scope is a range of the
sorted index (seeked to `from` or to the resume key); `offset` skips raw lines before any
other test; then `from`/`to`, the filters (each must hold; a regex must match the whole
field, `~` means substring), then collapsing (adjacent lines only); `limit` counts written
lines, a negative limit keeps the last ones. Paging cuts the index into blocks of
`block_lines` lines (the server's zipnum blocks); a page is `pageSize` blocks, filtered
afterwards, so pages may hold fewer rows than others or none.

Two choices where the server's code and its README disagree, both as the README says: the
resume key is printed only when more results remain, and its form is
`urlencode("<urlkey> <timestamp>!")`. A page past the last one answers an empty body.
"""

from __future__ import annotations

import json
import re
import sys
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote_plus, unquote_plus

from harness.upstream.urlkeys import MatchType, key_range, split_wildcard

CDX_FIELDS: tuple[str, ...] = (
    "urlkey",
    "timestamp",
    "original",
    "mimetype",
    "statuscode",
    "digest",
    "length",
)
DIGEST_FIELD = CDX_FIELDS.index("digest")
QUERY_MAX_LINES = 150_000  # the server's cap on lines read by one unpaged query
DEFAULT_BLOCK_LINES = 3_000  # lines per zipnum block
DEFAULT_MAX_PAGE_SIZE = 50  # blocks per page on web.archive.org
_TIMESTAMP = re.compile(r"\d{1,14}")


class CdxParamError(ValueError):
    """A query the server refuses; the message is the body of the 400 answer."""


class CdxRow(Protocol):
    """What the engine reads from a capture (the digest comes through the index)."""

    @property
    def urlkey(self) -> str: ...
    @property
    def timestamp(self) -> str: ...
    @property
    def original(self) -> str: ...
    @property
    def mimetype(self) -> str: ...
    @property
    def statuscode(self) -> str: ...
    @property
    def length(self) -> str: ...


R = TypeVar("R", bound=CdxRow)


class CdxIndex(Generic[R]):
    """Rows in CDX order with their line keys and zipnum block boundaries."""

    def __init__(
        self,
        rows: Sequence[R],
        digest_of: Callable[[R], str],
        block_lines: int = DEFAULT_BLOCK_LINES,
        line_keys: list[str] | None = None,
    ) -> None:
        self.rows = rows
        self.digest_of = digest_of
        self.block_lines = block_lines
        self.line_keys = line_keys or [f"{row.urlkey} {row.timestamp}" for row in rows]
        self.block_first_keys = self.line_keys[::block_lines]

    def with_digest(self, digest_of: Callable[[R], str]) -> CdxIndex[R]:
        """The same index answering `digest` from another function (shares the keys)."""
        return CdxIndex(self.rows, digest_of, self.block_lines, self.line_keys)

    def with_block_lines(self, block_lines: int) -> CdxIndex[R]:
        """The same index cut into blocks of another size."""
        return CdxIndex(self.rows, self.digest_of, block_lines, self.line_keys)

    def value(self, row: R, index: int) -> str:
        if index == DIGEST_FIELD:
            return self.digest_of(row)
        return str(getattr(row, CDX_FIELDS[index]))

    def line(self, row: R) -> str:
        return " ".join(self.value(row, index) for index in range(len(CDX_FIELDS)))


@dataclass(frozen=True, slots=True)
class RowFilter:
    """`[~][!]field:pattern`, or a pattern on the whole line when no field is named."""

    field: int | None
    inverted: bool
    regex: re.Pattern[str] | None = None
    contains: str | None = None

    def matches(self, value: str) -> bool:
        if self.contains is not None:
            found = self.contains in value
        else:
            assert self.regex is not None
            found = self.regex.fullmatch(value) is not None  # Java's Matcher.matches()
        return found != self.inverted


@dataclass(frozen=True, slots=True)
class Collapse:
    """`field` or `field:N`: drop a line whose field (or its first N characters) repeats."""

    field: int
    length: int = 0


def _field_index(name: str) -> int:
    if name.isdigit() and int(name) < len(CDX_FIELDS):
        return int(name)
    if name in CDX_FIELDS:
        return CDX_FIELDS.index(name)
    raise CdxParamError(f"Unknown field: {name}")


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CdxParamError(f"Invalid {name}: {text}") from None


def _timestamp(name: str, text: str) -> str:
    if text and not _TIMESTAMP.fullmatch(text):
        raise CdxParamError(f"Invalid {name}: {text} (1 to 14 digits of yyyyMMddhhmmss)")
    return text


@dataclass(frozen=True)
class CdxQuery:
    """A parsed `/cdx/search/cdx` query."""

    url: str
    match_type: MatchType = MatchType.EXACT
    from_ts: str = ""
    to_ts: str = ""
    output_json: bool = False
    fields: tuple[str, ...] = CDX_FIELDS
    filters: tuple[RowFilter, ...] = ()
    collapses: tuple[Collapse, ...] = ()
    limit: int = 0
    offset: int = 0
    show_resume_key: bool = False
    resume_key: str = ""
    page: int = -1
    page_size: int = 0
    show_num_pages: bool = False
    gzip: bool | None = field(default=None, compare=False)

    @property
    def paged(self) -> bool:
        return self.page >= 0 or self.show_num_pages

    @staticmethod
    def parse_filters(texts: Sequence[str]) -> tuple[RowFilter, ...]:
        filters = []
        for text in texts:
            if not text:
                continue
            contains = text.startswith("~")
            text = text.removeprefix("~")
            inverted = text.startswith("!")
            text = text.removeprefix("!")
            name, sep, pattern = text.partition(":")
            index = _field_index(name) if sep else None
            if not sep:
                pattern = text
            if contains:
                filters.append(RowFilter(index, inverted, contains=pattern))
                continue
            try:
                filters.append(RowFilter(index, inverted, regex=re.compile(pattern)))
            except re.error as error:
                raise CdxParamError(f"Invalid filter regex {pattern!r}: {error}") from None
        return tuple(filters)

    @staticmethod
    def parse_collapses(texts: Sequence[str]) -> tuple[Collapse, ...]:
        collapses = []
        for text in texts:
            if not text:
                continue
            name, _, length = text.partition(":")
            size = int(length) if length.isdigit() else 0
            collapses.append(Collapse(_field_index(name), size))
        return tuple(collapses)

    @classmethod
    def from_params(cls, params: Sequence[tuple[str, str]]) -> CdxQuery:
        """Parse query parameters; scalars take their first value, as a servlet does."""
        first: dict[str, str] = {}
        for name, value in params:
            first.setdefault(name, value)
        url = first.get("url", "")
        if not url:
            raise CdxParamError("url parameter is required")
        match_text = first.get("matchType")
        if match_text is not None and match_text not in MatchType.__members__.values():
            raise CdxParamError(f"Invalid matchType: {match_text}")
        url, match_type = split_wildcard(url, MatchType(match_text) if match_text else None)
        names = [name for name in first.get("fl", "").split(",") if name]
        for name in names:
            _field_index(name)
        gzip_text = first.get("gzip")
        return cls(
            url=url,
            match_type=match_type,
            from_ts=_timestamp("from", first.get("from", "")),
            to_ts=_timestamp("to", first.get("to", "")),
            output_json=first.get("output") == "json",
            fields=tuple(names) or CDX_FIELDS,
            filters=cls.parse_filters([v for n, v in params if n == "filter"]),
            collapses=cls.parse_collapses([v for n, v in params if n == "collapse"]),
            limit=_integer("limit", first.get("limit", "0")),
            offset=max(0, _integer("offset", first.get("offset", "0"))),
            show_resume_key=first.get("showResumeKey", "").lower() == "true",
            resume_key=first.get("resumeKey", ""),
            page=_integer("page", first.get("page", "-1")),
            page_size=_integer("pageSize", first.get("pageSize", "0")),
            show_num_pages=first.get("showNumPages", "").lower() == "true",
            gzip=None if gzip_text is None else gzip_text.lower() != "false",
        )


@dataclass
class CdxResult(Generic[R]):
    """An answer: the rows written (as records and as field values) and the resume key."""

    fields: tuple[str, ...]
    records: list[R]
    rows: list[tuple[str, ...]]
    resume_key: str | None = None
    past_last_page: bool = False


def _page_blocks(index: CdxIndex[R], start: str, end: str, page_size: int) -> tuple[int, int]:
    """First block and number of pages of a url range (at least one, as on the server)."""
    first = max(0, bisect_left(index.block_first_keys, start) - 1)
    last = max(0, bisect_left(index.block_first_keys, end) - 1)
    return first, -(-(last - first + 1) // page_size)


def _page_size(query: CdxQuery, max_page_size: int) -> int:
    return max_page_size if not 0 < query.page_size <= max_page_size else query.page_size


def num_pages(
    index: CdxIndex[R], query: CdxQuery, max_page_size: int = DEFAULT_MAX_PAGE_SIZE
) -> int:
    """The bare integer `showNumPages=true` answers."""
    start, end = key_range(query.url, query.match_type)
    return _page_blocks(index, start, end, _page_size(query, max_page_size))[1]


class _Matcher(Generic[R]):
    """The per-line tests after `offset`: dates, filters, then collapsing (which keeps state)."""

    def __init__(self, index: CdxIndex[R], query: CdxQuery) -> None:
        self.index = index
        self.query = query
        self.previous: list[str | None] = [None] * len(query.collapses)

    def accepts(self, row: R) -> bool:
        stamp = row.timestamp
        query = self.query
        if query.from_ts and stamp < query.from_ts:
            return False
        if query.to_ts and stamp > query.to_ts and not stamp.startswith(query.to_ts):
            return False
        for row_filter in query.filters:
            if row_filter.field is None:
                value = self.index.line(row)
            else:
                value = self.index.value(row, row_filter.field)
            if not row_filter.matches(value):
                return False
        for number, collapse in enumerate(query.collapses):
            value = self.index.value(row, collapse.field)
            if collapse.length > 0:
                value = value[: collapse.length]
            if value == self.previous[number]:
                return False
            self.previous[number] = value
        return True

    def copy(self) -> _Matcher[R]:
        twin = _Matcher(self.index, self.query)
        twin.previous = list(self.previous)
        return twin


def evaluate(
    index: CdxIndex[R],
    query: CdxQuery,
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    query_max_lines: int = QUERY_MAX_LINES,
) -> CdxResult[R]:
    """Answer `query` from `index` (not `showNumPages`: see `num_pages`)."""
    keys = index.line_keys
    start, end = key_range(query.url, query.match_type)
    if query.resume_key:
        seek = unquote_plus(query.resume_key)
    elif query.from_ts:
        seek = f"{start} {query.from_ts}"
    else:
        seek = start
    low = max(bisect_left(keys, start), bisect_left(keys, seek))
    high = bisect_left(keys, end)
    read_limit = query_max_lines
    if query.page >= 0:
        page_size = _page_size(query, max_page_size)
        first_block, pages = _page_blocks(index, start, end, page_size)
        if query.page >= pages:
            return CdxResult(query.fields, [], [], past_last_page=True)
        block = first_block + query.page * page_size
        low = max(low, block * index.block_lines)
        high = min(high, (block + page_size) * index.block_lines)
        read_limit = sys.maxsize  # the page size bounds a paged query instead
    positions: Sequence[int] = range(low, max(low, high))
    reverse = query.limit == -1  # the server reads backwards for the single latest line
    tail = query.limit < -1
    if reverse:
        positions = positions[::-1]
    write_limit = 1 if reverse else min(query.limit, read_limit) if query.limit > 0 else read_limit
    written: deque[R] = deque(maxlen=min(-query.limit, read_limit) if tail else None)
    matcher = _Matcher(index, query)
    offset, read, cursor, last_read = query.offset, 0, 0, None
    while cursor < len(positions) and (tail or len(written) < write_limit) and read < read_limit:
        row = index.rows[positions[cursor]]
        cursor += 1
        read += 1
        if offset > 0:
            offset -= 1
            continue
        last_read = row
        if matcher.accepts(row):
            written.append(row)
    resume_key = None
    if query.show_resume_key and not (reverse or tail) and last_read is not None:
        probe = matcher.copy()
        remaining = (index.rows[p] for p in positions[cursor:])
        if any(probe.accepts(row) for row in remaining):
            resume_key = quote_plus(f"{last_read.urlkey} {last_read.timestamp}!")
    selected = [_field_index(name) for name in query.fields]
    records = list(written)
    rows = [tuple(index.value(row, i) for i in selected) for row in records]
    return CdxResult(query.fields, records, rows, resume_key)


def render(result: CdxResult[R], output_json: bool) -> bytes:
    """The response body: space-separated lines, or JSON with the header row first."""
    if result.past_last_page:
        return b""
    if not output_json:
        text = "".join(" ".join(row) + "\n" for row in result.rows)
        if result.resume_key is not None:
            text += f"\n{result.resume_key}\n"
        return text.encode()
    if not result.rows:
        return b"[]\n"
    lines = [json.dumps(list(result.fields), separators=(",", ":"))]
    lines += [json.dumps(list(row), separators=(", ", ":")) for row in result.rows]
    if result.resume_key is not None:
        lines += ["[]", json.dumps([result.resume_key])]
    return ("[" + ",\n".join(lines) + "]\n").encode()
