"""PostgreSQL full-text search: `pages.search_vector` and its GIN index.

Matching uses `websearch_to_tsquery('simple', q)` (quotes, OR and -exclusion as users type
them) and ranks with `ts_rank`. A page is searchable once `indexed` is true, the same
moment it would reach Meilisearch: `index_documents` computes and writes the tsvector and
sets the flag in one statement, committed before it returns (migration 0003), so one call
per document pays a statement and a commit per page. One statement returns the total,
the page of hits and the facet counts.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from app.db.pool import Conn
from app.models import SearchHit, SearchQuery, SearchResponse
from app.search.base import FACETS, PageDocument, date_bounds, empty_facets

TS_CONFIG = "simple"
ORDER_BY = {
    "relevance": "score DESC, capture_date DESC NULLS LAST, page_id",
    "date_desc": "capture_date DESC NULLS LAST, page_id",
    "date_asc": "capture_date ASC NULLS LAST, page_id",
    "words_desc": "word_count DESC NULLS LAST, page_id",
    "words_asc": "word_count ASC NULLS LAST, page_id",
}
HIT_COLUMNS = ", ".join(SearchHit.model_fields)
INDEX_SQL = (
    "UPDATE pages SET search_vector = pages_search_vector(title, meta_description,"
    " extracted_text), indexed = true, updated_at = now() WHERE id = ANY(%s) AND NOT indexed"
)

SEARCH_SQL = f"""
WITH matched AS (
    SELECT pages.id AS page_id, domains.project_id, pages.domain_id, pages.title,
           pages.original_url, pages.wayback_url, pages.unix_timestamp, pages.capture_date,
           pages.mime_type, pages.language, pages.word_count, pages.status_code,
           {{score}} AS score
    FROM pages JOIN domains ON domains.id = pages.domain_id
    WHERE domains.project_id = ANY(%(project_ids)s) AND pages.indexed {{conditions}}
),
hits AS (
    SELECT {HIT_COLUMNS} FROM matched ORDER BY {{order}} OFFSET %(offset)s LIMIT %(limit)s
)
SELECT
    (SELECT count(*) FROM matched) AS total,
    (SELECT coalesce(json_agg(hits), '[]'::json) FROM hits) AS hits,
    {{facets}}
"""
FACET_SQL = (
    "(SELECT coalesce(json_object_agg(value, n), '{{}}'::json) FROM"
    " (SELECT {facet}::text AS value, count(*) AS n FROM matched"
    " WHERE {facet} IS NOT NULL GROUP BY 1) f) AS facet_{facet}"
)


def build_search(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """The statement and parameters for one search (pure, so it is testable alone)."""
    conditions: list[str] = []
    start, end = date_bounds(query)
    params: dict[str, Any] = {
        "project_ids": query.project_ids,
        "offset": query.offset,
        "limit": query.per_page,
        "q": query.q,
        "domain": query.domain,
        "language": query.language,
        "mime_type": query.mime_type,
        "start": start,
        "end": end,
    }
    text = bool(query.q and query.q.strip())
    if text:
        conditions.append(f"pages.search_vector @@ websearch_to_tsquery('{TS_CONFIG}', %(q)s)")
        score = f"ts_rank(pages.search_vector, websearch_to_tsquery('{TS_CONFIG}', %(q)s))"
    else:
        score = "0::real"
    for name, column in (
        ("domain", "pages.domain_id"),
        ("language", "pages.language"),
        ("mime_type", "pages.mime_type"),
    ):
        if params[name] is not None:
            conditions.append(f"{column} = %({name})s")
    if start is not None:
        conditions.append("pages.capture_date >= %(start)s")
    if end is not None:
        conditions.append("pages.capture_date < %(end)s")
    order = ORDER_BY[query.sort_by if text or query.sort_by != "relevance" else "date_desc"]
    statement = SEARCH_SQL.format(
        score=score,
        conditions="".join(f" AND {c}" for c in conditions),
        order=order,
        facets=",\n    ".join(FACET_SQL.format(facet=facet) for facet in FACETS),
    )
    return statement, params


class PostgresSearch:
    name = "postgres"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def index_documents(self, project_id: int, docs: Sequence[PageDocument]) -> None:
        ids = [doc["page_id"] for doc in docs]
        if not ids:
            return
        with self._lock:
            conn = self._connection()
            try:
                conn.execute(INDEX_SQL, (ids,))
            except psycopg.OperationalError:
                self._reset()
                raise

    def index_batches(self, batches: Mapping[int, Sequence[PageDocument]]) -> None:
        """One statement (and commit) per batch."""
        for project_id, docs in batches.items():
            self.index_documents(project_id, docs)

    def delete_project(self, project_id: int) -> None:
        """Nothing to do: a project's pages leave the index with its rows (ON DELETE)."""

    async def search(self, *, conn: Conn, query: SearchQuery) -> SearchResponse:
        if not query.project_ids:
            return SearchResponse(
                query=query.q, total=0, page=query.page, per_page=query.per_page,
                hits=[], facets=empty_facets(),
            )  # fmt: skip
        statement, params = build_search(query)
        row = await conn.fetch_one(statement, params)
        assert row is not None
        return SearchResponse(
            query=query.q,
            total=row["total"],
            page=query.page,
            per_page=query.per_page,
            hits=[SearchHit.model_validate(hit) for hit in row["hits"]],
            facets={facet: row[f"facet_{facet}"] for facet in FACETS},
        )

    async def ready(self) -> bool:
        return True  # the database's own readiness is checked by /health

    def close(self) -> None:
        self._reset()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True)
        return self._conn

    def _reset(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
