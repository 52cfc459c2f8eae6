"""The WebSocket load: dashboards on a ladder, a share of them stalled, progress published.

Runs as its own process on the load generator's core (asyncio, no locust):

    python -m scenarios.ws_client --api ws://127.0.0.1:PORT --redis URL --users FILE
        --ladder '{"start": 10, "factor": 2, "ceiling": 5120, "bisect": false}'
        --step-s 5 --memory-file FILE --memory-limit-mib 1024 --out result.json
    python -m scenarios.ws_client ... --hold 100 --hold-s 60 --out result.json

Connections go CONNECTIONS_PER_USER to a user (a user's dashboard open in that many tabs,
under the bounded manager's per-user limit). Every STALL_EVERY-th one is stalled: a raw socket
that completes the handshake and never reads again, as a suspended laptop's tab (a
WebSocket library keeps draining its socket in the background, so a client that merely
ignores its messages is not stalled); its receive buffer is the kernel's smallest, as a
peer that stopped reading long ago has a full one. The others read every message.

Progress is published on every user's channel at the rate one running scrape publishes
it (PUBLISH_HZ, in envelopes shaped like the pipeline's page_progress), each message
numbered. A reading connection's delay for message k is the time until it received k or
a later one (a bounded manager that coalesces delivers the newest state; one it never
delivers stays late). A ladder step (scenarios/ladder.py) holds when the reading
connections' delay p99 is under DELIVERY_SLO_S, no connection was refused or dropped
from the readers, and the API's memory (the harness appends its readings to
--memory-file) stayed within its limit. With --hold the connections are held for a
fixed time instead (the memory soak), and only the delivery is recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import websockets

from scenarios.ladder import Ladder, LadderSpec, Step, saturated

CONNECTIONS_PER_USER = 4
STALL_EVERY = 10  # one connection in ten stalls
# One running scrape's progress on its owner's channel: measured on `chrono-bench up` with
# every optimization on, a scrape of the quick corpus (4 domains of 40 captures) put 52
# messages on its user's channel in 12 s, 197 bytes each on average.
PUBLISH_HZ = 4.3
DELIVERY_SLO_S = 1.0
DELIVERY_QUANTILE = 0.99
CONNECT_TIMEOUT_S = 10.0
# A step's new connections must all be open within this long, or the rest count as refused.
OPENING_LIMIT_S = 60.0
# Handshakes in flight at once: enough to open thousands in seconds, few enough that the
# API's accept queue never overflows.
OPENING_AT_ONCE = 100
# The smallest receive buffer Linux grants (it doubles the asked size).
STALLED_RCVBUF_BYTES = 2048
USER_CHANNEL = "chrono:user:{}"
HANDSHAKE_END = b"\r\n\r\n"
CPU_SAMPLE_S = 1.0
CLOSE_GRACE_S = 5.0

LOG = logging.getLogger("ws_client")


@dataclass(eq=False)
class Reader:
    """A dashboard that reads every message: (number, arrival) of each."""

    user_id: int
    url: str
    received: list[tuple[int, float]] = field(default_factory=list)
    opened: bool = False
    refused: str | None = None
    dropped: bool = False
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        try:
            await self._hold()
        finally:
            self.ready.set()

    async def _hold(self) -> None:
        try:
            async with websockets.connect(self.url, open_timeout=CONNECT_TIMEOUT_S) as ws:
                first = json.loads(await ws.recv())
                if first.get("type") != "connected":
                    self.refused = f"first message {first.get('type')!r}"
                    return
                self.opened = True
                self.ready.set()
                async for raw in ws:
                    seq = (json.loads(raw).get("data") or {}).get("seq")
                    if seq is not None:
                        self.received.append((int(seq), time.time()))
            self.dropped = True
        except websockets.ConnectionClosed as closed:
            if self.opened:
                self.dropped = True
            else:
                self.refused = f"closed {closed.rcvd.code if closed.rcvd else 'abruptly'}"
        except (TimeoutError, OSError, websockets.WebSocketException) as error:
            if self.opened:
                self.dropped = True
            else:
                self.refused = type(error).__name__


@dataclass(eq=False)
class Stalled:
    """A client that completes the handshake and never reads again."""

    user_id: int
    url: str
    opened: bool = False
    refused: str | None = None
    sock: socket.socket | None = None
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        parts = urlsplit(self.url)
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF_BYTES)
        sock.setblocking(False)
        self.sock = sock
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await loop.sock_connect(sock, (parts.hostname, parts.port))
                key = base64.b64encode(os.urandom(16)).decode()
                request = (
                    f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                await loop.sock_sendall(sock, request.encode())
                answer = b""
                while HANDSHAKE_END not in answer:
                    chunk = await loop.sock_recv(sock, 1)  # never past the handshake
                    if not chunk:
                        break
                    answer += chunk
            if answer.startswith(b"HTTP/1.1 101"):
                self.opened = True
            else:
                self.refused = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
        except (TimeoutError, OSError) as error:
            self.refused = type(error).__name__
        finally:
            self.ready.set()
        await asyncio.Event().wait()  # stalled until cancelled

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


Client = Reader | Stalled


class Publisher:
    """Numbered progress on the channel of every user with a connection, PUBLISH_HZ
    times a second."""

    def __init__(self, redis_url: str, user_ids: Sequence[int], hz: float) -> None:
        self.client = aioredis.Redis.from_url(redis_url)
        self.user_ids = list(user_ids)
        self.interval_s = 1 / hz
        self.sent: list[float] = []  # publish time of message k at index k
        self.message_bytes = 0

    def envelope(self, seq: int, user_id: int, now: float) -> str:
        data = {"scrape_session_id": user_id, "domain_id": user_id, "total": 400,
                "stored": seq, "failed": 0, "skipped": 0, "session_completed": False,
                "seq": seq, "sent_at": now}  # fmt: skip
        return json.dumps({"type": "page_progress", "data": data,
                           "timestamp": datetime.fromtimestamp(now, UTC).isoformat()})  # fmt: skip

    async def run(self) -> None:
        next_at = time.monotonic()
        while True:
            seq, now = len(self.sent), time.time()
            async with self.client.pipeline(transaction=False) as pipe:
                for user_id in self.user_ids:
                    message = self.envelope(seq, user_id, now)
                    self.message_bytes = len(message)
                    pipe.publish(USER_CHANNEL.format(user_id), message)
                self.sent.append(now)
                await pipe.execute()
            next_at += self.interval_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def published_between(self, start: float, end: float) -> range:
        return range(bisect.bisect_left(self.sent, start), bisect.bisect_left(self.sent, end))


def delays(reader: Reader, sent: Sequence[float], seqs: range, until: float) -> list[float]:
    """Each message's delay on one reader: until it or a later one arrived (inf: never)."""
    arrivals = sorted(reader.received)
    result = []
    # the earliest arrival of any message numbered >= k, scanning from the newest
    earliest_from: dict[int, float] = {}
    best = float("inf")
    for seq, arrived in reversed(arrivals):
        best = min(best, arrived)
        earliest_from[seq] = best
    keys = sorted(earliest_from)
    for k in seqs:
        index = bisect.bisect_left(keys, k)
        arrived = earliest_from[keys[index]] if index < len(keys) else float("inf")
        result.append(arrived - sent[k] if arrived <= until else float("inf"))
    return result


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]


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


