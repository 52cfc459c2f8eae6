"""The WebSocket load's process: dashboards on a ladder, some stalled, progress published.

Runs as its own process on the load generator's core (asyncio, no locust):

    python -m scenarios.ws_client --api ws://127.0.0.1:PORT --redis URL --users FILE
        --ladder '{"start": 10, "factor": 2, "ceiling": 5120, "bisect": false}'
        --step-s 5 --memory-file FILE --memory-limit-mib 1024 --api-pids 41,42
        --out result.json
    python -m scenarios.ws_client ... --hold 100 --hold-s 60 --out result.json

The connections are scenarios/ws_clients.py's, the progress and each step's judgement
scenarios/ws_delivery.py's; the harness appends the API's memory readings to
--memory-file, and each step reads the CPU time of the --api-pids' process trees. A step
after a failed one (the bisection) opens its connections from none, once readers of the
last users in --users (kept for this probe) get progress on time again. With --hold the
connections are held for a fixed time instead (the memory soak), and only the delivery
is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvloop

from harness.collect.cpu import group_cpu_seconds
from scenarios.ladder import Ladder, LadderSpec
from scenarios.ws_clients import CONNECTIONS_PER_USER, STALL_EVERY, Fleet, Reader
from scenarios.ws_delivery import DELIVERY_SLO_S, PUBLISH_HZ, Publisher, judge

CPU_SAMPLE_S = 1.0
CLOSE_GRACE_S = 5.0
# After a failed step the API may still be working off its backlog (the unbounded
# manager's queues, the relay's unread Redis messages), which a lower step would inherit
# and fail on: before each later step every connection is closed until readers on the
# last PROBE_USERS users (kept out of the fleet) get progress on time again.
PROBE_USERS = 2
SETTLE_LIMIT_S = 60.0
SETTLE_POLL_S = 0.5

LOG = logging.getLogger("ws_client")


class CpuMeter:
    """This process's CPU, one sample a second, in % of a core."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (end of the second, %)

    async def run(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        while True:
            await asyncio.sleep(CPU_SAMPLE_S)
            now_wall, now_cpu = time.monotonic(), time.process_time()
            self.samples.append((time.time(), 100 * (now_cpu - cpu) / (now_wall - wall)))
            wall, cpu = now_wall, now_cpu

    def between(self, start: float, end: float) -> list[float]:
        return [pct for at, pct in self.samples if start < at <= end]


def memory_peak_mib(path: Path | None, start: float, end: float) -> float | None:
    """The highest reading the harness appended between two moments ("<unix s> <MiB>")."""
    if path is None or not path.exists():
        return None
    peak = None
    for line in path.read_text().splitlines():
        at, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            if start <= float(at) <= end:
                peak = max(peak or 0.0, float(value))
    return peak


def on_time(readers: list[Reader], sent: list[float], now: float) -> bool:
    """Whether every reader's newest message was published within the delivery SLO."""
    return all(
        r.opened and r.received and now - sent[max(seq for seq, _ in r.received)] < DELIVERY_SLO_S
        for r in readers
    )


async def settle(api: str, users: list[dict[str, Any]], publisher: Publisher) -> float | None:
    """Seconds until fresh readers of `users` get progress on time (None: not within
    SETTLE_LIMIT_S); the publisher feeds only them meanwhile."""
    probe = Fleet(api, users)
    started = time.monotonic()
    try:
        await probe.resize(len(users) * CONNECTIONS_PER_USER)
        publisher.user_ids = probe.user_ids()
        while time.monotonic() - started < SETTLE_LIMIT_S:
            await asyncio.sleep(SETTLE_POLL_S)
            if on_time(probe.readers(), publisher.sent, time.time()):
                return time.monotonic() - started
        return None
    finally:
        await probe.close()


async def open_step(
    fleet: Fleet, ladder: Ladder, load: int, settled: Callable[[], Awaitable[float | None]]
) -> dict[str, Any]:
    """Open the step's connections; after a failure from none, once the API settled."""
    if ladder.climbing:
        await fleet.resize(load)
        return {}
    await fleet.resize(0)
    settle_s = await settled()
    await fleet.resize(load)
    return {"settle_s": settle_s}


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    users: list[dict[str, Any]] = json.loads(Path(args.users).read_text())
    memory_file = Path(args.memory_file) if args.memory_file else None
    probe_users = users[-PROBE_USERS:] if args.ladder else []
    fleet = Fleet(args.api, users[: len(users) - len(probe_users)])
    publisher = Publisher(args.redis, [], args.publish_hz)
    cpu = CpuMeter()
    api_pids = [int(pid) for pid in args.api_pids.split(",") if pid] if args.api_pids else []

    def api_cpu_s() -> float | None:
        return group_cpu_seconds(api_pids) if api_pids else None

    background = [asyncio.create_task(publisher.run()), asyncio.create_task(cpu.run())]
    result: dict[str, Any] = {"stall_every": STALL_EVERY, "publish_hz": args.publish_hz}
    try:
        if args.hold:
            await fleet.resize(args.hold)
            publisher.user_ids = fleet.user_ids()
            start = time.time()
            await asyncio.sleep(args.hold_s)
            end = time.time()
            await asyncio.sleep(DELIVERY_SLO_S)
            step = judge(fleet, publisher, start, end, time.time(), None, None,
                         cpu.between(start, end))  # fmt: skip
            result["hold"] = {**step.to_json(), "extra": {**step.extra, "held_from": start}}
        else:
            ladder = Ladder(LadderSpec(**json.loads(args.ladder), unit="connections"))
            while (load := ladder.next_load()) is not None:
                settling = await open_step(
                    fleet, ladder, load, lambda: settle(args.api, probe_users, publisher)
                )
                publisher.user_ids = fleet.user_ids()
                start, api_cpu_start = time.time(), api_cpu_s()
                await asyncio.sleep(args.step_s)
                end, api_cpu_end = time.time(), api_cpu_s()
                await asyncio.sleep(DELIVERY_SLO_S)
                until = time.time()
                step = judge(
                    fleet, publisher, start, end, until,
                    memory_peak_mib(memory_file, start, until), args.memory_limit_mib,
                    cpu.between(start, until),
                    None if api_cpu_start is None or api_cpu_end is None
                    else api_cpu_end - api_cpu_start,
                )  # fmt: skip
                if settling:
                    step = replace(step, extra={**step.extra, **settling})
                LOG.info("%d connections: %s", load, step.detail)
                ladder.record(step)
            result["steps"] = [step.to_json() for step in ladder.steps]
        result["message_bytes"] = publisher.message_bytes
    finally:
        tasks = [*background, *(c.task for c in fleet.clients if c.task is not None)]
        for task in background:
            task.cancel()
        await fleet.close()  # cancels the connections' tasks, closes the stalled sockets
        # A busy server answers closing handshakes late: whatever is still closing then is
        # closed by the process's exit.
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_GRACE_S)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(publisher.client.aclose(), CLOSE_GRACE_S)  # type: ignore[attr-defined]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--api", required=True, help="ws://host:port of the API")
    parser.add_argument("--redis", required=True, help="the Redis the API relays from")
    parser.add_argument("--users", required=True, help="JSON list of {id, token}")
    parser.add_argument("--ladder", help="the ladder as JSON: start, factor, ceiling, bisect")
    parser.add_argument("--step-s", type=float, default=5.0, help="how long each step holds")
    parser.add_argument("--hold", type=int, default=0, help="hold this many connections instead")
    parser.add_argument("--hold-s", type=float, default=60.0)
    parser.add_argument("--publish-hz", type=float, default=PUBLISH_HZ)
    parser.add_argument("--memory-file", help="the API's memory readings, '<unix s> <MiB>'")
    parser.add_argument("--memory-limit-mib", type=float, help="the API's memory limit")
    parser.add_argument("--api-pids", help="the API's processes, comma-separated (their CPU)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.hold and not args.ladder:
        parser.error("give --ladder or --hold")
    # uvloop: about 28 us of this process's CPU per delivered message, 38 on asyncio's
    # own loop (docs/lab-notes.md)
    uvloop.run(measure_and_exit(args))


async def measure_and_exit(args: argparse.Namespace) -> None:
    """Measure, write the result, and end: connections still closing end with the process
    (asyncio.run would wait for every one of them, for minutes on a busy server)."""
    result = await measure(args)
    Path(args.out).write_text(json.dumps(result))
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
