"""The scrape scenario: a project of N domains on the stand-in, scraped through the API.

The stand-in behaves as the profile's upstream (harness/upstream/profiles.py: the Wayback
Machine's rate limits, block, latency and faults) at the measurement profile's time
factor, which also divides the scraper's pauses. Each window creates a fresh project (new
domain rows: nothing is deduplicated against an earlier window), starts its scrape with
`POST /projects/{id}/scrape`, and during the backlog sends the short critical task and
times its queue wait. The window ends when the session completes and every stored page is
indexed (or at the profile's timeout, which makes the window invalid).

Measures the steady-state pages indexed per minute (scrape_figures.py), in total and per
domain, as measured and in real time (divided by the time factor); the workers' memory as
PSS (or their container's cgroup memory), their summed RSS beside it; the critical task's
wait; and politeness: the 429s the stand-in answered, the requests that came back before
their Retry-After, and refused connections (a refusal makes the window invalid).

Before and after must store the same pages: each window's pages are checked against the
stand-in's archive (every capture the CDX query yields stored exactly once; bodies over
the fetch cap left out where `streaming_fetch` caps them), and the text extracted from
the captures both variants store must hash alike in every window. A window that lost or
duplicated pages is invalid, with the counts recorded: a faster scrape that stores other
pages is not faster.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import celery
import httpx
import psycopg

from app.scraper.cdx import DEFAULT_FROM_DATE
from app.scraper.fetch import MAX_CAPTURE_BYTES
from app.worker.queues import CRITICAL_QUEUE, PING_TASK, SINGLE_QUEUE
from harness.collect.memory import PeakMemory, memory_kind
from harness.results import ScrapeFile
from harness.runtime.target import Target
from harness.upstream.corpus import Corpus, build_corpus
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile, corpus_for
from scenarios.scrape_figures import (
    Politeness,
    rates_by_domain,
    spans_by_domain,
    steady_rate_per_min,
)

API = "/api/v1"
PASSWORD = "chrono-scrape-password"
POLL_INTERVAL_S = 0.25
REQUEST_TIMEOUT_S = 30.0
# The critical task is sent once the backlog has formed.
CRITICAL_AFTER_S = 0.5
DONE_STATUSES = ("completed", "failed", "cancelled")
PROGRESS_SQL = """
SELECT (SELECT status FROM scrape_sessions WHERE id = %(session)s),
       count(p.id), count(p.id) FILTER (WHERE p.indexed)
