"""The soak scenario: the API's memory over a fixed time, with the report's 100 dashboards.

The report's "current" holds 100 WebSocket connections; here one in ten of them is
stalled (scenarios/ws_clients.py) while progress flows to all at a running scrape's rate,
and the api mix (scenarios/locustfiles/api.py) keeps the API busy meanwhile. The API's
memory is sampled throughout: its PSS on the local runtime (a page shared by its forked
workers counts once), its container's cgroup memory on compose. `backend_memory_mb` is
the peak; `backend_memory_growth` the least-squares slope over the hold, in MiB per
minute. A queue that grows without bound would show as a slope, but only once the kernel's
buffers towards a stalled peer are full, which at this publish rate takes longer than
uvicorn's ping keepalive (20 s + 20 s) lets a stalled peer live (docs/lab-notes.md).
A hold shorter than MIN_SLOPE_HOLD_S (the quick profile's) measures the peak only: its
growth is kept, marked invalid, since it is no slope.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.collect.memory import growth_per_min
from harness.load.local import run_locust
from harness.load.spec import LocustResult
from harness.runtime.target import Target
from scenarios.api import ApiScenario
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile
from scenarios.websocket import create_users, run_client
from scenarios.ws_clients import CONNECTIONS_PER_USER

# Opening the connections and closing them again, beyond the hold.
CLIENT_SLACK_S = 60.0
# The shortest hold whose slope is a growth. The API's memory settles for seconds after
# the connections open (the demo's 10 s holds read 1.4-3.1 MiB/min on both sides, -0.5
# to 0.3 from their third second on): least squares reads a 1 MiB step 2 s into a hold
# as 5.8 MiB/min over 10 s but 0.2 over 60 s, well under the 1 MiB/min a flat API keeps.
MIN_SLOPE_HOLD_S = 60.0


class SoakScenario:
    name = "soak"
    metrics = ("backend_memory_mb", "backend_memory_growth")

    def __init__(self) -> None:
        self.users: list[dict[str, Any]] = []
        self.api = ApiScenario()

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        self.users = create_users(
            target, math.ceil(profile.soak_connections / CONNECTIONS_PER_USER), "soak-"
        )
        self.api.prepare(target, profile)

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """Nothing of its own: the runner's warm-up after each restart drives the API."""

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        out_dir.mkdir(parents=True, exist_ok=True)
        users_file = out_dir / "soak-users.json"
        users_file.write_text(json.dumps(self.users))
        load: list[LocustResult] = []
        locust = threading.Thread(
            target=lambda: load.append(run_locust(
                self.api.spec(target, replace(profile, api_duration_s=profile.soak_s)),
                out_dir, "soak-api", target.placement,
            )),
            name="soak-api-load", daemon=True,
        )  # fmt: skip
        locust.start()
        args = ["--users", str(users_file), "--hold", str(profile.soak_connections),
                "--hold-s", str(profile.soak_s)]  # fmt: skip
        result, memory, started, finished = run_client(
            target, out_dir, self.name, args, profile.soak_s + CLIENT_SLACK_S, pss=True
        )
        locust.join()
        held_from = result["hold"]["extra"].get("held_from", started)
        timed = [(t, v) for t, v in memory.timed if t >= held_from]
        invalid = load[0].invalid_reason if load else "the api load did not run"
        return WindowRecord(
            self.name, started, finished,
            {"api.peak_mb": max((v for _, v in memory.timed), default=math.nan),
             "api.growth_mib_per_min": growth_per_min(timed)},
            data={"hold": result["hold"], "samples": len(timed), "hold_s": profile.soak_s},
            invalid_reason=invalid,
        )  # fmt: skip

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        valid = record.invalid_reason is None
        hold_s = float(record.data.get("hold_s", math.inf))
        growth_reason = record.invalid_reason or (
            f"a {hold_s:g} s hold is too short for a slope (at least {MIN_SLOPE_HOLD_S:g} s): "
            "its growth is the memory settling after the connections opened"
            if hold_s < MIN_SLOPE_HOLD_S else None
        )  # fmt: skip
        return [
            Measurement("backend_memory_mb", record.readings["api.peak_mb"], valid,
                        record.invalid_reason),
            Measurement("backend_memory_growth", record.readings["api.growth_mib_per_min"],
                        growth_reason is None, growth_reason),
        ]  # fmt: skip
