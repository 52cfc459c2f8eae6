"""The concurrency ladder: the report's users, more at each step, until the service degrades.

The users are the api locustfile's (logged in; list projects x3, stats x2, search x1; the
report's 1-3 s think time unless CHRONO_BENCH_WAIT_*_S say otherwise). A ladder
(scenarios/ladder.py) starts at CHRONO_BENCH_LADDER's `start` users and grows by its
`factor` every CHRONO_BENCH_STEP_S seconds until a step misses the SLO (p95 < 500 ms and
errors < 1 % over the requests started in it), the load generator saturates (any second
of this process above 90 % of a core) or the ceiling holds; with `bisect` it then
narrows the gap. A step with fewer than MIN_VERDICT_REQUESTS requests is held longer
(up to STEP_HOLD_MAX_S), unless what it has already fails any verdict on the minimum,
or it is climbing and passes on what it has (then it is provisional). A step is judged
EVAL_DELAY_S after it ends, so its slow requests can finish; one still running then
has taken longer than the SLO and counts as slow. The steps are written to
CHRONO_BENCH_SAMPLES_FILE when locust quits. As it is:

    locust -f scenarios/locustfiles/concurrency.py --host http://127.0.0.1:PORT --headless
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
from locust import LoadTestShape, events

from scenarios.ladder import Ladder, LadderSpec, Window, steady_phase_s
from scenarios.locustfiles import api, common

LADDER = LadderSpec(**json.loads(os.environ.get(
    "CHRONO_BENCH_LADDER", '{"start": 1, "factor": 2, "ceiling": 4096, "bisect": false}'
)))  # fmt: skip
STEP_S = float(os.environ.get("CHRONO_BENCH_STEP_S", "10"))
SAMPLES_FILE = os.environ.get("CHRONO_BENCH_SAMPLES_FILE", "")
# Longer than the SLO: a request of the step still running then is certainly too slow.
EVAL_DELAY_S = 1.0
# New users join over this long rather than all in one instant.
SPAWN_S = 1.0


ladder = Ladder(LADDER)
windows: list[Window] = []


def window_at(moment: float) -> Window | None:
    for window in reversed(windows):
        if window.holds(moment):
            return window
    return None


class LadderUser(api.ChronoScraperUser):
    """The api users, each request counted in the step it starts in."""

    def on_start(self) -> None:
        super().on_start()
        # A user who joins a step starts where a steady user would be in its think time:
        # started at once, the step's new users would send their first requests together,
        # a burst no steady load of that many users has.
        gevent.sleep(steady_phase_s(api.WAIT_MIN_S, api.WAIT_MAX_S))

    def before_request(self) -> None:
        window = window_at(time.time())
        if window is not None:
            window.requests_started += 1


@events.request.add_listener
def record(
    response_time: float, exception: Any, name: str, start_time: float | None = None, **_: Any
) -> None:
    if name in {"login", "setup: projects"}:
        return
    started = start_time if start_time is not None else time.time() - response_time / 1000
    window = window_at(started)
    if window is not None:
        window.times_ms.append(float(response_time))
        window.errors += exception is not None


@events.quitting.add_listener
def save(**kwargs: Any) -> None:
    if SAMPLES_FILE:
        with open(SAMPLES_FILE, "w") as out:
            json.dump({"steps": [step.to_json() for step in ladder.steps]}, out)


class LadderShape(LoadTestShape):
    """One step at a time; the next geometric step starts while the last is judged."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu_at = (time.monotonic(), time.process_time())
        self.pending: Window | None = None

    def _sample_cpu(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        if wall > self.cpu_at[0] and windows:
            windows[-1].cpu_pct.append(100 * (cpu - self.cpu_at[1]) / (wall - self.cpu_at[0]))
        self.cpu_at = (wall, cpu)

    def _open(self, users: int) -> None:
        windows.append(Window(users, time.time()))

    def tick(self) -> tuple[int, float] | None:
        now = time.time()
        self._sample_cpu()
        if not windows:
            if not common.logged_in():
                # the first users log in (a slow hash, once per process) before any step
                # starts its clock
                return LADDER.start, float(LADDER.start)
            self._open(LADDER.start)
        current = windows[-1]
        if current.ended is None and current.close_if_held(now, STEP_S, ladder.climbing):
            self.pending = current
            if ladder.climbing:
                # the likely next step, started now; dropped if the judged one failed
                following = ladder.grow(current.users)
                if following > current.users:
                    self._open(following)
        pending = self.pending
        if pending is not None and now >= (pending.ended or now) + EVAL_DELAY_S:
            ladder.record(pending.judge())
            self.pending = None
            load = ladder.next_load()
            if load is None:
                return None
            if windows[-1].ended is not None or windows[-1].users != load:
                if windows[-1].ended is None:
                    windows[-1].ended = now
                self._open(load)
        users = windows[-1].users
        previous = windows[-2].users if len(windows) > 1 else 0
        return users, max(1.0, abs(users - previous) / SPAWN_S)
