"""The scraper's database access: domains, work items, idempotent page upserts, counters.

Keyword-only async functions over one psycopg connection. Every write of a page goes
through INSERT ... ON CONFLICT on pages_capture_key (domain_id, original_url,
unix_timestamp), so a redelivered task or a re-scrape never adds a second row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from app.scraper.cdx import CdxRecord
from app.scraper.extract import Extracted
from app.scraper.fetch import Fetched

WAYBACK_PUBLIC_URL = "https://web.archive.org/web/{timestamp}/{url}"
# The search document's text is cut here, as the original cut it for Meilisearch.
INDEXED_TEXT_MAX_CHARS = 50_000


@dataclass(frozen=True, slots=True)
class DomainTarget:
    """What a scrape task needs to know about its domain."""

    domain_id: int
    project_id: int
    user_id: int
    domain_name: str
    match_type: str
    url_path: str | None
    from_date: date | None
    to_date: date | None
    max_pages: int | None


@dataclass(frozen=True, slots=True)
class StoredPage:
    """A page ready to be indexed, as the search backends expect it."""

    page_id: int
    project_id: int
    document: dict[str, Any]


async def load_domain(conn: AsyncConnection[Any], *, domain_id: int) -> DomainTarget | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT d.id, d.project_id, p.user_id, d.domain_name, d.match_type, d.url_path,"
            " d.from_date, d.to_date, d.max_pages"
            " FROM domains d JOIN projects p ON p.id = d.project_id WHERE d.id = %s",
            (domain_id,),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return DomainTarget(
        domain_id=row["id"],
        project_id=row["project_id"],
        user_id=row["user_id"],
        domain_name=row["domain_name"],
        match_type=row["match_type"],
        url_path=row["url_path"],
        from_date=row["from_date"],
        to_date=row["to_date"],
        max_pages=row["max_pages"],
    )


async def capture_exists(conn: AsyncConnection[Any], *, domain_id: int, record: CdxRecord) -> bool:
    """The original's check: one SELECT per CDX record."""
    cur = await conn.execute(
        "SELECT 1 FROM pages WHERE domain_id = %s AND original_url = %s AND unix_timestamp = %s",
        (domain_id, record.original, record.timestamp),
    )
    return await cur.fetchone() is not None


async def add_work_items(
    conn: AsyncConnection[Any],
    *,
    domain_id: int,
    scrape_session_id: int,
    records: Sequence[CdxRecord],
) -> None:
    """One pending scrape_pages row per capture; a redelivered task adds none."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO scrape_pages (domain_id, scrape_session_id, original_url, wayback_url,"
            " unix_timestamp, mime_type, status_code, content_length, digest_hash)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT ON CONSTRAINT scrape_pages_work_key DO NOTHING",
            [
                (
                    domain_id,
                    scrape_session_id,
                    r.original,
                    WAYBACK_PUBLIC_URL.format(timestamp=r.timestamp, url=r.original),
                    r.timestamp,
                    r.mimetype,
                    int(r.statuscode) if r.statuscode.isdigit() else None,
                    r.length,
                    r.digest,
                )
                for r in records
            ],
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one capture: its work item's final status and why."""

    record: CdxRecord
    status: str  # completed | failed | skipped
    error: str | None = None
    fetch_s: float | None = None
    extraction_s: float | None = None


async def finish_work_items(
    conn: AsyncConnection[Any], *, scrape_session_id: int, outcomes: Sequence[Outcome]
) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "UPDATE scrape_pages SET status = %s, error_message = %s, fetch_time = %s,"
            " extraction_time = %s, total_time = %s, updated_at = now(),"
            " completed_at = now()"
            " WHERE scrape_session_id = %s AND original_url = %s AND unix_timestamp = %s",
            [
                (
                    o.status,
                    o.error,
                    o.fetch_s,
                    o.extraction_s,
                    (o.fetch_s or 0.0) + (o.extraction_s or 0.0),
                    scrape_session_id,
                    o.record.original,
                    o.record.timestamp,
                )
                for o in outcomes
            ],
        )


