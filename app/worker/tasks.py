"""The Celery tasks: scrape a domain, index pages, reconcile the index, a critical ping.

Tasks are sync (Celery's prefork pool); the pipeline is async, so a scrape runs its own
event loop for its duration. Each worker child builds its search backend once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from typing import Any

import psycopg
from celery import Task

from app.core.config import get_settings
from app.scraper import indexing
from app.scraper.pipeline import DomainScrape
from app.search.base import SearchBackend
from app.worker.celery_app import celery_app
from app.worker.queues import INDEX_TASK, PING_TASK, RECONCILE_TASK, SCRAPE_TASK

# An indexing batch that failed (the backend down) is retried a few times, then left to
# the reconciler: its pages keep indexed = false.
INDEX_RETRIES = 3
INDEX_RETRY_BACKOFF_MAX_S = 60

logger = logging.getLogger(__name__)


@functools.cache
def backend() -> SearchBackend:
    """This process's search backend (created in the child, after the fork)."""
    return indexing.search_backend(get_settings())


def send_index_batch(page_ids: list[int]) -> None:
    """Hand a batch to the indexing task (routed by the app's configuration)."""
    celery_app.send_task(INDEX_TASK, kwargs={"page_ids": page_ids})


@celery_app.task(name=SCRAPE_TASK)  # type: ignore[untyped-decorator]
def scrape_domain(domain_id: int, scrape_session_id: int) -> dict[str, Any]:
    """Scrape one domain of a session; safe to run again (upserts, existing captures skipped)."""
    scrape = DomainScrape(
        get_settings(),
        domain_id=domain_id,
        scrape_session_id=scrape_session_id,
        backend=backend(),
        send_index_batch=send_index_batch,
    )
    summary = asyncio.run(scrape.run())
    logger.info("scraped domain %d: %s", domain_id, summary)
    return dataclasses.asdict(summary)


@celery_app.task(  # type: ignore[untyped-decorator]
    name=INDEX_TASK,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=INDEX_RETRY_BACKOFF_MAX_S,
    max_retries=INDEX_RETRIES,
)
def index_pages(page_ids: list[int]) -> int:
    """Index these pages unless already indexed; the number indexed now."""
    with psycopg.connect(get_settings().database_url, autocommit=True) as conn:
        return indexing.index_pages(conn, backend(), page_ids)


@celery_app.task(name=RECONCILE_TASK)  # type: ignore[untyped-decorator]
def reconcile_index(
    project_id: int | None = None, older_than_s: float = indexing.RECONCILE_GRACE_S
) -> int:
    """Index every stored page still marked unindexed (older than the grace period)."""
    with psycopg.connect(get_settings().database_url, autocommit=True) as conn:
        return indexing.reconcile(conn, backend(), older_than_s=older_than_s, project_id=project_id)


@celery_app.task(name=PING_TASK, bind=True)  # type: ignore[untyped-decorator]
def ping_critical(self: Task, sent_at: float) -> dict[str, Any]:
    """A short critical task: how long it waited (same host, same clock), and from where."""
    started_at = time.time()
    return {
        "sent_at": sent_at,
        "started_at": started_at,
        "wait_s": started_at - sent_at,
        "queue": (self.request.delivery_info or {}).get("routing_key"),
    }