class Fleet:
    """The connections of the run, opened and closed to a target count."""

    def __init__(self, api: str, users: Sequence[dict[str, Any]]) -> None:
        self.api = api
        self.users = users
        self.clients: list[Client] = []

    async def resize(self, count: int) -> None:
        while len(self.clients) > count:
            gone = self.clients.pop()
            if gone.task is not None:
                gone.task.cancel()
            if isinstance(gone, Stalled):
                gone.close()
        fresh: list[Client] = []
        for index in range(len(self.clients), count):
            user = self.users[(index // CONNECTIONS_PER_USER) % len(self.users)]
            url = f"{self.api}/api/v1/ws/dashboard/{user['id']}?token={user['token']}"
            stalled = index % STALL_EVERY == STALL_EVERY - 1
            client: Client = Stalled(user["id"], url) if stalled else Reader(user["id"], url)
            fresh.append(client)
        gate = asyncio.Semaphore(OPENING_AT_ONCE)

        async def open_one(client: Client) -> None:
            async with gate:
                client.task = asyncio.create_task(client.hold())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.ready.wait(), CONNECT_TIMEOUT_S + 1)

        started = time.monotonic()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(open_one(client) for client in fresh)), OPENING_LIMIT_S
            )
        except TimeoutError:  # a server this slow to accept refuses the rest in effect
            for client in fresh:
                if not client.opened and client.refused is None:
                    client.refused = f"not open within {OPENING_LIMIT_S:g} s"
        self.clients.extend(fresh)
        LOG.info("%d connections open (%d new in %.1f s)", count, len(fresh),
                 time.monotonic() - started)  # fmt: skip

    def user_ids(self) -> list[int]:
        return sorted({client.user_id for client in self.clients})

    def readers(self) -> list[Reader]:
        return [c for c in self.clients if isinstance(c, Reader)]

    async def close(self) -> None:
        await self.resize(0)


