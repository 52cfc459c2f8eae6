"""The scrape scenario: a project of N domains on the stand-in, scraped through the API.

Each window creates a fresh project (new domain rows: nothing is deduplicated against an
earlier window), starts its scrape with `POST /projects/{id}/scrape`, and during the
backlog sends the short critical task and times its queue wait. The window ends when the
session completes and every stored page is indexed (or at the profile's timeout, which
makes the window invalid). Measures pages stored and indexed per minute, the peak RSS of
all Celery processes, and the critical task's wait.

Before and after must store the same pages: each window's pages are checked against the
stand-in's archive (every capture the CDX query yields stored exactly once; bodies over
the fetch cap left out where `streaming_fetch` caps them), and the text extracted from
the captures both variants store must hash alike in every window. A window that stored
something else is invalid, with the difference as its reason: a faster scrape that
stores other pages is not faster.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import Counter
from pathlib import Path

import celery
import httpx
import psycopg

from app.scraper.cdx import DEFAULT_FROM_DATE
from app.scraper.fetch import MAX_CAPTURE_BYTES
from app.worker.queues import CRITICAL_QUEUE, PING_TASK, SINGLE_QUEUE
from harness.collect.memory import PeakMemory
from harness.runtime.target import Target
from harness.upstream.corpus import Corpus, build_corpus
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile, corpus_for

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
STORED_SQL = """
SELECT p.original_url, p.unix_timestamp, coalesce(p.extracted_text, '')
FROM pages p JOIN domains d ON d.id = p.domain_id
WHERE d.project_id = %(project)s
"""
Capture = tuple[str, str]


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
    metrics = ("scrape_pages_per_min", "worker_memory_mb", "critical_task_wait_ms")

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
        producer = celery.Celery("chrono-bench", broker=target.broker_url(),
                                 backend=target.broker_url())  # fmt: skip
        queue = CRITICAL_QUEUE if "celery_tuning" in target.variant else SINGLE_QUEUE
        with httpx.Client(
            base_url=target.api_url, headers=self.headers, timeout=REQUEST_TIMEOUT_S
        ) as client:
            memory.begin()
            started = time.time()
            project_id, session_id = self._start(client)
            time.sleep(CRITICAL_AFTER_S)
            ping = producer.send_task(PING_TASK, kwargs={"sent_at": time.time()}, queue=queue)
            status, stored, indexed = self._wait(target, project_id, session_id, started, profile)
            finished = time.time()
            readings = memory.end()
        try:
            wait_s = float(ping.get(timeout=max(1.0, profile.scrape_timeout_s))["wait_s"])
        except Exception:  # a lost or late ping is a missing reading, not a crash
            wait_s = float("nan")
        producer.close()
        done = status in DONE_STATUSES and stored == indexed
        reason = None if done else (
            f"scrape not finished within {profile.scrape_timeout_s:g} s ({status})"
        )  # fmt: skip
        return WindowRecord(
            self.name,
            started,
            finished,
            {**readings, "scrape.indexed": float(indexed), "scrape.wait_s": wait_s},
            data={"status": status, "stored": stored},
            invalid_reason=reason or self._check_pages(target, project_id),
        )

    def _check_pages(self, target: Target, project: int) -> str | None:
        """Why this window's pages are not the archive's (None: they are); see the module."""
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
        difference = stored_difference(stored, expected)
        if difference is not None:
            return difference
        digest = text_digest(texts, capped)
        if self.first_digest is None:
            self.first_digest = digest
        elif digest != self.first_digest:
            return "stored page text differs from the first window's"
        return None

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
        minutes = (record.finished_at - record.started_at) / 60
        reason = record.invalid_reason
        valid = reason is None
        return [
            Measurement("scrape_pages_per_min", record.readings["scrape.indexed"] / minutes,
                        valid, reason),
            Measurement("worker_memory_mb", record.readings["worker.rss_peak_mb"], valid, reason),
            Measurement("critical_task_wait_ms", record.readings["scrape.wait_s"] * 1000,
                        valid, reason),
        ]  # fmt: skip
