"""The worker command lines for a settings object, so every runtime starts workers alike.

With `celery_tuning` on the queues are split over two worker process groups: `scraping`
(long scrape tasks and default) with the budget's concurrency and prefetch 1, and `fast`
(critical and indexing) with a small pool of its own, so that a short critical task is
never stuck behind a backlog of scrapes that hold every child of one pool for minutes.
"""

from __future__ import annotations

import sys

from app.core.config import Settings
from app.worker.queues import (
    CRITICAL_QUEUE,
    CURRENT_CONCURRENCY,
    CURRENT_MAX_TASKS_PER_CHILD,
    CURRENT_PREFETCH_MULTIPLIER,
    DEFAULT_QUEUE,
    INDEXING_QUEUE,
    SCRAPING_QUEUE,
    SINGLE_QUEUE,
)

CELERY_APP_MODULE = "app.worker.celery_app"
ENV_PREFIX = "CHRONO_"
# Critical and indexing tasks take milliseconds to a second: one child keeps up with them.
FAST_POOL_CONCURRENCY = 1


def worker_env(settings: Settings) -> dict[str, str]:
    """The CHRONO_* environment that recreates `settings` in a worker process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        key = f"{ENV_PREFIX}{name.upper()}"
        env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def _base(name: str, log_level: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        CELERY_APP_MODULE,
        "worker",
        "--hostname",
        f"{name}@%h",
        "--loglevel",
        log_level,
        "--without-gossip",
        "--without-mingle",
    ]


def worker_argv(settings: Settings, *, log_level: str = "INFO") -> list[list[str]]:
    """One command line per worker process group (one group when tuning is off)."""
    if not settings.celery_tuning:
        return [
            [
                *_base("chrono", log_level),
                "--queues",
                SINGLE_QUEUE,
                "--concurrency",
                str(CURRENT_CONCURRENCY),
                "--prefetch-multiplier",
                str(CURRENT_PREFETCH_MULTIPLIER),
                "--max-tasks-per-child",
                str(CURRENT_MAX_TASKS_PER_CHILD),
            ]
        ]
    limits = [
        "--max-tasks-per-child",
        str(settings.celery_max_tasks_per_child),
        "--max-memory-per-child",
        str(settings.celery_max_memory_per_child_kib),
        "-O",
        "fair",
    ]
    return [
        [
            *_base("scraping", log_level),
            "--queues",
            f"{SCRAPING_QUEUE},{DEFAULT_QUEUE}",
            "--concurrency",
            str(settings.celery_concurrency),
            "--prefetch-multiplier",
            "1",
            *limits,
        ],
        [
            *_base("fast", log_level),
            "--queues",
            f"{CRITICAL_QUEUE},{INDEXING_QUEUE}",
            "--concurrency",
            str(FAST_POOL_CONCURRENCY),
            "--prefetch-multiplier",
            str(settings.celery_prefetch_multiplier),
            *limits,
        ],
    ]
