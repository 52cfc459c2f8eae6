"""A client of the Wayback CDX server: the captures of a domain worth fetching.

It asks what the original asked (`output=json`, `collapse=digest`, `statuscode:200` and
`text/html` filters, the fields below) and pages through long answers either with
`showNumPages` then `page=`, or with `showResumeKey`/`resumeKey`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import httpx

from app.scraper.retry import RetryPolicy, attempts, raise_for_retryable

CDX_PATH = "/cdx/search/cdx"
CDX_FIELDS = ("timestamp", "original", "mimetype", "statuscode", "digest", "length")
CDX_FILTERS = ("statuscode:200", "mimetype:text/html")
# The original's default window starts here when a domain has no from_date.
DEFAULT_FROM_DATE = date(2020, 1, 1)
# Lines per answer when resuming; paged queries leave the page size (in index blocks) to
# the server unless told.
RESUME_LIMIT_LINES = 3000
CDX_TIMEOUT_S = 60.0

Paging = Literal["pages", "resume_key"]
MatchType = Literal["exact", "prefix", "host", "domain"]

logger = logging.getLogger(__name__)


class CdxError(Exception):
    """The CDX server answered something that is not a CDX answer."""


@dataclass(frozen=True, slots=True)
class CdxRecord:
    """One capture, as the CDX server lists it."""

    timestamp: str
    original: str
    mimetype: str
    statuscode: str
    digest: str
    length: int | None

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a capture of a domain: the pages table's unique key."""
        return (self.original, self.timestamp)


@dataclass(frozen=True, slots=True)
class CdxQuery:
    """What to ask for: a domain (or URL prefix) and an inclusive date window."""

    url: str
    match_type: MatchType = "domain"
    from_date: date | None = DEFAULT_FROM_DATE
    to_date: date | None = None

    def params(self) -> list[tuple[str, str]]:
        params = [
            ("url", self.url),
            ("matchType", self.match_type),
            ("output", "json"),
            ("fl", ",".join(CDX_FIELDS)),
            ("collapse", "digest"),
            *(("filter", f) for f in CDX_FILTERS),
        ]
        if self.from_date is not None:
            params.append(("from", self.from_date.strftime("%Y%m%d")))
        if self.to_date is not None:
            params.append(("to", self.to_date.strftime("%Y%m%d")))
        return params


def parse_rows(rows: list[Any]) -> tuple[list[CdxRecord], str | None]:
    """Records and the resume key (a `[], ["<key>"]` trailer) of one JSON answer."""
    if not rows:
        return [], None
    resume_key = None
    if len(rows) >= 2 and rows[-2] == [] and len(rows[-1]) == 1:
        resume_key = str(rows[-1][0])
        rows = rows[:-2]
    header, *body = rows
    try:
        positions = [header.index(field) for field in CDX_FIELDS]
    except ValueError as error:
        raise CdxError(f"CDX header {header!r} lacks a requested field") from error
    records = []
    for row in body:
        ts, original, mimetype, status, digest, length = (row[i] for i in positions)
        records.append(
            CdxRecord(
                timestamp=ts,
                original=original,
                mimetype=mimetype,
                statuscode=status,
                digest=digest,
                length=int(length) if str(length).isdigit() else None,
            )
        )
    return records, resume_key


def dedup_digests(records: Iterable[CdxRecord]) -> list[CdxRecord]:
    """Keep the first capture of each digest. `collapse=digest` only collapses *adjacent*
    rows, so a repeat straddling a page boundary, or an A-B-A revert, gets through it;
    a re-capture under another scheme or `www.` form is the same content too."""
    seen: set[str] = set()
    kept = []
    for record in records:
        if record.digest in seen:
            continue
        seen.add(record.digest)
        kept.append(record)
    return kept


class CdxClient:
    """Pages through one CDX query; every request retried as `policy` says."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        policy: RetryPolicy | None = None,
        paging: Paging = "pages",
        resume_limit: int = RESUME_LIMIT_LINES,
        page_size_blocks: int | None = None,
    ) -> None:
        self._client = client
        self._policy = policy or RetryPolicy()
        self._paging = paging
        self._resume_limit = resume_limit
        self._page_size_blocks = page_size_blocks

    async def _get_json(self, params: list[tuple[str, str]]) -> Any:
        async for attempt in attempts(self._policy):
            with attempt:
                response = await self._client.get(
                    CDX_PATH, params=tuple(params), timeout=CDX_TIMEOUT_S
                )
                raise_for_retryable(response)
                response.raise_for_status()
                text = response.text.strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CdxError(f"CDX answered non-JSON: {text[:80]!r}") from error

    def _page_size_param(self) -> list[tuple[str, str]]:
        if self._page_size_blocks is None:
            return []
        return [("pageSize", str(self._page_size_blocks))]

    async def num_pages(self, query: CdxQuery) -> int:
        params = [*query.params(), ("showNumPages", "true"), *self._page_size_param()]
        answer = await self._get_json(params)
        if not isinstance(answer, int):
            raise CdxError(f"showNumPages answered {answer!r}, not a page count")
        return answer

    async def pages(self, query: CdxQuery) -> AsyncIterator[list[CdxRecord]]:
        """The raw records, one list per CDX page (before digest dedup)."""
        if self._paging == "pages":
            count = await self.num_pages(query)
            for page in range(count):
                params = [*query.params(), ("page", str(page)), *self._page_size_param()]
                records, _ = parse_rows(await self._get_json(params))
                yield records
            return
        resume_key: str | None = None
        while True:
            params = [
                *query.params(),
                ("limit", str(self._resume_limit)),
                ("showResumeKey", "true"),
            ]
            if resume_key is not None:
                params.append(("resumeKey", resume_key))
            records, resume_key = parse_rows(await self._get_json(params))
            yield records
            if resume_key is None:
                return

    async def captures(self, query: CdxQuery) -> list[CdxRecord]:
        """Every capture of the query, digest-deduplicated, in CDX order."""
        found: list[CdxRecord] = []
        async for records in self.pages(query):
            found.extend(records)
        kept = dedup_digests(found)
        logger.info("CDX %s: %d records, %d after digest dedup", query.url, len(found), len(kept))
        return kept
