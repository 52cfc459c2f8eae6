"""Search backends, chosen by `Settings.search_backend`."""

from __future__ import annotations

from app.core.config import Settings
from app.search.base import PageDocument, SearchBackend
from app.search.meili import MeiliSearch
from app.search.postgres import PostgresSearch

__all__ = ["PageDocument", "SearchBackend", "make_backend"]


def make_backend(settings: Settings) -> SearchBackend:
    if settings.search_backend == "meilisearch":
        assert settings.meili_url is not None  # the settings validator guarantees it
        return MeiliSearch(settings.meili_url, settings.meili_master_key)
    return PostgresSearch(settings.database_url)
