"""The Celery configuration: Redis broker and result backend, chosen by `celery_tuning`.

Off is the report's "current" configuration: every task on the one queue `celery`,
concurrency 10, prefetch 3, max_tasks_per_child 100, 60/55-minute limits. On is its fix:
queues critical, scraping, indexing and default with routing, pool sizes and memory
limits from the budget, prefetch 1 for long tasks, 30/25-minute limits, results expiring.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.entity import Queue

from app.core.config import Settings
from app.worker.queues import (
    CURRENT_CONCURRENCY,
    CURRENT_MAX_TASKS_PER_CHILD,
    CURRENT_PREFETCH_MULTIPLIER,
    CURRENT_SOFT_TIME_LIMIT_S,
    CURRENT_TIME_LIMIT_S,
    DEFAULT_QUEUE,
    SINGLE_QUEUE,
    TUNED_QUEUES,
    TUNED_ROUTES,
)

APP_NAME = "chrono_scraper"
RESULT_EXPIRES_S = 60 * 60


def build_config(settings: Settings) -> dict[str, Any]:
    """Celery settings for the variant `settings.celery_tuning` selects."""
    common: dict[str, Any] = {
        "broker_url": settings.redis_broker_url,
        "result_backend": settings.redis_broker_url,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "broker_transport_options": {
            "visibility_timeout": settings.celery_visibility_timeout_s,
            # Sweep for messages abandoned by a dead worker every tenth of the timeout, so
            # one is back in its queue within ~1.1 timeouts (kombu's default sweep is every
            # 100 s whatever the timeout).
            "unacked_restore_interval": max(1, settings.celery_visibility_timeout_s // 10),
            "unacked_restore_throttle": 1,
        },
        "broker_connection_retry_on_startup": True,
    }
    if not settings.celery_tuning:
        return {
            **common,
            "task_default_queue": SINGLE_QUEUE,
            "task_time_limit": CURRENT_TIME_LIMIT_S,
            "task_soft_time_limit": CURRENT_SOFT_TIME_LIMIT_S,
            "worker_prefetch_multiplier": CURRENT_PREFETCH_MULTIPLIER,
            "worker_max_tasks_per_child": CURRENT_MAX_TASKS_PER_CHILD,
            "worker_concurrency": CURRENT_CONCURRENCY,
        }
    return {
        **common,
        "task_default_queue": DEFAULT_QUEUE,
        # Plain queues: on Redis, AMQP priorities do not exist; separation comes from
        # routing and from a worker of its own for the critical queue (app.worker.command).
        "task_queues": tuple(
            Queue(name, routing_key=name)  # type: ignore[no-untyped-call]
            for name in TUNED_QUEUES
        ),
        "task_routes": TUNED_ROUTES,
        "task_time_limit": settings.celery_time_limit_s,
        "task_soft_time_limit": settings.celery_soft_time_limit_s,
        # Prefetch 1: a prefetched hour-long scrape would sit behind another on one child
        # while a sibling idles. Per-group overrides come from the command line.
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": settings.celery_max_tasks_per_child,
        "worker_max_memory_per_child": settings.celery_max_memory_per_child_kib,
        "worker_concurrency": settings.celery_concurrency,
        "result_expires": RESULT_EXPIRES_S,
    }


def create_celery_app(settings: Settings) -> Celery:
    app = Celery(APP_NAME)
    app.conf.update(build_config(settings))
    # Registers the tasks with this app when a worker (or a client) imports it.
    app.conf.imports = ("app.worker.tasks",)
    return app
