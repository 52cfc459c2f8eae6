"""The one interface of the search backends: indexing for the pipeline, search for the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol, TypedDict

from app.db.pool import Conn
from app.models import SearchQuery, SearchResponse

FACETS = ("domain_id", "language", "mime_type")
TEXT_LIMIT_CHARS = 50_000  # the original cut page text at 50k before indexing


class PageDocument(TypedDict):
    """A page as the pipeline hands it to a backend (the original's Meilisearch document)."""

    page_id: int
    project_id: int
    domain_id: int
    original_url: str
    wayback_url: str | None
    unix_timestamp: str
    title: str | None
    text: str | None
    meta_description: str | None
    author: str | None
    language: str | None
    word_count: int | None
    mime_type: str | None
    status_code: int | None
    capture_date: dt.datetime | None
    scraped_at: dt.datetime | None


class SearchBackend(Protocol):
    name: str

    def index_documents(self, project_id: int, docs: Sequence[PageDocument]) -> None:
        """Make these pages searchable and wait until they are (sync: the pipeline's
        workers call it; the original called it with one document at a time)."""
        ...

    def index_batches(self, batches: Mapping[int, Sequence[PageDocument]]) -> None:
        """Make several projects' batches searchable, each sent as one write without
        waiting for the one before; returns once all are searchable."""
        ...

    def delete_project(self, project_id: int) -> None: ...

    async def search(self, *, conn: Conn, query: SearchQuery) -> SearchResponse:
        """Pages of `query.project_ids` only: the caller has checked they are the user's."""
        ...

    async def ready(self) -> bool: ...

    def close(self) -> None: ...


def empty_facets() -> dict[str, dict[str, int]]:
    return {facet: {} for facet in FACETS}


def date_bounds(query: SearchQuery) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start of date_from, start of the day after date_to) in UTC."""
    start = dt.datetime.combine(query.date_from, dt.time(), dt.UTC) if query.date_from else None
    end = (
        dt.datetime.combine(query.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        if query.date_to
        else None
    )
    return start, end
