"""async_db: does a slow database call block the API's event loop?

The probe holds an ACCESS EXCLUSIVE lock on `projects` for `LOCK_HOLD_S` while a few
requests that read it are in flight, then reads the API's loop-lag histogram
(`app/core/loop_lag.py`). Synchronous calls in async endpoints (off) leave the loop
stopped for the whole wait, so timers wake up late by about the hold; the async pool
(on) keeps the loop running.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from harness.run.probes.base import API, ProbeContext, ProbeError, Reading

LOCK_HOLD_S = 1.0
CONCURRENT_REQUESTS = 4
# A wake-up later than this means the loop was blocked (the hold is twice it). At 0.25 s
# a process descheduled on this busy 2-core machine once passed it with the async pool.
BLOCKED_LAG_S = 0.5
LAG_HISTOGRAM = "chrono_event_loop_lag_seconds"


def _lag_counts(context: ProbeContext) -> tuple[float, float]:
    """(ticks so far, ticks no later than BLOCKED_LAG_S) of the loop-lag histogram."""
    metrics = context.api_metrics()
    total = metrics.get(f"{LAG_HISTOGRAM}_count")
    within = metrics.get(f'{LAG_HISTOGRAM}_bucket{{le="{BLOCKED_LAG_S}"}}')
    if total is None or within is None:
        raise ProbeError(f"the API's /metrics has no {LAG_HISTOGRAM}")
    return total, within


def async_db(context: ProbeContext, on: bool) -> Reading:
    """Off: ticks late by more than BLOCKED_LAG_S while requests wait on the database;
    on: none."""
    _, projects = context.bench_user()
    if not projects:
        raise ProbeError("the benchmark user has no projects")
    path = f"{API}/projects/{projects[0]}"
    total_0, within_0 = _lag_counts(context)
    with context.client() as client, ThreadPoolExecutor(CONCURRENT_REQUESTS) as pool:
        with context.superuser() as conn, conn.transaction():
            conn.execute("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
            futures = [pool.submit(client.get, path) for _ in range(CONCURRENT_REQUESTS)]
            time.sleep(LOCK_HOLD_S)
        responses: list[httpx.Response] = [future.result() for future in futures]
    failed = [r.status_code for r in responses if r.status_code != 200]
    if failed:
        raise ProbeError(f"GET {path} answered {failed[0]} under the lock")
    total_1, within_1 = _lag_counts(context)
    late = (total_1 - total_0) - (within_1 - within_0)
    figures: dict[str, float | str] = {
        "ticks": total_1 - total_0,
        "ticks_late_over_500ms": late,
        "lock_hold_ms": LOCK_HOLD_S * 1000,
    }
    detail = (
        f"{late:.0f} of {total_1 - total_0:.0f} loop ticks late by > {BLOCKED_LAG_S * 1000:.0f} ms "
        f"while {CONCURRENT_REQUESTS} requests waited {LOCK_HOLD_S * 1000:.0f} ms on a lock"
    )
    return Reading(late == 0 if on else late >= 1, detail, figures)
