"""batch_indexing and streaming_fetch: one small scrape through the API, watched.

The probe scrapes one domain of the stand-in's archive that holds a capture larger than
the fetch cap, as a user of its own (the benchmark user's answers must not change), and
deletes the project afterwards. Around the scrape it reads, from pg_stat_statements, the
search backend's index writes (calls) and the pages they indexed (rows), and samples the
workers' memory. One scrape serves both probes of a variant and round.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from app.scraper.fetch import MAX_CAPTURE_BYTES
from app.search.postgres import INDEX_SQL
from harness.collect.memory import PeakMemory, group_memory_mb
from harness.run.probes.base import API, REQUEST_TIMEOUT_S, ProbeContext, ProbeError, Reading
from harness.upstream.corpus import Corpus

SCRAPE_MEMO = "scrape"
# The scrape's window from the oversized capture's day: about twenty pages in the quick
# archive, enough for batches to show.
WINDOW_DAYS = 120
SCRAPE_TIMEOUT_S = 90.0
POLL_INTERVAL_S = 0.25
PASSWORD = "chrono-bench-probe-password"
BYTES_PER_MIB = 1024 * 1024
# The postgres search backend's one index write (app/search/postgres.py), as
# pg_stat_statements normalizes it: matched on its text before the first value.
INDEX_WRITE_PREFIX = INDEX_SQL[: INDEX_SQL.index("(")]
INDEX_WRITE_SQL = r"""
SELECT coalesce(sum(s.calls), 0)::float8, coalesce(sum(s.rows), 0)::float8
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = %s AND s.query LIKE %s
"""
PROGRESS_SQL = """
SELECT (SELECT status FROM scrape_sessions WHERE id = %(session)s),
       count(p.id), count(p.id) FILTER (WHERE p.indexed),
       count(p.id) FILTER (WHERE (p.original_url, p.unix_timestamp) IN (
           SELECT * FROM unnest(%(urls)s::text[], %(timestamps)s::text[])))
