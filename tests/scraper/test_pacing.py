"""The original's pacing on both sides: batches of 10 with the pause between them, and its
indexing: one call (a tsvector written and committed) per document before, one write per
batch after."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
import pytest

from app.core.config import Settings
from app.scraper import store
from app.scraper.cdx import CdxRecord
from app.scraper.pipeline import FETCH_BATCH_SIZE
from app.search.base import PageDocument
from app.search.postgres import PostgresSearch
from harness.runtime.chrono import pacing_env
from harness.upstream import CorpusConfig, UpstreamServer
from harness.upstream.profiles import FAST, WAYBACK
from tests.scraper.support import (
    SWITCHES_OFF,
    SWITCHES_ON,
    create_project,
    create_session,
    scrape_in_process,
)

# Long enough that a batch's own work, on a busy machine, stays well below it.
PAUSE_S = 1.0
# A batch's work items (stored, skipped or failed) are finished in one transaction, so
# they share its start time.
BATCHES_SQL = """
SELECT extract(epoch FROM completed_at) AS moment, count(*)
FROM scrape_pages WHERE scrape_session_id = %s GROUP BY 1 ORDER BY 1
"""


def batches(dsn: str, session_id: int) -> list[tuple[float, int]]:
    with psycopg.connect(dsn) as conn:
        return [(float(m), int(n)) for m, n in conn.execute(BATCHES_SQL, (session_id,))]


@pytest.fixture(scope="module")
def small_pages() -> Iterator[UpstreamServer]:
    """A stand-in whose one domain has only ordinary pages (no 10 MB capture to make a
    batch slow), in several batches."""
    corpus = CorpusConfig(seed=8, domains=1, pages_per_domain=16, captures_per_page=3,
                          huge_rate=0.0)  # fmt: skip
    with UpstreamServer(corpus) as server:
        yield server


def scrape_one_domain(
    standin: UpstreamServer, make_settings: Callable[..., Settings], **values: object
) -> list[tuple[float, int]]:
    settings = make_settings(wayback_url=standin.base_url, **values)
    project = create_project(settings.database_url, standin.corpus.domain_names[:1])
    session = create_session(settings.database_url, project.project_id)
    scrape_in_process(settings, project, session)
    return batches(settings.database_url, session)


@pytest.mark.parametrize("switches", [SWITCHES_OFF, SWITCHES_ON], ids=["before", "after"])
def test_batches_of_ten_with_the_pause_between_them(
    small_pages: UpstreamServer, make_settings: Callable[..., Settings], switches: dict[str, bool]
) -> None:
    found = scrape_one_domain(small_pages, make_settings, scrape_batch_pause_s=PAUSE_S, **switches)
    sizes = [n for _, n in found]
    assert len(sizes) >= 2, "one batch says nothing about pacing"
    assert all(n == FETCH_BATCH_SIZE for n in sizes[:-1]) and sizes[-1] <= FETCH_BATCH_SIZE
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(found)]
    assert min(gaps) >= PAUSE_S


def test_the_gap_check_fails_without_the_pause(
    small_pages: UpstreamServer, make_settings: Callable[..., Settings]
) -> None:
    found = scrape_one_domain(small_pages, make_settings, scrape_batch_pause_s=0.0, **SWITCHES_OFF)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(found)]
    assert min(gaps) < PAUSE_S


def test_the_time_factor_divides_the_pause_and_the_backoff() -> None:
    assert pacing_env(WAYBACK) == {
        "CHRONO_SCRAPE_BATCH_PAUSE_S": "2.0",
        "CHRONO_SCRAPE_RETRY_BASE_S": "1.0",
    }
    assert pacing_env(WAYBACK.scaled(10)) == {
        "CHRONO_SCRAPE_BATCH_PAUSE_S": "0.2",
        "CHRONO_SCRAPE_RETRY_BASE_S": "0.1",
    }
    assert float(pacing_env(FAST)["CHRONO_SCRAPE_BATCH_PAUSE_S"]) == 0.002


class CountingSearch(PostgresSearch):
    """PostgreSQL search that counts its writes: one per index_documents call."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn)
        self.writes: list[int] = []
        self.batch_calls = 0

    def index_documents(self, project_id: int, docs: Sequence[PageDocument]) -> None:
        self.writes.append(len(docs))
        super().index_documents(project_id, docs)

    def index_batches(self, batches: Mapping[int, Sequence[PageDocument]]) -> None:
        self.batch_calls += 1
        super().index_batches(batches)


