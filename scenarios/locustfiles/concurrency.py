"""The concurrency ramp: the api users, added step by step until the service degrades.

Every STEP_S seconds STEP_USERS more users join (up to MAX_USERS); the ramp stops early
once a step misses the SLO (p95 < 500 ms, errors < 1 %). Each request is recorded with
the user count of the step it started in and written to CHRONO_BENCH_SAMPLES_FILE when locust quits,
so the harness computes each step's p95 and error rate exactly. As it is:

    locust -f scenarios/locustfiles/concurrency.py --host http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from locust import LoadTestShape, events

from scenarios.locustfiles.api import ChronoScraperUser  # noqa: F401 - the users it ramps

STEP_USERS = int(os.environ.get("CHRONO_BENCH_STEP_USERS", "10"))
STEP_S = float(os.environ.get("CHRONO_BENCH_STEP_S", "10"))
MAX_USERS = int(os.environ.get("CHRONO_BENCH_MAX_USERS", "200"))
SAMPLES_FILE = os.environ.get("CHRONO_BENCH_SAMPLES_FILE", "")
P95_SLO_MS = 500.0
MAX_ERROR_RATIO = 0.01

# (step users, response time ms, ok) of every request, by the step it started in
samples: list[tuple[int, float, bool]] = []
# (wall-clock start, users) of every step so far
step_starts: list[tuple[float, int]] = []
current_users = 0


def users_at(moment: float) -> int:
    users = 0
    for start, step_users in step_starts:
        if start > moment:
            break
        users = step_users
    return users


@events.request.add_listener
def record(
    response_time: float, exception: Any, name: str, start_time: float | None = None, **_: Any
) -> None:
    if name in {"login", "setup: projects"}:
        return
    started = start_time if start_time is not None else time.time() - response_time / 1000
    samples.append((users_at(started), float(response_time), exception is None))


@events.quitting.add_listener
def save(**kwargs: Any) -> None:
    if SAMPLES_FILE:
        with open(SAMPLES_FILE, "w") as out:
            json.dump({"step_users": STEP_USERS, "samples": samples}, out)


def step_ok(users: int) -> bool:
    times = sorted(t for u, t, _ in samples if u == users)
    errors = sum(1 for u, _, ok in samples if u == users and not ok)
    if not times:
        return True
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return p95 < P95_SLO_MS and errors / len(times) < MAX_ERROR_RATIO


class StepRamp(LoadTestShape):
    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()

    def tick(self) -> tuple[int, float] | None:
        global current_users
        step = int((time.monotonic() - self.started) // STEP_S) + 1
        users = min(step * STEP_USERS, MAX_USERS)
        if users != current_users and current_users and not step_ok(current_users):
            return None
        if step * STEP_USERS > MAX_USERS and users == current_users:
            return None
        if users != current_users:
            step_starts.append((time.time(), users))
        current_users = users
        return users, float(STEP_USERS)
