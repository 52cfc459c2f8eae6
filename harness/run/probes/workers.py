"""celery_tuning: the live workers' configuration, as `celery inspect` reports it.

Asked over the broker (the workers' remote control), so what is read is what the running
processes use, whatever their command line or environment said.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from app.worker.queues import (
    CURRENT_CONCURRENCY,
    CURRENT_MAX_TASKS_PER_CHILD,
    CURRENT_PREFETCH_MULTIPLIER,
    SCRAPING_QUEUE,
    SINGLE_QUEUE,
    TUNED_QUEUES,
)
from harness.run.probes.base import ProbeContext, ProbeError, Reading

INSPECT_TIMEOUT_S = 3.0
# Worker groups: one in the report's setup, scraping and fast with the fix (app.worker.command).
GROUPS_CURRENT = 1
GROUPS_TUNED = 2


def inspect_workers(broker_url: str, groups: int) -> dict[str, dict[str, Any]]:
    """Each worker's stats and queues; waits for `groups` replies at most the timeout."""
    app = Celery(broker=broker_url)
    try:
        inspect = app.control.inspect(timeout=INSPECT_TIMEOUT_S, limit=groups)
        stats = inspect.stats() or {}
        queues = inspect.active_queues() or {}
    finally:
        app.close()
    return {
        name: {**reply, "queues": sorted(q["name"] for q in queues.get(name, []))}
        for name, reply in stats.items()
    }


def celery_tuning(context: ProbeContext, on: bool) -> Reading:
    """Off: one worker on the one queue `celery`, concurrency 10, prefetch 3, 100 tasks
    per child; on: the routed queues, and the scraping group sized by the budget with
    prefetch 1."""
    workers = inspect_workers(context.target.broker_url(), GROUPS_TUNED if on else GROUPS_CURRENT)
    if not workers:
        raise ProbeError("no worker answered celery inspect")
    queues = sorted({q for w in workers.values() for q in w["queues"]})
    scraping = [
        w for w in workers.values() if (SCRAPING_QUEUE if on else SINGLE_QUEUE) in w["queues"]
    ]
    if not scraping:
        return Reading(
            False,
            f"no worker consumes {'scraping' if on else 'celery'}; queues {queues}",
            {"queues": ",".join(queues)},
        )
    main = scraping[0]
    concurrency = int(main["pool"]["max-concurrency"])
    prefetch = int(main["prefetch_count"]) // max(concurrency, 1)
    per_child = main["pool"].get("max-tasks-per-child")
    figures: dict[str, float | str] = {
        "workers": float(len(workers)),
        "queues": ",".join(queues),
        "concurrency": float(concurrency),
        "prefetch_multiplier": float(prefetch),
        "max_tasks_per_child": float(per_child) if per_child is not None else "none",
    }
    detail = (
        f"{len(workers)} worker(s) on {', '.join(queues)}; scraping pool {concurrency}, "
        f"prefetch x{prefetch}, {per_child} tasks per child"
    )
    if on:
        env = context.app_env()
        want = (set(TUNED_QUEUES), int(env["CHRONO_CELERY_CONCURRENCY"]), 1,
                int(env["CHRONO_CELERY_MAX_TASKS_PER_CHILD"]))  # fmt: skip
    else:
        want = ({SINGLE_QUEUE}, CURRENT_CONCURRENCY, CURRENT_PREFETCH_MULTIPLIER,
                CURRENT_MAX_TASKS_PER_CHILD)  # fmt: skip
    got = (set(queues), concurrency, prefetch, per_child)
    ok = got == want
    if not ok:
        detail += (
            f" (wanted queues {sorted(want[0])}, pool {want[1]}, prefetch x{want[2]}, "
            f"{want[3]} per child)"
        )
    return Reading(ok, detail, figures)