def capture_date(timestamp: str) -> datetime:
    return datetime.strptime(timestamp.ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


UPSERT_PAGE = (
    "INSERT INTO pages (domain_id, original_url, wayback_url, title, unix_timestamp,"
    " mime_type, status_code, extracted_title, extracted_text, meta_description, language,"
    " word_count, character_count, content_length, capture_date, content_hash, processed,"
    " indexed, scraped_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true, false,"
    " now())"
    " ON CONFLICT ON CONSTRAINT pages_capture_key DO UPDATE SET"
    " title = EXCLUDED.title, extracted_title = EXCLUDED.extracted_title,"
    " extracted_text = EXCLUDED.extracted_text,"
    " meta_description = EXCLUDED.meta_description, language = EXCLUDED.language,"
    " word_count = EXCLUDED.word_count, character_count = EXCLUDED.character_count,"
    " content_length = EXCLUDED.content_length, content_hash = EXCLUDED.content_hash,"
    " processed = true, scraped_at = EXCLUDED.scraped_at, updated_at = now(),"
    # Unchanged content stays indexed; changed content must be indexed again.
    " indexed = pages.indexed AND pages.content_hash IS NOT DISTINCT FROM"
    " EXCLUDED.content_hash"
    " RETURNING id, indexed"
)


def _page_params(
    domain_id: int, record: CdxRecord, fetched: Fetched, extracted: Extracted
) -> tuple[Any, ...]:
    return (
        domain_id,
        record.original,
        WAYBACK_PUBLIC_URL.format(timestamp=record.timestamp, url=record.original),
        extracted.title,
        record.timestamp,
        record.mimetype,
        int(record.statuscode) if record.statuscode.isdigit() else None,
        extracted.title,
        extracted.text,
        extracted.meta_description,
        extracted.language,
        extracted.word_count,
        extracted.character_count,
        fetched.size_bytes,
        capture_date(record.timestamp),
        fetched.content_hash,
    )


async def upsert_pages(
    conn: AsyncConnection[Any],
    *,
    domain_id: int,
    pages: Sequence[tuple[CdxRecord, Fetched, Extracted]],
) -> list[tuple[int, bool]]:
    """Insert or refresh pages; (page id, still indexed) for each, in order."""
    results: list[tuple[int, bool]] = []
    if not pages:
        return results
    async with conn.cursor() as cur:
        await cur.executemany(
            UPSERT_PAGE,
            [_page_params(domain_id, *page) for page in pages],
            returning=True,
        )
        while True:
            row = await cur.fetchone()
            if row is not None:
                results.append((row[0], row[1]))
            if not cur.nextset():
                break
    return results


async def record_counts(
    conn: AsyncConnection[Any],
    *,
    domain_id: int,
    scrape_session_id: int,
    discovered: int = 0,
    scraped: int = 0,
    failed: int = 0,
    duplicates: int = 0,
) -> None:
    """Add to the domain's and the session's counters (skipped captures count as failed)."""
    await conn.execute(
        "UPDATE domains SET total_pages = total_pages + %s, scraped_pages = scraped_pages + %s,"
        " failed_pages = failed_pages + %s, duplicate_pages = duplicate_pages + %s,"
        " updated_at = now() WHERE id = %s",
        (discovered, scraped, failed, duplicates, domain_id),
    )
    await conn.execute(
        "UPDATE scrape_sessions SET total_urls = total_urls + %s,"
        " completed_urls = completed_urls + %s, failed_urls = failed_urls + %s"
        " WHERE id = %s",
        (discovered, scraped + duplicates, failed, scrape_session_id),
    )


async def start_domain(
    conn: AsyncConnection[Any], *, domain_id: int, scrape_session_id: int
) -> None:
    """The session is running (from its first domain on) and so is this domain."""
    await conn.execute(
        "UPDATE scrape_sessions SET status = 'running',"
        " started_at = coalesce(started_at, now()) WHERE id = %s AND status = 'pending'",
        (scrape_session_id,),
    )
    await conn.execute(
        "UPDATE domains SET status = 'active', updated_at = now() WHERE id = %s", (domain_id,)
    )


async def fail_domain(
    conn: AsyncConnection[Any], *, domain: DomainTarget, scrape_session_id: int, reason: str
) -> bool:
    """Record why a domain could not be scraped (its CDX query failed for good)."""
    await conn.execute(
        "UPDATE domains SET status = 'error', updated_at = now() WHERE id = %s",
        (domain.domain_id,),
    )
    await conn.execute(
        "UPDATE scrape_sessions SET error_message = %s WHERE id = %s",
        (f"domain {domain.domain_name}: {reason}", scrape_session_id),
    )
    return await _complete_session(conn, domain=domain, scrape_session_id=scrape_session_id)


async def finish_domain(
    conn: AsyncConnection[Any], *, domain: DomainTarget, scrape_session_id: int
) -> bool:
    """Mark the domain scraped; True when this completed the session (see below)."""
    await conn.execute(
        "UPDATE domains SET last_scraped = now(), status = 'completed',"
        " success_rate = CASE WHEN total_pages > 0"
        "   THEN scraped_pages::float8 / total_pages END WHERE id = %s",
        (domain.domain_id,),
    )
    return await _complete_session(conn, domain=domain, scrape_session_id=scrape_session_id)


async def _complete_session(
    conn: AsyncConnection[Any], *, domain: DomainTarget, scrape_session_id: int
) -> bool:
    """End the session once every active domain of its project is scraped or failed:
    completed, or failed when a domain failed. True when this call ended it."""
    async with conn.transaction():
        # The row lock serialises domains finishing at once, so one of them sees all done.
        await conn.execute(
            "SELECT 1 FROM scrape_sessions WHERE id = %s FOR UPDATE", (scrape_session_id,)
        )
        cur = await conn.execute(
            "UPDATE scrape_sessions s SET completed_at = now(), status = CASE WHEN EXISTS ("
            "   SELECT 1 FROM domains d WHERE d.project_id = %(project)s AND d.active"
            "   AND d.status = 'error') THEN 'failed' ELSE 'completed' END"
            " WHERE s.id = %(session)s AND s.status = 'running' AND NOT EXISTS ("
            "   SELECT 1 FROM domains d WHERE d.project_id = %(project)s AND d.active"
            "   AND d.status <> 'error'"
            "   AND (d.last_scraped IS NULL OR d.last_scraped < s.started_at))",
            {"session": scrape_session_id, "project": domain.project_id},
        )
        return cur.rowcount == 1
