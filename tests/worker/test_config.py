"""The Celery configuration and worker command lines of both celery_tuning variants."""

from __future__ import annotations

import pytest

from app.core.config import Settings
from app.worker import queues
from app.worker.command import worker_argv
from app.worker.config import RESULT_EXPIRES_S, build_config, create_celery_app

BASE = {
    "jwt_secret": "x" * 40,
    "redis_broker_url": "redis://127.0.0.1:1/1",
    "redis_cache_url": "redis://127.0.0.1:1/0",
}


def settings(**values: object) -> Settings:
    return Settings(**{**BASE, **values})  # type: ignore[arg-type]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_off_is_the_reports_current_configuration() -> None:
    config = build_config(settings(celery_tuning=False))
    assert config["task_default_queue"] == "celery"
    assert "task_routes" not in config
    assert (config["worker_concurrency"], config["worker_prefetch_multiplier"]) == (10, 3)
    assert config["worker_max_tasks_per_child"] == 100
    assert (config["task_time_limit"], config["task_soft_time_limit"]) == (3600, 3300)
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    (argv,) = worker_argv(settings(celery_tuning=False))
    assert option(argv, "--queues") == "celery"
    assert option(argv, "--concurrency") == "10"
    assert option(argv, "--prefetch-multiplier") == "3"


def test_on_routes_queues_and_takes_limits_from_settings() -> None:
    tuned = settings(
        celery_tuning=True,
        celery_concurrency=3,
        celery_max_memory_per_child_kib=250_000,
        celery_max_tasks_per_child=40,
        celery_time_limit_s=1800,
        celery_soft_time_limit_s=1500,
    )
    config = build_config(tuned)
    assert [q.name for q in config["task_queues"]] == [
        "critical",
        "scraping",
        "indexing",
        "default",
    ]
    assert (config["task_time_limit"], config["task_soft_time_limit"]) == (1800, 1500)
    assert config["worker_max_memory_per_child"] == 250_000
    assert config["result_expires"] == RESULT_EXPIRES_S
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    scraping, fast = worker_argv(tuned)
    assert option(scraping, "--queues") == "scraping,default"
    assert option(scraping, "--concurrency") == "3"
    assert option(scraping, "--prefetch-multiplier") == "1"
    assert option(fast, "--queues") == "critical,indexing"
    for argv in (scraping, fast):
        assert option(argv, "-O") == "fair"
        assert option(argv, "--max-memory-per-child") == "250000"
        assert option(argv, "--max-tasks-per-child") == "40"


@pytest.mark.parametrize(
    ("task", "tuned_queue"),
    [
        (queues.SCRAPE_TASK, "scraping"),
        (queues.INDEX_TASK, "indexing"),
        (queues.RECONCILE_TASK, "indexing"),
        (queues.PING_TASK, "critical"),
        ("app.worker.tasks.something_else", "default"),
    ],
)
def test_routing(task: str, tuned_queue: str) -> None:
    assert queues.queue_for(task, settings(celery_tuning=False)) == "celery"
    assert queues.queue_for(task, settings(celery_tuning=True)) == tuned_queue
    app = create_celery_app(settings(celery_tuning=True))
    assert app.amqp.router.route({}, task)["queue"].name == tuned_queue


def test_soft_limit_must_be_below_the_hard_limit() -> None:
    with pytest.raises(ValueError, match="soft_time_limit"):
        settings(celery_time_limit_s=100, celery_soft_time_limit_s=100)
