"""Measure scraping throughput and worker memory, all switches off vs on.

    .venv/bin/python -m tests.worker.bench_scrape [--domains 8] [--pages 40] [--latency-ms 50]

Starts its own PostgreSQL, Redis and stand-in (with captures over 10 MB), then for each
variant real workers from app.worker.command; enqueues one scrape per domain and times
until every stored page is indexed. Worker memory is sampled every SAMPLE_S over every
worker process (main processes and pool children): the peak of the RSS sum and of the
PSS sum (PSS shares pages the pool children inherit from their parent fairly; RSS counts
them in every child). A measuring tool, not a test: the harness owns the benchmarks.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil
import psycopg

from app.core.config import Settings
from app.db.migrate import apply_migrations
from app.worker.queues import SCRAPE_TASK
from harness.runtime.local.postgres import PostgresServer
from harness.runtime.local.redis import RedisServer
from harness.upstream import Conditions, CorpusConfig, UpstreamServer
from tests.scraper.support import (
    FROM_TS,
    MAX_CAPTURE_BYTES,
    SWITCHES_OFF,
    SWITCHES_ON,
    create_project,
    create_session,
)
from tests.worker.workers import Workers

SAMPLE_S = 0.1
TIMEOUT_S = 1800.0
MIB = 1024 * 1024


class MemorySampler(threading.Thread):
    """Peak summed RSS and PSS (MiB) of the given processes and their descendants."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_rss_mib = 0.0
        self.peak_pss_mib = 0.0
        self.peak_processes = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss = pss = 0
            count = 0
            for pid in self.pids:
                try:
                    root = psutil.Process(pid)
                    for process in [root, *root.children(recursive=True)]:
                        info = process.memory_full_info()
                        rss += info.rss
                        pss += info.pss
                        count += 1
                except psutil.Error:
                    continue
            self.peak_rss_mib = max(self.peak_rss_mib, rss / MIB)
            self.peak_pss_mib = max(self.peak_pss_mib, pss / MIB)
            self.peak_processes = max(self.peak_processes, count)
            self._halt.wait(SAMPLE_S)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def counts(dsn: str, project_id: int) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE p.indexed) FROM pages p"
            " JOIN domains d ON d.id = p.domain_id WHERE d.project_id = %s",
            (project_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process and its descendants."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def run_variant(
    name: str, settings: Settings, domains: list[str], expected: int, upstream_pid: int
) -> None:
    project = create_project(settings.database_url, domains)
    session = create_session(settings.database_url, project.project_id)
    with Workers(settings) as workers:
        sampler = MemorySampler([p.pid for p in workers.processes])
        sampler.start()
        upstream_cpu = cpu_s(upstream_pid)
        started = time.perf_counter()
        results = [
            workers.client.send_task(
                SCRAPE_TASK, kwargs={"domain_id": d, "scrape_session_id": session}
            )
            for d in project.domain_ids
        ]
        for result in results:
            result.get(timeout=TIMEOUT_S)
        while True:
            stored, indexed = counts(settings.database_url, project.project_id)
            if stored == indexed:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        sampler.stop()
        upstream_share = (cpu_s(upstream_pid) - upstream_cpu) / elapsed
    print(
        f"{name:4s} stored+indexed {stored:5d} (expected {expected}) in {elapsed:6.1f} s"
        f" = {stored / elapsed * 60:7.0f} pages/min; worker peak RSS sum"
        f" {sampler.peak_rss_mib:6.0f} MiB, PSS sum {sampler.peak_pss_mib:6.0f} MiB"
        f" over {sampler.peak_processes} processes; stand-in CPU {upstream_share:.0%}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domains", type=int, default=8)
    parser.add_argument("--pages", type=int, default=40, help="pages per domain")
    parser.add_argument("--captures", type=int, default=4, help="mean captures per page")
    parser.add_argument("--huge-rate", type=float, default=0.01)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--variants", default="off,on")
    parser.add_argument(
        "--concurrency", type=int, default=2, help="CHRONO_CELERY_CONCURRENCY (tuned only)"
    )
    args = parser.parse_args()
    corpus = CorpusConfig(
        seed=args.seed,
        domains=args.domains,
        pages_per_domain=args.pages,
        captures_per_page=args.captures,
        huge_rate=args.huge_rate,
    )
    base = Path(tempfile.mkdtemp(prefix="chrono-bench-scrape-"))
    base.chmod(0o755)
    password = secrets.token_urlsafe(16)
    with (
        PostgresServer(base / "pg", password=password) as pg,
        RedisServer(base / "redis", password=password) as redis_server,
        UpstreamServer(corpus, Conditions(latency_ms=args.latency_ms)) as upstream,
    ):
        everything = upstream.corpus.expected_captures(from_ts=FROM_TS)
        capped = upstream.corpus.expected_captures(
            from_ts=FROM_TS, max_body_bytes=MAX_CAPTURE_BYTES
        )
        print(
            f"corpus: {args.domains} domains, {len(everything)} expected captures,"
            f" {len(everything) - len(capped)} over 10 MB; latency {args.latency_ms} ms",
            flush=True,
        )
        for number, name in enumerate(args.variants.split(",")):
            dsn = pg.create_database(f"bench_{number}")
            apply_migrations(dsn)
            redis_server.client().flushall()
            switches = SWITCHES_ON if name == "on" else SWITCHES_OFF
            settings = Settings(
                database_url=dsn,
                redis_cache_url=redis_server.url(0),
                redis_broker_url=redis_server.url(1),
                wayback_url=upstream.base_url,
                jwt_secret=secrets.token_urlsafe(32),
                celery_concurrency=args.concurrency,
                **switches,  # type: ignore[arg-type]
            )
            expected = len(capped) if settings.streaming_fetch else len(everything)
            assert upstream.pid is not None
            run_variant(name, settings, upstream.corpus.domain_names, expected, upstream.pid)
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
