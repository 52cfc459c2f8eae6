"""Task names, queues and routing: importable without creating the Celery app.

The harness builds worker command lines from these (app.worker.command) in a process
that has no service settings in its environment.
"""

from __future__ import annotations

from app.core.config import Settings

SINGLE_QUEUE = "celery"
CRITICAL_QUEUE = "critical"
SCRAPING_QUEUE = "scraping"
INDEXING_QUEUE = "indexing"
DEFAULT_QUEUE = "default"
TUNED_QUEUES = (CRITICAL_QUEUE, SCRAPING_QUEUE, INDEXING_QUEUE, DEFAULT_QUEUE)

SCRAPE_TASK = "app.worker.tasks.scrape_domain"
INDEX_TASK = "app.worker.tasks.index_pages"
RECONCILE_TASK = "app.worker.tasks.reconcile_index"
PING_TASK = "app.worker.tasks.ping_critical"
TUNED_ROUTES = {
    SCRAPE_TASK: {"queue": SCRAPING_QUEUE},
    INDEX_TASK: {"queue": INDEXING_QUEUE},
    RECONCILE_TASK: {"queue": INDEXING_QUEUE},
    PING_TASK: {"queue": CRITICAL_QUEUE},
}

# The report's "current" configuration (docs/original-service.md, "Celery").
CURRENT_CONCURRENCY = 10
CURRENT_PREFETCH_MULTIPLIER = 3
CURRENT_MAX_TASKS_PER_CHILD = 100
CURRENT_TIME_LIMIT_S = 60 * 60
CURRENT_SOFT_TIME_LIMIT_S = 55 * 60


def queue_for(task_name: str, settings: Settings) -> str:
    """The queue a task lands on in this variant (what the API's send_task should use)."""
    if not settings.celery_tuning:
        return SINGLE_QUEUE
    route = TUNED_ROUTES.get(task_name)
    return route["queue"] if route else DEFAULT_QUEUE
