"""Scraping one domain for one session: CDX, fetch, extract, store, index, report progress.

Both variants fetch in batches of 10 captures at a time with the original's pause between
batches (`scrape_batch_pause_s`, 2 s), drop captures already stored with one SELECT per
CDX record and store pages with one INSERT each: no fix of the report touches these. What
the switches change:

- `batch_indexing` off is the original: one indexing call per document, waiting for it.
  On: indexing handed to the indexing task in durable batches (app.scraper.indexing).
- `streaming_fetch` off reads each body whole into memory; on streams it with a cap.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import redis.asyncio as aioredis

from app.cache import invalidate_user
from app.core.config import Settings
from app.scraper import store
from app.scraper.cdx import CdxClient, CdxError, CdxQuery, CdxRecord, MatchType
from app.scraper.extract import MIN_WORDS, Extracted, extract
from app.scraper.fetch import CaptureFetcher, Fetched, Skipped
from app.scraper.indexing import BatchBuffer
from app.scraper.progress import ProgressPublisher
from app.scraper.retry import (
    BACKOFF_BASE_S,
    BACKOFF_MAX_S,
    RetryableStatusError,
    RetryPolicy,
)
from app.search.base import TEXT_LIMIT_CHARS, PageDocument, SearchBackend

# The original fetched captures in batches of 10.
FETCH_BATCH_SIZE = 10
HTTP_POOL_CONNECTIONS = 2 * FETCH_BATCH_SIZE

logger = logging.getLogger(__name__)

IndexSender = Callable[[list[int]], None]


@dataclass
class ScrapeSummary:
    """What one domain's scrape did (also the task's result)."""

    domain_id: int
    discovered: int = 0
    already_stored: int = 0
    stored: int = 0
    failed: int = 0
    skipped: int = 0
    indexed_inline: int = 0
    session_completed: bool = False
    errors: list[str] = field(default_factory=list)


def cdx_query(domain: store.DomainTarget) -> tuple[CdxQuery, re.Pattern[str] | None]:
    """The CDX query for a domain; `regex` domains are fetched whole and filtered here."""
    match_type: MatchType
    url = domain.domain_name
    pattern = None
    if domain.match_type == "prefix":
        match_type = "prefix"
        url = f"{domain.domain_name}{domain.url_path or ''}"
    elif domain.match_type == "exact":
        match_type = "exact"
        url = f"{domain.domain_name}{domain.url_path or ''}"
    else:
        match_type = "domain"
        if domain.match_type == "regex" and domain.url_path:
            pattern = re.compile(domain.url_path)
    query = CdxQuery(url=url, match_type=match_type)
    if domain.from_date is not None or domain.to_date is not None:
        query = CdxQuery(
            url=url,
            match_type=match_type,
            from_date=domain.from_date or query.from_date,
            to_date=domain.to_date,
        )
    return query, pattern


def describe(error: BaseException) -> str:
    """A failure reason for scrape_pages.error_message."""
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def document(
    *, page_id: int, project_id: int, domain_id: int, record: CdxRecord, extracted: Extracted
) -> PageDocument:
    return PageDocument(
        page_id=page_id,
        project_id=project_id,
        domain_id=domain_id,
        original_url=record.original,
        wayback_url=store.WAYBACK_PUBLIC_URL.format(
            timestamp=record.timestamp, url=record.original
        ),
        unix_timestamp=record.timestamp,
        title=extracted.title,
        text=extracted.text[:TEXT_LIMIT_CHARS],
        meta_description=extracted.meta_description,
        author=None,
        language=extracted.language,
        word_count=extracted.word_count,
        mime_type=record.mimetype,
        status_code=int(record.statuscode) if record.statuscode.isdigit() else None,
        capture_date=store.capture_date(record.timestamp),
        scraped_at=None,
    )


class DomainScrape:
    """One run of the pipeline; `run()` does it all."""

    def __init__(
        self,
        settings: Settings,
        *,
        domain_id: int,
        scrape_session_id: int,
        backend: SearchBackend,
        send_index_batch: IndexSender,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.domain_id = domain_id
        self.session_id = scrape_session_id
        self.backend = backend
        self.policy = policy or RetryPolicy(
            base_s=settings.scrape_retry_base_s,
            max_s=settings.scrape_retry_base_s * BACKOFF_MAX_S / BACKOFF_BASE_S,
        )
        self.batched = settings.batch_indexing
        self.buffer = BatchBuffer(
            send_index_batch,
            size=settings.index_batch_size,
            interval_s=settings.index_flush_interval_s,
        )
        self.summary = ScrapeSummary(domain_id=domain_id)

    async def run(self) -> ScrapeSummary:
        async with (
            await psycopg.AsyncConnection.connect(
                self.settings.database_url, autocommit=True
            ) as conn,
            httpx.AsyncClient(
                base_url=self.settings.wayback_url,
                limits=httpx.Limits(max_connections=HTTP_POOL_CONNECTIONS),
            ) as http,
            aioredis.from_url(self.settings.redis_cache_url) as cache,
        ):
            domain = await store.load_domain(conn, domain_id=self.domain_id)
            if domain is None:
                logger.warning("domain %d no longer exists; nothing to scrape", self.domain_id)
                return self.summary
            progress = ProgressPublisher(
                cache, scrape_session_id=self.session_id, user_id=domain.user_id
            )
            await store.start_domain(
                conn, domain_id=domain.domain_id, scrape_session_id=self.session_id
            )
            await progress.publish(
                "processing_stage", {"domain_id": domain.domain_id, "stage": "cdx"}
            )
            try:
                records = await self._new_records(conn, http, domain)
            except (httpx.HTTPError, RetryableStatusError, CdxError) as error:
                # Nothing was discovered, so nothing is lost: the domain is marked failed
                # with the reason, and the task fails so that it can be run again.
                reason = describe(error)
                self.summary.session_completed = await store.fail_domain(
                    conn, domain=domain, scrape_session_id=self.session_id, reason=reason
                )
                await progress.publish("error", {"domain_id": domain.domain_id, "error": reason})
                raise
            await progress.publish(
                "cdx_discovery",
                {
                    "domain_id": domain.domain_id,
                    "new": len(records),
                    "already_stored": self.summary.already_stored,
                },
            )
            async with CaptureFetcher(
                http, streaming=self.settings.streaming_fetch, policy=self.policy
            ) as fetcher:
                for start in range(0, len(records), FETCH_BATCH_SIZE):
                    batch = records[start : start + FETCH_BATCH_SIZE]
                    await self._process_batch(conn, fetcher, domain, batch)
                    await invalidate_user(cache, domain.user_id)
                    await progress.publish("page_progress", self._progress(domain, len(records)))
                    last = start + FETCH_BATCH_SIZE >= len(records)
                    if self.settings.scrape_batch_pause_s and not last:
                        # The original's pause between batches, to spare the archive.
                        await asyncio.sleep(self.settings.scrape_batch_pause_s)
            if self.batched:
                self.buffer.flush()
            self.summary.session_completed = await store.finish_domain(
                conn, domain=domain, scrape_session_id=self.session_id
            )
            await invalidate_user(cache, domain.user_id)
            await progress.publish("session_stats", self._progress(domain, len(records)))
        return self.summary

    def _progress(self, domain: store.DomainTarget, total: int) -> dict[str, Any]:
        s = self.summary
        return {
            "domain_id": domain.domain_id,
            "total": total,
            "stored": s.stored,
            "failed": s.failed,
            "skipped": s.skipped,
            "session_completed": s.session_completed,
        }

    async def _new_records(
        self,
        conn: psycopg.AsyncConnection[Any],
        http: httpx.AsyncClient,
        domain: store.DomainTarget,
    ) -> list[CdxRecord]:
        """The domain's captures not stored yet, each with a pending work item."""
        query, pattern = cdx_query(domain)
        records = await CdxClient(http, policy=self.policy).captures(query)
        if pattern is not None:
            records = [r for r in records if pattern.search(r.original)]
        new = [
            r
            for r in records
            if not await store.capture_exists(conn, domain_id=domain.domain_id, record=r)
        ]
        self.summary.discovered = len(records)
        self.summary.already_stored = len(records) - len(new)
        if domain.max_pages is not None:
            new = new[: domain.max_pages]
        async with conn.transaction():
            await store.add_work_items(
                conn, domain_id=domain.domain_id, scrape_session_id=self.session_id, records=new
            )
            await store.record_counts(
                conn,
                domain_id=domain.domain_id,
                scrape_session_id=self.session_id,
                discovered=len(new),
                duplicates=self.summary.already_stored,
            )
        return new

    async def _fetch(
        self, fetcher: CaptureFetcher, record: CdxRecord
    ) -> Fetched | Skipped | BaseException:
        try:
            return await fetcher.fetch(record.timestamp, record.original)
        except (httpx.HTTPError, RetryableStatusError, OSError) as error:
            # Retries are spent: the capture is recorded as failed with this reason.
            return error

    async def _process_batch(
        self,
        conn: psycopg.AsyncConnection[Any],
        fetcher: CaptureFetcher,
        domain: store.DomainTarget,
        batch: Sequence[CdxRecord],
    ) -> None:
        results = await asyncio.gather(*(self._fetch(fetcher, r) for r in batch))
        outcomes: list[store.Outcome] = []
        pages: list[tuple[CdxRecord, Fetched, Extracted]] = []
        for record, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                outcomes.append(store.Outcome(record, "failed", describe(result)))
                continue
            if isinstance(result, Skipped):
                outcomes.append(store.Outcome(record, "skipped", result.reason))
                continue
            started = time.perf_counter()
            extracted = extract(result.body)
            extraction_s = time.perf_counter() - started
            if extracted.word_count <= MIN_WORDS:
                reason = f"{extracted.word_count} words of main text, not more than {MIN_WORDS}"
                outcomes.append(
                    store.Outcome(record, "skipped", reason, result.fetch_s, extraction_s)
                )
                continue
            pages.append((record, result, extracted))
            outcomes.append(store.Outcome(record, "completed", None, result.fetch_s, extraction_s))
        async with conn.transaction():
            rows = []
            for page in pages:
                rows += await store.upsert_pages(conn, domain_id=domain.domain_id, pages=[page])
            await store.finish_work_items(
                conn, scrape_session_id=self.session_id, outcomes=outcomes
            )
            failed = sum(o.status == "failed" for o in outcomes)
            skipped = sum(o.status == "skipped" for o in outcomes)
            await store.record_counts(
                conn,
                domain_id=domain.domain_id,
                scrape_session_id=self.session_id,
                scraped=len(pages),
                failed=failed + skipped,
            )
        self.summary.stored += len(pages)
        self.summary.failed += failed
        self.summary.skipped += skipped
        to_index = [
            (page_id, page)
            for (page_id, indexed), page in zip(rows, pages, strict=True)
            if not indexed
        ]
        if self.batched:
            self.buffer.add([page_id for page_id, _ in to_index])
        else:
            await self._index_one_by_one(conn, domain, to_index)

    async def _index_one_by_one(
        self,
        conn: psycopg.AsyncConnection[Any],
        domain: store.DomainTarget,
        pages: Sequence[tuple[int, tuple[CdxRecord, Fetched, Extracted]]],
    ) -> None:
        """The original: one document per call; a failure is logged and the page left."""
        for page_id, (record, _, extracted) in pages:
            doc = document(
                page_id=page_id,
                project_id=domain.project_id,
                domain_id=domain.domain_id,
                record=record,
                extracted=extracted,
            )
            try:
                await asyncio.to_thread(self.backend.index_documents, domain.project_id, [doc])
            except Exception as error:
                logger.error("indexing page %d failed: %s", page_id, error)
                self.summary.errors.append(describe(error))
                continue
            await conn.execute(
                "UPDATE pages SET indexed = true, updated_at = now() WHERE id = %s AND NOT indexed",
                (page_id,),
            )
            self.summary.indexed_inline += 1
