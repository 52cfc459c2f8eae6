"""Deterministic benchmark data, loaded with COPY (`chrono-bench seed --scale quick|full`).

quick: the benchmark user (BENCH_EMAIL / BENCH_PASSWORD, what the load tests log in with)
owns 100 projects x 5 domains x 100 pages; two other users own a few projects each, so
tests and benchmarks can check that nobody sees another user's rows. full: 10x the pages.

The same scale always produces the same rows (one seeded random generator). Domain
counters and project statuses are written as the original's stats sync would compute
them, so the `stats_aggregate` "before" — whose reads rewrite them — changes nothing and
both variants answer alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from app.core.security import hash_password
from app.db.migrate import apply_migrations
from app.services.stats import _domain_status, _project_status

BENCH_EMAIL = "bench@example.com"
# Documented for load tests (scenarios log in with it); a benchmark credential, not a secret.
BENCH_PASSWORD = "chrono-bench-password"
OTHER_EMAILS = ("other1@example.com", "other2@example.com")
RANDOM_SEED = 20250801
BASE_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
CAPTURE_RANGE_DAYS = 3650
WORDS_PER_PAGE = 60
FAILED_PAGE_RATIO = 0.02
UNPROCESSED_PAGE_RATIO = 0.08
Scale = Literal["quick", "full"]


@dataclass(frozen=True)
class ScaleSpec:
    projects: int
    domains_per_project: int
    pages_per_domain: int
    other_projects: int = 3
    other_domains: int = 2
    other_pages: int = 20


SCALES: dict[str, ScaleSpec] = {
    "quick": ScaleSpec(projects=100, domains_per_project=5, pages_per_domain=100),
    "full": ScaleSpec(projects=100, domains_per_project=5, pages_per_domain=1000),
}
# Words the search scenario can query: frequent enough to match, rare enough to rank.
SEARCH_TERMS = ("archive", "history", "election", "climate", "museum", "railway")
VOCABULARY_TEXT = (
    "the of and to in a is that for it as was with be by on not he this are or his from "
    "at which but have an they you were her she there been one all we their has would "
    "when archive history election climate museum railway harbour council library "
    "festival market science report policy energy water school health city river bridge "
    "culture news press weather football music theatre garden church castle village "
    "museum geschichte wahl klima bahn hafen stadt rathaus bibliothek verkehr wetter "
    "kultur geschiedenis verkiezing klimaat spoorweg haven gemeente bibliotheek cultuur "
    "nieuws histoire élection climat chemin fer port mairie bibliothèque culture "
    "actualités "
)
VOCABULARY = tuple(VOCABULARY_TEXT.split())
LANGUAGES = (("en", 0.6), ("de", 0.15), ("nl", 0.15), ("fr", 0.1))
MIME_TYPES = (("text/html", 0.95), ("application/pdf", 0.05))
SECTIONS = ("news", "about", "events", "archive", "blog", "press", "docs")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedSummary:
    scale: str
    users: int
    projects: int
    domains: int
    pages: int
    seconds: float


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


class _Rows:
    """Generates every table's rows in id order, keeping the counters consistent."""

    def __init__(self, spec: ScaleSpec) -> None:
        self.spec = spec
        self.rng = random.Random(RANDOM_SEED)
        self.next_page_id = 1
        # (project id, user id, [(domain id, host)]), and what pages() found per domain.
        self.layout: list[tuple[int, int, list[tuple[int, str]]]] = []
        self.domain_counts: dict[int, tuple[int, int, int, dt.datetime | None]] = {}
        project_id = domain_id = 1
        for user_id, _, n_projects, n_domains, _ in self.owners():
            for _ in range(n_projects):
                hosts = [
                    (domain_id + d, f"site{project_id}-{d}.example.org") for d in range(n_domains)
                ]
                self.layout.append((project_id, user_id, hosts))
                project_id += 1
                domain_id += n_domains

    def owners(self) -> list[tuple[int, str, int, int, int]]:
        """(user id, email, projects, domains per project, pages per domain)."""
        s = self.spec
        return [
            (1, BENCH_EMAIL, s.projects, s.domains_per_project, s.pages_per_domain),
            *[
                (2 + i, email, s.other_projects, s.other_domains, s.other_pages)
                for i, email in enumerate(OTHER_EMAILS)
            ],
        ]

    def pages_per_domain(self, user_id: int) -> int:
        return next(owner[4] for owner in self.owners() if owner[0] == user_id)

    def projects(self) -> Iterator[tuple[Any, ...]]:
        for project_id, user_id, hosts in self.layout:
            created = BASE_TIME + dt.timedelta(minutes=project_id)
            name = f"Project {project_id:03d} of user {user_id}"
            yield (project_id, user_id, name, f"Wayback captures of {len(hosts)} sites",
                   f"project_{project_id}", "no_index", created, created)  # fmt: skip

    def domains(self) -> Iterator[tuple[Any, ...]]:
        for project_id, _, hosts in self.layout:
            created = BASE_TIME + dt.timedelta(minutes=project_id)
            for domain_id, host in hosts:
                yield (domain_id, project_id, host, "domain", True, "active", created)

    def pages(self) -> Iterator[tuple[Any, ...]]:
        """Page rows, counting per domain what the stats sync would find."""
        for _, user_id, hosts in self.layout:
            for domain_id, host in hosts:
                total = processed_n = failed_n = 0
                last: dt.datetime | None = None
                for n in range(self.pages_per_domain(user_id)):
                    row, processed, failed = self._page(domain_id, host, n)
                    total += 1
                    processed_n += processed
                    failed_n += failed
                    last = row[-1] if last is None else max(last, row[-1])
                    yield row
                self.domain_counts[domain_id] = (total, processed_n, failed_n, last)

    def counters(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """(domain counter rows, project status rows), as the original's sync sets them."""
        domain_rows: list[tuple[Any, ...]] = []
        project_rows: list[tuple[Any, ...]] = []
        for project_id, _, hosts in self.layout:
            statuses: list[str] = []
            totals = [0, 0]
            for domain_id, _ in hosts:
                total, processed, failed, last = self.domain_counts[domain_id]
                status = _domain_status(total, processed, failed).value
                statuses.append(status)
                totals[0] += total
                totals[1] += processed
                domain_rows.append((domain_id, total, processed, failed, status, last))
            project_rows.append((project_id, _project_status(totals[0], totals[1], statuses).value))
        return domain_rows, project_rows

    def _page(self, domain_id: int, host: str, n: int) -> tuple[tuple[Any, ...], bool, bool]:
        rng = self.rng
        capture = BASE_TIME - dt.timedelta(
            days=rng.randrange(CAPTURE_RANGE_DAYS), seconds=rng.randrange(86_400)
        )
        stamp = capture.strftime("%Y%m%d%H%M%S")
        url = f"https://{host}/{rng.choice(SECTIONS)}/page-{n}.html"
        words = rng.choices(VOCABULARY, k=WORDS_PER_PAGE)
        text = " ".join(words)
        title = " ".join(rng.choices(VOCABULARY[40:], k=4)).title()
        roll = rng.random()
        failed = roll < FAILED_PAGE_RATIO
        processed = not failed and roll >= FAILED_PAGE_RATIO + UNPROCESSED_PAGE_RATIO
        scraped_at = BASE_TIME + dt.timedelta(seconds=domain_id * 1000 + n)
        row = (
            self.next_page_id, domain_id, url, f"https://web.archive.org/web/{stamp}/{url}",
            title, stamp, _weighted(rng, MIME_TYPES), 200, title, text,
            " ".join(words[:12]), _weighted(rng, LANGUAGES), len(words), len(text),
            len(text) + 2000, capture, hashlib.sha1(text.encode()).hexdigest(),
            processed, processed, "fetch failed: 503" if failed else None, scraped_at,
        )  # fmt: skip
        self.next_page_id += 1
        return row, processed, failed


PAGE_COLUMNS = (
    "id, domain_id, original_url, wayback_url, title, unix_timestamp, mime_type, status_code,"
    " extracted_title, extracted_text, meta_description, language, word_count,"
    " character_count, content_length, capture_date, content_hash, processed, indexed,"
    " error_message, scraped_at"
)
DOMAIN_COLUMNS = "id, project_id, domain_name, match_type, active, status, created_at"
PROJECT_COLUMNS = "id, user_id, name, description, index_name, status, created_at, updated_at"
TABLES = ("scrape_pages", "pages", "scrape_sessions", "domains", "projects", "users")
SYNC_COUNTERS = """
UPDATE domains SET total_pages = c.total, scraped_pages = c.processed,
       failed_pages = c.failed, status = c.status, last_scraped = c.last
FROM seed_domain_counts c WHERE domains.id = c.id
"""


def _copy(conn: psycopg.Connection[Any], statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
    with conn.cursor().copy(statement.encode()) as copy:
        for row in rows:
            copy.write_row(row)


def seed(dsn: str, scale: Scale = "quick") -> SeedSummary:
    """Replace all data in the database at `dsn` with the given scale's data set."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    started = time.perf_counter()
    apply_migrations(dsn)
    rows = _Rows(SCALES[scale])
    hashed = hash_password(BENCH_PASSWORD)
    owners = rows.owners()
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE".encode())
            _copy(
                conn,
                "COPY users (id, email, hashed_password, is_verified) FROM STDIN",
                ((user_id, email, hashed, True) for user_id, email, *_ in owners),
            )
            _copy(conn, f"COPY projects ({PROJECT_COLUMNS}) FROM STDIN", rows.projects())
            _copy(conn, f"COPY domains ({DOMAIN_COLUMNS}) FROM STDIN", rows.domains())
            _copy(conn, f"COPY pages ({PAGE_COLUMNS}) FROM STDIN", rows.pages())
            domain_rows, project_rows = rows.counters()
            conn.execute(
                "CREATE TEMP TABLE seed_domain_counts (id bigint, total int, processed int,"
                " failed int, status text, last timestamptz) ON COMMIT DROP"
            )
            _copy(conn, "COPY seed_domain_counts FROM STDIN", domain_rows)
            conn.execute(SYNC_COUNTERS)
            conn.cursor().executemany(
                "UPDATE projects SET status = %s WHERE id = %s",
                [(status, project_id) for project_id, status in project_rows],
            )
            for table in TABLES:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)".encode()
                )
        conn.autocommit = True
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}".encode())
    summary = SeedSummary(
        scale=scale,
        users=len(owners),
        projects=len(rows.layout),
        domains=len(rows.domain_counts),
        pages=rows.next_page_id - 1,
        seconds=round(time.perf_counter() - started, 2),
    )
    log.info("seeded %s", summary)
    return summary