FROM domains d LEFT JOIN pages p ON p.domain_id = d.id
WHERE d.project_id = %(project)s
"""
DONE_STATUSES = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Scrape:
    domain: str
    pages: int
    oversized_in_archive: int
    largest_body_mib: float
    oversized_stored: int
    index_writes: float
    pages_indexed_by_writes: float
    worker_start_mib: float
    worker_peak_mib: float

    def figures(self) -> dict[str, float | str]:
        return {
            "pages": float(self.pages),
            "index_writes": self.index_writes,
            "pages_per_index_write": self.pages_indexed_by_writes / max(self.index_writes, 1),
            "largest_body_mib": round(self.largest_body_mib, 1),
            "oversized_stored": float(self.oversized_stored),
            "worker_rss_growth_mib": round(self.worker_peak_mib - self.worker_start_mib, 1),
        }


@dataclass(frozen=True)
class Window:
    """What the probe scrapes: a domain over a few months that hold a capture above the cap
    (the scrape scenario's default window from 2020 holds none in the quick archive)."""

    domain: str
    from_date: dt.date
    to_date: dt.date
    oversized: list[tuple[str, str]]
    largest_body_mib: float


def probe_window(corpus: Corpus) -> Window:
    """The first domain with a body above the cap, from that capture's day on."""
    sizes = {
        (c.original, c.timestamp): corpus.contents[c.content].spec.size
        for c in corpus.oversized_captures(MAX_CAPTURE_BYTES)
    }
    for name in corpus.domain_names:
        whole = corpus.expected_captures([name])
        oversized = sorted(whole & sizes.keys(), key=lambda capture: capture[1])
        if oversized:
            start = dt.datetime.strptime(oversized[0][1][:8], "%Y%m%d").date()
            end = start + dt.timedelta(days=WINDOW_DAYS)
            kept = [c for c in oversized if c[1][:8] <= end.strftime("%Y%m%d")]
            return Window(name, start, end, kept, max(sizes[c] for c in kept) / BYTES_PER_MIB)
    raise ProbeError("the stand-in's archive has no capture above the fetch cap")


def _index_writes(context: ProbeContext) -> tuple[float, float]:
    with context.superuser() as conn:
        row = conn.execute(
            INDEX_WRITE_SQL, (context.target.database, INDEX_WRITE_PREFIX + "%")
        ).fetchone()
    assert row is not None  # an aggregate
    return float(row[0]), float(row[1])


def _login(client: httpx.Client) -> None:
    email = f"probe-{secrets.token_hex(4)}@example.com"
    client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
    response = client.post(f"{API}/auth/login", data={"username": email, "password": PASSWORD})
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


def _wait(
    context: ProbeContext, project: int, session: int, oversized: list[tuple[str, str]]
) -> tuple[str, int, int, int]:
    deadline = time.monotonic() + SCRAPE_TIMEOUT_S
    params: dict[str, Any] = {
        "session": session,
        "project": project,
        "urls": [url for url, _ in oversized],
        "timestamps": [timestamp for _, timestamp in oversized],
    }
    with psycopg.connect(context.target.database_url, autocommit=True) as conn:
        while True:
            row = conn.execute(PROGRESS_SQL, params).fetchone() or ("unknown", 0, 0, 0)
            status, stored, indexed, kept = str(row[0]), *map(int, row[1:])
            if status in DONE_STATUSES and stored == indexed:
                return status, stored, indexed, kept
            if time.monotonic() > deadline:
                raise ProbeError(
                    f"the probe's scrape did not finish in {SCRAPE_TIMEOUT_S:g} s ({status}, "
                    f"{indexed} of {stored} pages indexed)"
                )
            time.sleep(POLL_INTERVAL_S)


def scrape(context: ProbeContext) -> Scrape:
    """Scrape the domain with oversized captures once and read what it did."""
    if context.corpus is None:
        raise ProbeError("no stand-in archive given to the probes")
    window = probe_window(context.corpus)
    target = context.target
    memory = PeakMemory("worker", target.worker_pids)
    with httpx.Client(base_url=target.api_url, timeout=REQUEST_TIMEOUT_S) as client:
        _login(client)
        project = client.post(f"{API}/projects/", json={"name": "chrono-bench scrape probe"})
        project.raise_for_status()
        project_id = int(project.json()["id"])
        try:
            client.post(
                f"{API}/projects/{project_id}/domains",
                json={
                    "domain_name": window.domain,
                    "match_type": "domain",
                    "from_date": window.from_date.isoformat(),
                    "to_date": window.to_date.isoformat(),
                },
            ).raise_for_status()
            calls_0, rows_0 = _index_writes(context)
            start_mib = group_memory_mb(target.worker_pids())
            memory.begin()
            session = client.post(f"{API}/projects/{project_id}/scrape")
            session.raise_for_status()
            _, stored, _, oversized_stored = _wait(
                context, project_id, int(session.json()["id"]), window.oversized
            )
            readings = memory.end()
            calls_1, rows_1 = _index_writes(context)
        finally:
            client.delete(f"{API}/projects/{project_id}")
    return Scrape(
        domain=window.domain,
        pages=stored,
        oversized_in_archive=len(window.oversized),
        largest_body_mib=window.largest_body_mib,
        oversized_stored=oversized_stored,
        index_writes=calls_1 - calls_0,
        pages_indexed_by_writes=rows_1 - rows_0,
        worker_start_mib=start_mib,
        worker_peak_mib=readings["worker.rss_peak_mb"],
    )


def batch_indexing(context: ProbeContext, on: bool) -> Reading:
    """Off: one index write per page; on: fewer writes than pages (batches)."""
    done: Scrape = context.memo(SCRAPE_MEMO, lambda: scrape(context))
    detail = (
        f"{done.index_writes:.0f} index writes for {done.pages_indexed_by_writes:.0f} pages "
        f"of a {done.pages}-page scrape"
    )
    if done.pages < 2:
        return Reading(False, detail + ": too few pages to tell", done.figures())
    if on:
        return Reading(
            0 < done.index_writes < done.pages, detail + " (fix: batches)", done.figures()
        )
    # The per-page path may write a page twice (the second finds it indexed): at least one
    # write per page is the report's problem.
    ok = done.index_writes >= done.pages and done.pages_indexed_by_writes == done.pages
    return Reading(ok, detail + " (at least one per page)", done.figures())


def streaming_fetch(context: ProbeContext, on: bool) -> Reading:
    """Off: the captures above the cap are read whole and stored; on: none is.

    The workers' memory growth over the scrape is read beside it but not judged: at this
    scale it is dominated by the pool's children starting work, not by one body.
    """
    done: Scrape = context.memo(SCRAPE_MEMO, lambda: scrape(context))
    growth = done.worker_peak_mib - done.worker_start_mib
    detail = (
        f"{done.oversized_stored} of {done.oversized_in_archive} captures above "
        f"{MAX_CAPTURE_BYTES // BYTES_PER_MIB} MiB stored (largest "
        f"{done.largest_body_mib:.1f} MiB); workers grew {growth:.0f} MiB"
    )
    if on:
        return Reading(done.oversized_stored == 0, detail + " (fix: capped)", done.figures())
    ok = done.oversized_in_archive > 0 and done.oversized_stored == done.oversized_in_archive
    return Reading(ok, detail + " (read whole)", done.figures())