@pytest.mark.parametrize("switches", [SWITCHES_OFF, SWITCHES_ON], ids=["before", "after"])
def test_one_tsvector_write_per_document_before_and_per_batch_after(
    standin: UpstreamServer, make_settings: Callable[..., Settings], switches: dict[str, bool]
) -> None:
    settings = make_settings(**switches)
    project = create_project(settings.database_url, standin.corpus.domain_names[:2])
    session = create_session(settings.database_url, project.project_id)
    search = CountingSearch(settings.database_url)
    scrape_in_process(settings, project, session, backend=search)
    with psycopg.connect(settings.database_url) as conn:
        stored, vectors = conn.execute(
            "SELECT count(*), count(p.search_vector) FROM pages p JOIN domains d"
            " ON d.id = p.domain_id WHERE d.project_id = %s AND p.indexed",
            (project.project_id,),
        ).fetchone() or (0, 0)
    assert stored > FETCH_BATCH_SIZE and vectors == stored  # the tsvector is written
    assert sum(search.writes) == stored
    if switches["batch_indexing"]:
        assert search.batch_calls >= 1 and len(search.writes) < stored / FETCH_BATCH_SIZE
    else:
        assert search.batch_calls == 0 and Counter(search.writes) == {1: stored}


def test_a_page_stored_but_not_indexed_has_no_tsvector_until_indexed(
    standin: UpstreamServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    project = create_project(settings.database_url, ["example.org"])
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        page_id = conn.execute(
            "INSERT INTO pages (domain_id, original_url, unix_timestamp, title, extracted_text)"
            " VALUES (%s, 'http://example.org/', '20210101000000', 'Zeppelin', 'harbour words')"
            " RETURNING id",
            (project.domain_ids[0],),
        ).fetchone()[0]  # type: ignore[index]
        vector = "SELECT search_vector::text FROM pages WHERE id = %s"
        assert conn.execute(vector, (page_id,)).fetchone() == (None,)
        PostgresSearch(settings.database_url).index_documents(
            project.project_id,
            [{"page_id": page_id}],  # type: ignore[list-item]
        )
        assert "'zeppelin':1A" in str(conn.execute(vector, (page_id,)).fetchone())


@pytest.mark.parametrize("switches", [SWITCHES_OFF, SWITCHES_ON], ids=["before", "after"])
def test_one_select_per_record_and_one_insert_per_page_on_both_sides(
    small_pages: UpstreamServer,
    make_settings: Callable[..., Settings],
    switches: dict[str, bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No fix of the report batches the check of stored captures or the page inserts."""
    checks: list[str] = []
    inserts: list[int] = []
    capture_exists, upsert_pages = store.capture_exists, store.upsert_pages

    async def counted_check(conn: Any, *, domain_id: int, record: CdxRecord) -> bool:
        checks.append(record.timestamp)
        return await capture_exists(conn, domain_id=domain_id, record=record)

    async def counted_insert(conn: Any, *, domain_id: int, pages: Sequence[Any]) -> Any:
        inserts.append(len(pages))
        return await upsert_pages(conn, domain_id=domain_id, pages=pages)

    monkeypatch.setattr(store, "capture_exists", counted_check)
    monkeypatch.setattr(store, "upsert_pages", counted_insert)
    settings = make_settings(wayback_url=small_pages.base_url, **switches)
    project = create_project(settings.database_url, small_pages.corpus.domain_names[:1])
    session = create_session(settings.database_url, project.project_id)
    (summary,) = scrape_in_process(settings, project, session)
    assert len(checks) == summary.discovered > FETCH_BATCH_SIZE
    assert Counter(inserts) == {1: summary.stored}
