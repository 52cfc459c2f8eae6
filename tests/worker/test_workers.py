"""The pipeline through real Celery workers on a real Redis broker."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from app.core.config import Settings
from app.scraper.fetch import TEMP_DIR_PREFIX
from app.worker.queues import PING_TASK, RECONCILE_TASK, SCRAPE_TASK
from harness.upstream import Conditions, UpstreamServer
from tests.scraper.support import (
    FROM_TS,
    MAX_CAPTURE_BYTES,
    SWITCHES_OFF,
    SWITCHES_ON,
    Project,
    create_project,
    create_session,
    stored_captures,
)
from tests.worker.workers import Workers

TASK_TIMEOUT_S = 120.0


def expected(standin: UpstreamServer, settings: Settings) -> set[tuple[str, str]]:
    cap = MAX_CAPTURE_BYTES if settings.streaming_fetch else None
    return set(standin.corpus.expected_captures(from_ts=FROM_TS, max_body_bytes=cap))


def enqueue_scrapes(workers: Workers, project: Project, session_id: int) -> list[str]:
    return [
        workers.client.send_task(
            SCRAPE_TASK, kwargs={"domain_id": domain_id, "scrape_session_id": session_id}
        ).id
        for domain_id in project.domain_ids
    ]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)


def all_indexed(dsn: str, project_id: int) -> bool:
    rows = stored_captures(dsn, project_id)
    return bool(rows) and all(indexed for _, _, indexed in rows)


def assert_stored_and_indexed_once(
    settings: Settings, project: Project, standin: UpstreamServer
) -> None:
    rows = stored_captures(settings.database_url, project.project_id)
    counts = Counter((url, ts) for url, ts, _ in rows)
    assert set(counts) == expected(standin, settings)
    assert max(counts.values()) == 1
    assert all(indexed for _, _, indexed in rows)


def reconcile(workers: Workers, project: Project) -> int:
    result = workers.client.send_task(
        RECONCILE_TASK, kwargs={"project_id": project.project_id, "older_than_s": 0}
    )
    return int(result.get(timeout=TASK_TIMEOUT_S))


@pytest.mark.parametrize("switches", [SWITCHES_ON, SWITCHES_OFF], ids=["on", "off"])
def test_real_workers_store_and_index_every_capture_once(
    standin: UpstreamServer, make_settings: Callable[..., Settings], switches: dict[str, bool]
) -> None:
    settings = make_settings(**switches)
    project = create_project(settings.database_url, standin.corpus.domain_names)
    session = create_session(settings.database_url, project.project_id)
    with Workers(settings) as workers:
        for task_id in enqueue_scrapes(workers, project, session):
            workers.client.AsyncResult(task_id).get(timeout=TASK_TIMEOUT_S)
        # Batches go through the indexing task: give it the time to drain its queue.
        wait_for(lambda: all_indexed(settings.database_url, project.project_id), 60, "indexing")
        assert reconcile(workers, project) == 0, "nothing may be left for the reconciler"
    assert_stored_and_indexed_once(settings, project, standin)


@pytest.mark.slow
def test_a_worker_killed_mid_scrape_loses_nothing(
    standin: UpstreamServer, make_settings: Callable[..., Settings]
) -> None:
    # A short visibility timeout: Redis hands the dead worker's task out again quickly.
    settings = make_settings(**SWITCHES_ON, celery_visibility_timeout_s=5)
    project = create_project(settings.database_url, standin.corpus.domain_names)
    session = create_session(settings.database_url, project.project_id)
    standin.set_conditions(Conditions(latency_ms=100))
    try:
        with Workers(settings) as workers:
            task_ids = enqueue_scrapes(workers, project, session)
            wait_for(
                lambda: bool(stored_captures(settings.database_url, project.project_id)),
                TASK_TIMEOUT_S,
                "the first stored page",
            )
            killed = [c.pid for c in psutil.Process(workers.processes[0].pid).children()]
            workers.kill(group=0)  # the scraping group, mid-scrape
            stored_at_kill = len(stored_captures(settings.database_url, project.project_id))
            assert 0 < stored_at_kill < len(expected(standin, settings))
            workers.restart(group=0)
            for task_id in task_ids:
                workers.client.AsyncResult(task_id).get(timeout=TASK_TIMEOUT_S)
            reconciled = reconcile(workers, project)
            wait_for(lambda: all_indexed(settings.database_url, project.project_id), 60, "index")
            log = workers.log_text()
    finally:
        standin.set_conditions(Conditions())
    # The killed children's private temporary directories were swept by their successors.
    temp = Path(tempfile.gettempdir())
    assert not [p for pid in killed for p in temp.glob(f"{TEMP_DIR_PREFIX}{pid}-*")]
    # The killed worker's tasks were delivered again, not merely left in the queue.
    redelivered = [t for t in task_ids if log.count(f"{SCRAPE_TASK}[{t}] received") >= 2]
    assert redelivered
    print(f"\n{stored_at_kill} pages stored at the kill; the reconciler indexed {reconciled}")
    assert_stored_and_indexed_once(settings, project, standin)


@pytest.mark.slow
@pytest.mark.parametrize("tuning", [False, True], ids=["off", "on"])
def test_critical_task_wait_behind_a_scraping_backlog(
    standin: UpstreamServer, make_settings: Callable[..., Settings], tuning: bool
) -> None:
    settings = make_settings(**{**SWITCHES_ON, "celery_tuning": tuning})
    # A backlog bigger than every pool slot and prefetch of the untuned worker (10 x 3).
    domains = standin.corpus.domain_names * 12
    project = create_project(settings.database_url, domains)
    session = create_session(settings.database_url, project.project_id)
    standin.set_conditions(Conditions(latency_ms=50))
    try:
        with Workers(settings) as workers:
            scrapes = enqueue_scrapes(workers, project, session)
            time.sleep(1.0)
            ping = workers.client.send_task(PING_TASK, kwargs={"sent_at": time.time()})
            answer = ping.get(timeout=600)
            done = []
            for task_id in scrapes:
                result = workers.client.AsyncResult(task_id)
                result.get(timeout=600)
                finished = result.date_done  # the result backend's UTC time, maybe naive
                done.append(finished.replace(tzinfo=finished.tzinfo or dt.UTC).timestamp())
    finally:
        standin.set_conditions(Conditions())
    assert answer["queue"] == ("critical" if tuning else "celery")
    first_scrape_done = min(done)
    if tuning:
        # its own worker: it ran while the backlog was still running, and without waiting
        # for a scraping slot (on a busy machine a first scrape may end before it is sent)
        assert answer["started_at"] < max(done), (answer, max(done))
        if answer["sent_at"] < first_scrape_done:
            assert answer["started_at"] < first_scrape_done, (answer, first_scrape_done)
    else:
        # head-of-line blocking: it waited behind the backlog until a scrape ended
        assert answer["started_at"] >= first_scrape_done, (answer, first_scrape_done)
