"""Meilisearch through the official client: one index per project, as the original had.

Index `project_{id}`, primary key `id` = `page_{page_id}`; searchable title, text,
meta_description, author; filterable domain_id, mime_type, language, status_code,
capture_date; sortable capture_date, word_count (the original's settings, less its review
fields). Dates are stored as Unix seconds: Meilisearch filters and sorts numbers, not
date strings.

A search over several projects is one `/multi-search` call (one query per project index,
each asking for the first offset+limit hits), merged here by the requested order and
paginated; totals and facet counts are summed. Only plain multi-search is used, not
federation, so the contract the adapter relies on is small and old (Meilisearch ≥ 1.1).

The client is synchronous (requests): the API runs it in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio.to_thread
import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchError

from app.db.pool import Conn
from app.models import SearchHit, SearchQuery, SearchResponse
from app.search.base import FACETS, TEXT_LIMIT_CHARS, PageDocument, date_bounds, empty_facets

INDEX_SETTINGS: dict[str, Any] = {
    "searchableAttributes": ["title", "text", "meta_description", "author"],
    "filterableAttributes": ["domain_id", "mime_type", "language", "status_code", "capture_date"],
    "sortableAttributes": ["capture_date", "word_count"],
}
SORT = {
    "relevance": None,
    "date_desc": ["capture_date:desc"],
    "date_asc": ["capture_date:asc"],
    "words_desc": ["word_count:desc"],
    "words_asc": ["word_count:asc"],
}
TASK_TIMEOUT_MS = 60_000
REQUEST_TIMEOUT_S = 10
RETRIEVED = [
    "page_id", "project_id", "domain_id", "title", "original_url", "wayback_url",
    "unix_timestamp", "capture_date", "mime_type", "language", "word_count", "status_code",
]  # fmt: skip


def index_uid(project_id: int) -> str:
    return f"project_{project_id}"


def _unix(value: dt.datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def to_document(doc: PageDocument) -> dict[str, Any]:
    text = doc["text"]
    return {
        "id": f"page_{doc['page_id']}",
        **{key: value for key, value in doc.items() if key != "text"},
        "text": text[:TEXT_LIMIT_CHARS] if text else text,
        "capture_date": _unix(doc["capture_date"]),
        "scraped_at": _unix(doc["scraped_at"]),
    }


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(query: SearchQuery) -> list[str]:
    """Filter expressions, ANDed by Meilisearch when given as an array."""
    filters: list[str] = []
    if query.domain is not None:
        filters.append(f"domain_id = {query.domain}")
    if query.language is not None:
        filters.append(f"language = {_quote(query.language)}")
    if query.mime_type is not None:
        filters.append(f"mime_type = {_quote(query.mime_type)}")
    start, end = date_bounds(query)
    if start is not None:
        filters.append(f"capture_date >= {_unix(start)}")
    if end is not None:
        filters.append(f"capture_date < {_unix(end)}")
    return filters


def _merge_key(sort_by: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The order of merged hits: the same order each index applied, then page id."""

    def missing_last(value: Any, descending: bool) -> tuple[int, Any]:
        if value is None:
            return (1, 0)
        return (0, -value if descending else value)

    field, descending = {
        "relevance": ("_rankingScore", True),
        "date_desc": ("capture_date", True),
        "date_asc": ("capture_date", False),
        "words_desc": ("word_count", True),
        "words_asc": ("word_count", False),
    }[sort_by]
    return lambda hit: (*missing_last(hit.get(field), descending), hit["page_id"])


def _to_hit(raw: dict[str, Any]) -> SearchHit:
    values = {key: raw.get(key) for key in RETRIEVED}
    stamp = values["capture_date"]
    values["capture_date"] = dt.datetime.fromtimestamp(stamp, dt.UTC) if stamp else None
    return SearchHit.model_validate(values)