def judge(
    fleet: Fleet, publisher: Publisher, start: float, end: float, until: float,
    memory_mib: float | None, memory_limit_mib: float | None, cpu_pct: list[float],
) -> Step:  # fmt: skip
    """One step's outcome from what its connections saw (see the module docstring)."""
    seqs = publisher.published_between(start, end)
    readers = fleet.readers()
    refused = [c for c in fleet.clients if c.refused is not None or not c.opened]
    dropped = [r for r in readers if r.dropped]
    all_delays = [d for r in readers if r.opened
                  for d in delays(r, publisher.sent, seqs, until)]  # fmt: skip
    p99 = quantile(all_delays, DELIVERY_QUANTILE) if all_delays else float("inf")
    problems = []
    if not all_delays:
        problems.append("nothing published or delivered")
    elif p99 >= DELIVERY_SLO_S:
        problems.append(f"delivery p99 {p99:.2f} s")
    if refused:
        reasons = sorted({c.refused or "not opened" for c in refused})
        problems.append(f"{len(refused)} refused ({', '.join(reasons[:3])})")
    if dropped:
        problems.append(f"{len(dropped)} readers dropped")
    over = memory_mib is not None and memory_limit_mib is not None and memory_mib > memory_limit_mib
    if over:
        problems.append(f"API memory {memory_mib:.0f} MiB > {memory_limit_mib:.0f} MiB")
    load = len(fleet.clients)
    on_time = sum(1 for d in all_delays if d < DELIVERY_SLO_S)
    return Step(
        load, not problems, loadgen_bound=saturated(cpu_pct),
        detail="; ".join(problems) or f"delivery p99 {p99 * 1000:.0f} ms",
        cpu_max_pct=max(cpu_pct, default=0.0),
        extra={"connections": load, "readers": len(readers),
               "stalled": load - len(readers), "refused": len(refused),
               "dropped": len(dropped), "messages": len(all_delays), "on_time": on_time,
               "p99_ms": 1000 * p99 if all_delays and p99 != float("inf") else None,
               "memory_peak_mib": memory_mib},
    )  # fmt: skip


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    users: list[dict[str, Any]] = json.loads(Path(args.users).read_text())
    memory_file = Path(args.memory_file) if args.memory_file else None
    fleet = Fleet(args.api, users)
    publisher = Publisher(args.redis, [], args.publish_hz)
    cpu = CpuMeter()
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
                await fleet.resize(load)
                publisher.user_ids = fleet.user_ids()
                start = time.time()
                await asyncio.sleep(args.step_s)
                end = time.time()
                await asyncio.sleep(DELIVERY_SLO_S)
                until = time.time()
                step = judge(
                    fleet, publisher, start, end, until,
                    memory_peak_mib(memory_file, start, until), args.memory_limit_mib,
                    cpu.between(start, until),
                )  # fmt: skip
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
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.hold and not args.ladder:
        parser.error("give --ladder or --hold")
    asyncio.run(measure_and_exit(args))


async def measure_and_exit(args: argparse.Namespace) -> None:
    """Measure, write the result, and end: connections still closing end with the process
    (asyncio.run would wait for every one of them, for minutes on a busy server)."""
    result = await measure(args)
    Path(args.out).write_text(json.dumps(result))
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
