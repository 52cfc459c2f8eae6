"""Indexing stored pages into the search backend, with `pages.indexed` as the truth.

A page is written with indexed = false and flipped to true only after the backend took
it, so whatever dies in between (a failed batch, a lost task, a killed worker) leaves
pages that the reconciler finds and indexes. Backends key documents by page id, so
indexing a page again replaces its document: never a second copy.

`batch_indexing` off indexes one document per call, as the original did, and like it only
logs a failure. On, the scrape task buffers page ids (BatchBuffer) and hands each full or
stale batch to the indexing task; the reconciler covers the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from app.core.config import Settings
from app.search.base import TEXT_LIMIT_CHARS, PageDocument, SearchBackend

# The reconciler leaves alone pages younger than this: their batch is probably in flight.
RECONCILE_GRACE_S = 30.0
RECONCILE_BATCH_SIZE = 500

logger = logging.getLogger(__name__)

DOCUMENTS_SQL = """
SELECT p.id AS page_id, d.project_id, p.domain_id, p.original_url, p.wayback_url,
       p.unix_timestamp, coalesce(p.extracted_title, p.title) AS title,
       left(p.extracted_text, %(text_limit)s) AS text, p.meta_description, p.author,
       p.language, p.word_count, p.mime_type, p.status_code, p.capture_date, p.scraped_at
FROM pages p JOIN domains d ON d.id = p.domain_id
WHERE p.id = ANY(%(ids)s) AND NOT p.indexed
ORDER BY p.id
"""


def search_backend(settings: Settings) -> SearchBackend:
    """The backend the settings choose (one per worker process: it holds a connection)."""
    if settings.search_backend == "meilisearch":
        from app.search.meili import MeiliSearch

        assert settings.meili_url is not None  # Settings rejects meilisearch without it
        return MeiliSearch(settings.meili_url, settings.meili_master_key)
    from app.search.postgres import PostgresSearch

    return PostgresSearch(settings.database_url)


def load_documents(
    conn: psycopg.Connection[Any], page_ids: Sequence[int]
) -> dict[int, list[PageDocument]]:
    """The not-yet-indexed pages among `page_ids`, as documents grouped by project."""
    by_project: dict[int, list[PageDocument]] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(DOCUMENTS_SQL, {"ids": list(page_ids), "text_limit": TEXT_LIMIT_CHARS})
        for row in cur:
            by_project.setdefault(row["project_id"], []).append(PageDocument(**row))  # type: ignore[typeddict-item]
    return by_project


def mark_indexed(conn: psycopg.Connection[Any], page_ids: Sequence[int]) -> None:
    conn.execute(
        "UPDATE pages SET indexed = true, updated_at = now() WHERE id = ANY(%s) AND NOT indexed",
        (list(page_ids),),
    )


def index_pages(
    conn: psycopg.Connection[Any], backend: SearchBackend, page_ids: Sequence[int]
) -> int:
    """Index the given pages not indexed yet; a backend failure propagates, flags unchanged."""
    batches = load_documents(conn, page_ids)
    backend.index_batches(batches)
    ids = [doc["page_id"] for docs in batches.values() for doc in docs]
    mark_indexed(conn, ids)
    return len(ids)


def unindexed_page_ids(
    conn: psycopg.Connection[Any],
    *,
    older_than_s: float,
    limit: int,
    after_id: int = 0,
    project_id: int | None = None,
) -> list[int]:
    rows = conn.execute(
        "SELECT p.id FROM pages p JOIN domains d ON d.id = p.domain_id"
        " WHERE NOT p.indexed AND p.processed AND p.id > %s"
        " AND p.updated_at < now() - make_interval(secs => %s)"
        " AND (%s::bigint IS NULL OR d.project_id = %s::bigint)"
        " ORDER BY p.id LIMIT %s",
        (after_id, older_than_s, project_id, project_id, limit),
    ).fetchall()
    return [row[0] for row in rows]


def reconcile(
    conn: psycopg.Connection[Any],
    backend: SearchBackend,
    *,
    older_than_s: float = RECONCILE_GRACE_S,
    batch_size: int = RECONCILE_BATCH_SIZE,
    project_id: int | None = None,
) -> int:
    """Index every stored page the backend has not taken yet; the number indexed."""
    total = 0
    after_id = 0
    while ids := unindexed_page_ids(
        conn, older_than_s=older_than_s, limit=batch_size, after_id=after_id,
        project_id=project_id,
    ):  # fmt: skip
        after_id = ids[-1]
        try:
            total += index_pages(conn, backend, ids)
        except Exception:
            # Left unindexed for the next round; the other batches may still succeed.
            logger.exception("reconciler: a batch of %d pages failed", len(ids))
    if total:
        logger.info("reconciler indexed %d pages", total)
    return total


class BatchBuffer:
    """Page ids waiting for the indexing task: flushed at `size` or after `interval_s`.

    Losing the buffer loses nothing: the ids are pages with indexed = false.
    """

    def __init__(
        self,
        flush: Callable[[list[int]], None],
        *,
        size: int,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._flush = flush
        self._size = size
        self._interval_s = interval_s
        self._clock = clock
        self._ids: list[int] = []
        self._oldest: float | None = None

    def add(self, page_ids: Sequence[int]) -> None:
        """Buffer `page_ids` (possibly none: the flush timer is checked at every call)."""
        if page_ids and not self._ids:
            self._oldest = self._clock()
        self._ids.extend(page_ids)
        while len(self._ids) >= self._size:
            batch, self._ids = self._ids[: self._size], self._ids[self._size :]
            self._send(batch)
        if not self._ids:
            self._oldest = None
        elif self._oldest is not None and self._clock() - self._oldest >= self._interval_s:
            self.flush()

    def flush(self) -> None:
        if self._ids:
            self._send(self._ids)
        self._ids = []
        self._oldest = None

    def _send(self, ids: list[int]) -> None:
        try:
            self._flush(list(ids))
        except Exception:
            # The broker may be down: the pages stay unindexed and the reconciler takes them.
            logger.exception("could not hand %d pages to the indexer", len(ids))