FROM domains d LEFT JOIN pages p ON p.domain_id = d.id
WHERE d.project_id = %(project)s
"""
INDEXED_SQL = """
SELECT d.domain_name, extract(epoch FROM p.updated_at)
FROM pages p JOIN domains d ON d.id = p.domain_id
WHERE d.project_id = %(project)s AND p.indexed
"""
STORED_SQL = """
SELECT p.original_url, p.unix_timestamp, coalesce(p.extracted_text, '')
FROM pages p JOIN domains d ON d.id = p.domain_id
WHERE d.project_id = %(project)s
"""
Capture = tuple[str, str]


def scrape_file(record: WindowRecord) -> ScrapeFile:
    """The window's side file (harness/results.py): NaN rates (a domain with a single
    indexing moment) written as null."""
    data = record.data
    rates = data.get("pages_per_min_by_domain", {})
    spans = data.get("indexed_span_by_domain", {})
    return {
        "status": str(data.get("status", "")),
        "stored": int(data.get("stored", 0)),
        "time_factor": float(data.get("time_factor", 1.0)),
        "pages_per_min_by_domain": {
            domain: rate if math.isfinite(rate) else None for domain, rate in rates.items()
        },
        "indexed_span_by_domain": {domain: list(span) for domain, span in spans.items()},
        "upstream_limits": {
            key: int(value) for key, value in data.get("upstream_limits", {}).items()
        },
    }


def lost_and_duplicated(stored: Counter[Capture], expected: frozenset[Capture]) -> tuple[int, int]:
    """Expected captures not stored, and stored copies beyond the first of any capture."""
    lost = len(expected - stored.keys())
    duplicated = sum(count - 1 for count in stored.values() if count > 1)
    return lost, duplicated


def stored_difference(stored: Counter[Capture], expected: frozenset[Capture]) -> str | None:
    """Why the stored captures are not exactly the expected ones, each once (None: they are)."""
    missing = expected - stored.keys()
    extra = stored.keys() - expected
    repeated = [capture for capture, count in stored.items() if count > 1]
    problems = [
        f"{len(found)} {what} (first {min(found)})"
        for what, found in (("missing", missing), ("unexpected", extra), ("stored twice", repeated))
        if found
    ]
    return "stored pages differ from the archive: " + ", ".join(problems) if problems else None


def text_digest(texts: dict[Capture, str], captures: frozenset[Capture]) -> str:
    """One hash of the extracted text of `captures`, in a fixed order."""
    digest = hashlib.sha256()
    for capture in sorted(captures & texts.keys()):
        digest.update("\x1f".join((*capture, texts[capture])).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


class ScrapeScenario:
    name = "scrape"
    metrics = (
        "scrape_pages_per_min",
        "scrape_pages_per_min_real",
        "scrape_domain_pages_per_min",
        "worker_memory_mb",
        "worker_rss_sum_mb",
        "critical_task_wait_ms",
        "scrape_429s",
        "scrape_retry_after_ignored",
        "scrape_refused",
        "scrape_pages_lost",
        "scrape_pages_duplicated",
    )

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.domains: list[str] = []
        self.corpus: Corpus | None = None
        # The text digest of the captures every variant stores, from the first window.
        self.first_digest: str | None = None

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        """A user of its own (the benchmark user's answers must not change) and the domains."""
        email = f"scrape-{secrets.token_hex(4)}@example.com"
        with httpx.Client(base_url=target.api_url, timeout=REQUEST_TIMEOUT_S) as client:
            client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
            response = client.post(
                f"{API}/auth/login", data={"username": email, "password": PASSWORD}
            )
            response.raise_for_status()
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        self.corpus = build_corpus(corpus_for(profile))
        self.domains = self.corpus.domain_names[: profile.scrape_domains]

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """Nothing to warm: each window scrapes fresh domain rows."""

    def _start(self, client: httpx.Client) -> tuple[int, int]:
        project = client.post(f"{API}/projects/", json={"name": f"scrape {time.time():.0f}"})
        project.raise_for_status()
        project_id = int(project.json()["id"])
        for domain in self.domains:
            client.post(
                f"{API}/projects/{project_id}/domains",
                json={"domain_name": domain, "match_type": "domain"},
            ).raise_for_status()
        session = client.post(f"{API}/projects/{project_id}/scrape")
        session.raise_for_status()
        return project_id, int(session.json()["id"])

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        memory = PeakMemory("worker", target.worker_pids)
        proportional = PeakMemory("worker_pss", target.worker_pids, pss=True)
        producer = celery.Celery("chrono-bench", broker=target.broker_url(),
                                 backend=target.broker_url())  # fmt: skip
        queue = CRITICAL_QUEUE if "celery_tuning" in target.variant else SINGLE_QUEUE
        # Every window meets the archive afresh: empty rate-limit windows, no block.
        self._upstream(target, "POST", "stats/clear")
        with httpx.Client(
            base_url=target.api_url, headers=self.headers, timeout=REQUEST_TIMEOUT_S
        ) as client:
            memory.begin()
            proportional.begin()
            started = time.time()
            project_id, session_id = self._start(client)
            time.sleep(CRITICAL_AFTER_S)
            ping = producer.send_task(PING_TASK, kwargs={"sent_at": time.time()}, queue=queue)
            status, stored, indexed = self._wait(target, project_id, session_id, started, profile)
            finished = time.time()
            readings = {**memory.end(), **proportional.end()}
        limits = self._upstream(target, "GET", "stats").get("limits", {})
        try:
            wait_s = float(ping.get(timeout=max(1.0, profile.scrape_timeout_s))["wait_s"])
        except Exception:  # a lost or late ping is a missing reading, not a crash
            wait_s = float("nan")
        producer.close()
        with psycopg.connect(target.database_url, autocommit=True) as conn:
            moments = [
                (str(d), float(t)) for d, t in conn.execute(INDEXED_SQL, {"project": project_id})
            ]
        by_domain = rates_by_domain(moments)
        politeness = Politeness.from_limits(limits)
        done = status in DONE_STATUSES and stored == indexed
        reason = None if done else (
            f"scrape not finished within {profile.scrape_timeout_s:g} s ({status})"
        )  # fmt: skip
        lost, duplicated, difference = self._check_pages(target, project_id)
        if reason is None and politeness.refused:
            reason = f"the archive refused {politeness.refused} connection(s): blocked"
        return WindowRecord(
            self.name,
            started,
            finished,
            {
                **readings,
                "scrape.indexed": float(indexed),
                "scrape.wait_s": wait_s,
                "scrape.pages_per_min": steady_rate_per_min([t for _, t in moments]),
                "scrape.lost": float(lost),
                "scrape.duplicated": float(duplicated),
                "scrape.429s": float(politeness.too_many_requests),
                "scrape.retry_after_ignored": float(politeness.retry_after_ignored),
                "scrape.refused": float(politeness.refused),
            },
            data={
                "status": status,
                "stored": stored,
                "time_factor": profile.scrape_time_factor,
                "pages_per_min_by_domain": by_domain,
                "indexed_span_by_domain": spans_by_domain(moments),
                "memory": memory_kind(target.worker_pids()),
                "upstream_limits": limits,
            },
            invalid_reason=reason or difference,
        )

    def _upstream(self, target: Target, method: str, path: str) -> dict[str, Any]:
        """The stand-in's admin API (never limited, delayed or faulted)."""
        with httpx.Client(base_url=target.upstream_url, timeout=REQUEST_TIMEOUT_S) as admin:
            response = admin.request(method, f"/_admin/{path}")
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer

    def _check_pages(self, target: Target, project: int) -> tuple[int, int, str | None]:
        """Pages lost and duplicated, and why this window's pages are not the archive's
        (None: they are); see the module."""
        assert self.corpus is not None, "prepare() first"
        with psycopg.connect(target.database_url, autocommit=True) as conn:
            rows = conn.execute(STORED_SQL, {"project": project}).fetchall()
        stored = Counter((str(url), str(ts)) for url, ts, _ in rows)
        texts = {(str(url), str(ts)): str(text) for url, ts, text in rows}
        from_ts = DEFAULT_FROM_DATE.strftime("%Y%m%d")
        capped = self.corpus.expected_captures(
            self.domains, from_ts=from_ts, max_body_bytes=MAX_CAPTURE_BYTES
        )
        expected = (
            capped
            if "streaming_fetch" in target.variant
            else self.corpus.expected_captures(self.domains, from_ts=from_ts)
        )
        lost, duplicated = lost_and_duplicated(stored, expected)
        difference = stored_difference(stored, expected)
        if difference is not None:
            return lost, duplicated, difference
        digest = text_digest(texts, capped)
        if self.first_digest is None:
            self.first_digest = digest
        elif digest != self.first_digest:
            return lost, duplicated, "stored page text differs from the first window's"
        return lost, duplicated, None

    def _wait(
        self, target: Target, project: int, session: int, started: float, profile: MeasureProfile
    ) -> tuple[str, int, int]:
        deadline = started + profile.scrape_timeout_s
        with psycopg.connect(target.database_url, autocommit=True) as conn:
            while True:
                row = conn.execute(PROGRESS_SQL, {"session": session, "project": project})
                status, stored, indexed = row.fetchone() or ("unknown", 0, 0)
                if (status in DONE_STATUSES and stored == indexed) or time.time() > deadline:
                    return str(status), int(stored), int(indexed)
                time.sleep(POLL_INTERVAL_S)

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        readings = record.readings
        reason = record.invalid_reason
        valid = reason is None
        factor = float(record.data.get("time_factor", 1.0))
        rate = readings["scrape.pages_per_min"]
        by_domain = [v for v in record.data.get("pages_per_min_by_domain", {}).values()
                     if math.isfinite(v)]  # fmt: skip
        domain_rate = statistics.median(by_domain) if by_domain else math.nan
        memory = readings["worker_pss.rss_peak_mb"]  # PSS, or the container's cgroup memory

        def measured(metric: str, value: float) -> Measurement:
            ok = valid and math.isfinite(value)
            return Measurement(metric, value, ok, reason if not valid else None)

        def fact(metric: str, key: str) -> Measurement:
            # Politeness and losses are what happened, whatever else went wrong.
            return Measurement(metric, readings[key])

        return [
            measured("scrape_pages_per_min", rate),
            measured("scrape_pages_per_min_real", rate / factor),
            measured("scrape_domain_pages_per_min", domain_rate),
            measured("worker_memory_mb", memory),
            measured("worker_rss_sum_mb", readings["worker.rss_peak_mb"]),
            measured("critical_task_wait_ms", readings["scrape.wait_s"] * 1000),
            fact("scrape_429s", "scrape.429s"),
            fact("scrape_retry_after_ignored", "scrape.retry_after_ignored"),
            fact("scrape_refused", "scrape.refused"),
            fact("scrape_pages_lost", "scrape.lost"),
            fact("scrape_pages_duplicated", "scrape.duplicated"),
        ]