class MeiliSearch:
    name = "meilisearch"

    def __init__(self, url: str, api_key: str | None) -> None:
        self.client = meilisearch.Client(url, api_key, timeout=REQUEST_TIMEOUT_S)
        self._configured: set[str] = set()

    def ensure_index(self, project_id: int) -> None:
        """Create the index with its settings once per process (both are idempotent tasks)."""
        uid = index_uid(project_id)
        if uid in self._configured:
            return
        try:
            self.client.get_index(uid)
        except MeilisearchApiError as error:
            if error.code != "index_not_found":
                raise
            self.client.create_index(uid, {"primaryKey": "id"})
        # Tasks on one index run in order, so documents added next see these settings.
        self.client.index(uid).update_settings(dict(INDEX_SETTINGS))
        self._configured.add(uid)

    def index_documents(self, project_id: int, docs: Sequence[PageDocument]) -> None:
        """Add or replace these documents and wait until Meilisearch has indexed them.

        Waiting is what lets the caller mark the pages `indexed` only once it is true.
        """
        if docs:
            self._wait([self._enqueue(project_id, docs)])

    def index_batches(self, batches: Mapping[int, Sequence[PageDocument]]) -> None:
        """Enqueue every batch as one task without waiting between them (Meilisearch may
        index consecutive additions together), then wait for them all."""
        self._wait([self._enqueue(p, docs) for p, docs in batches.items() if docs])

    def _enqueue(self, project_id: int, docs: Sequence[PageDocument]) -> int:
        self.ensure_index(project_id)
        task = self.client.index(index_uid(project_id)).add_documents(
            [to_document(doc) for doc in docs], primary_key="id"
        )
        return int(task.task_uid)

    def _wait(self, task_uids: Sequence[int]) -> None:
        for uid in task_uids:
            done = self.client.wait_for_task(uid, timeout_in_ms=TASK_TIMEOUT_MS)
            if done.status != "succeeded":
                raise MeilisearchError(f"indexing task {uid} {done.status}: {done.error}")

    def delete_project(self, project_id: int) -> None:
        self.client.delete_index(index_uid(project_id))
        self._configured.discard(index_uid(project_id))

    async def search(self, *, conn: Conn, query: SearchQuery) -> SearchResponse:
        return await anyio.to_thread.run_sync(self.search_sync, query)

    def search_sync(self, query: SearchQuery) -> SearchResponse:
        uids = self._existing([index_uid(p) for p in query.project_ids])
        if not uids:
            return SearchResponse(
                query=query.q, total=0, page=query.page, per_page=query.per_page,
                hits=[], facets=empty_facets(),
            )  # fmt: skip
        common: dict[str, Any] = {
            "q": query.q or "",
            "offset": 0,
            "limit": query.offset + query.per_page,
            "facets": list(FACETS),
            "showRankingScore": True,
            "attributesToRetrieve": RETRIEVED,
        }
        if filters := build_filter(query):
            common["filter"] = filters
        if sort := SORT[query.sort_by]:
            common["sort"] = sort
        answer = self.client.multi_search([{"indexUid": uid, **common} for uid in uids])
        results = answer["results"]
        hits = sorted(
            (hit for result in results for hit in result["hits"]), key=_merge_key(query.sort_by)
        )
        facets = empty_facets()
        for result in results:
            for facet, counts in (result.get("facetDistribution") or {}).items():
                for value, n in counts.items():
                    facets[facet][value] = facets[facet].get(value, 0) + n
        return SearchResponse(
            query=query.q,
            total=sum(result.get("estimatedTotalHits", 0) for result in results),
            page=query.page,
            per_page=query.per_page,
            hits=[_to_hit(hit) for hit in hits[query.offset : query.offset + query.per_page]],
            facets=facets,
        )

    async def ready(self) -> bool:
        try:
            health = await anyio.to_thread.run_sync(self.client.health)
        except MeilisearchError:
            return False
        except OSError:
            return False
        return health.get("status") == "available"

    def close(self) -> None:
        """The client keeps no connection open between requests."""

    def _existing(self, uids: list[str]) -> list[str]:
        """The wanted indexes that exist: projects without pages yet have none."""
        wanted = set(uids)
        found: list[str] = []
        offset = 0
        while True:
            page = self.client.get_indexes({"offset": offset, "limit": 1000})
            found += [index.uid for index in page["results"] if index.uid in wanted]
            offset += len(page["results"])
            total = page.get("total", 0)
            if not page["results"] or not isinstance(total, int) or offset >= total:
                break
        return sorted(found)
