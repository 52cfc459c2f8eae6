"""Fixtures and factories shared by the scraper and worker tests.

Imported by tests/scraper/conftest.py and tests/worker/conftest.py, so that both see the
same stand-in, database and settings fixtures.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from app.core.config import Settings
from app.db.migrate import apply_migrations
from app.scraper.indexing import index_pages
from app.scraper.pipeline import DomainScrape, ScrapeSummary
from app.scraper.retry import RetryPolicy
from app.search.postgres import PostgresSearch
from harness.runtime.local.redis import RedisServer
from harness.upstream import CorpusConfig, UpstreamServer
from harness.upstream.app import CdxSettings

# Captures from here on, the original's default window (app.scraper.cdx.DEFAULT_FROM_DATE).
FROM_TS = "20200101"
# A corpus small enough for fast tests, with several CDX pages per domain and at least
# one capture over 10 MB (huge_rate forces a few).
SMALL_CORPUS = CorpusConfig(
    seed=8, domains=3, pages_per_domain=12, captures_per_page=3, huge_rate=0.02
)
MAX_CAPTURE_BYTES = 10 * 1024 * 1024
# Retries in tests wait milliseconds, not seconds (a Retry-After is still honoured).
FAST_RETRIES = RetryPolicy(base_s=0.01, max_s=0.05)
CDX_BLOCK_LINES = 20
SWITCHES_OFF = {"celery_tuning": False, "batch_indexing": False, "streaming_fetch": False}
SWITCHES_ON = {"celery_tuning": True, "batch_indexing": True, "streaming_fetch": True}


@dataclass(frozen=True)
class Project:
    user_id: int
    project_id: int
    domain_ids: list[int]


def create_project(dsn: str, domain_names: Sequence[str]) -> Project:
    """A user with one project scraping `domain_names` (matchType domain, default window)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        user_id = conn.execute(
            "INSERT INTO users (email, hashed_password) VALUES (%s, 'x') RETURNING id",
            (f"{secrets.token_hex(4)}@example.org",),
        ).fetchone()[0]  # type: ignore[index]
        project_id = conn.execute(
            "INSERT INTO projects (user_id, name) VALUES (%s, 'scrape test') RETURNING id",
            (user_id,),
        ).fetchone()[0]  # type: ignore[index]
        domain_ids = [
            conn.execute(
                "INSERT INTO domains (project_id, domain_name, match_type) VALUES (%s, %s,"
                " 'domain') RETURNING id",
                (project_id, name),
            ).fetchone()[0]  # type: ignore[index]
            for name in domain_names
        ]
    return Project(user_id, project_id, domain_ids)


def create_session(dsn: str, project_id: int) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO scrape_sessions (project_id) VALUES (%s) RETURNING id", (project_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def stored_captures(dsn: str, project_id: int) -> list[tuple[str, str, bool]]:
    """(original_url, unix_timestamp, indexed) of every stored page, duplicates included."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT p.original_url, p.unix_timestamp, p.indexed FROM pages p"
            " JOIN domains d ON d.id = p.domain_id WHERE d.project_id = %s",
            (project_id,),
        ).fetchall()
    return [(url, ts, indexed) for url, ts, indexed in rows]


def work_items(dsn: str, session_id: int) -> list[dict[str, Any]]:
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT original_url, unix_timestamp, status, error_message FROM scrape_pages"
            " WHERE scrape_session_id = %s",
            (session_id,),
        )
        return cur.fetchall()


def scrape_in_process(
    settings: Settings,
    project: Project,
    session_id: int,
    policy: RetryPolicy = FAST_RETRIES,
    backend: PostgresSearch | None = None,
) -> list[ScrapeSummary]:
    """Every domain of `project` through the pipeline in this process; index batches are
    indexed at once, as the indexing task would."""
    backend = backend or PostgresSearch(settings.database_url)
    summaries = []
    with psycopg.connect(settings.database_url, autocommit=True) as conn:

        def index_now(page_ids: list[int]) -> None:
            index_pages(conn, backend, page_ids)

        for domain_id in project.domain_ids:
            scrape = DomainScrape(
                settings,
                domain_id=domain_id,
                scrape_session_id=session_id,
                backend=backend,
                send_index_batch=index_now,
                policy=policy,
            )
            summaries.append(asyncio.run(scrape.run()))
    backend.close()
    return summaries


@pytest.fixture(scope="session")
def standin() -> Iterator[UpstreamServer]:
    """The Wayback stand-in on loopback; tests that change its conditions restore them."""
    with UpstreamServer(SMALL_CORPUS, cdx=CdxSettings(block_lines=CDX_BLOCK_LINES)) as server:
        yield server


@pytest.fixture
def migrated_dsn(fresh_database: Callable[[], str]) -> str:
    dsn = fresh_database()
    apply_migrations(dsn)
    return dsn


@pytest.fixture
def make_settings(
    migrated_dsn: str, redis_server: RedisServer, redis_url: str, standin: UpstreamServer
) -> Callable[..., Settings]:
    """Settings for this test's database, Redis and stand-in, with switches as given."""

    def make(**values: Any) -> Settings:
        return Settings(
            database_url=migrated_dsn,
            redis_cache_url=redis_server.url(0),
            redis_broker_url=redis_server.url(1),
            jwt_secret=secrets.token_urlsafe(32),
            search_backend="postgres",
            # pacing tests set their own pause and may bring their own stand-in
            **{"wayback_url": standin.base_url, "scrape_batch_pause_s": 0.0, **values},
        )

    return make
