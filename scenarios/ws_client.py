"""The websocket load: connections opened step by step, progress published, delivery timed.

Runs as its own process on the load generator's core (asyncio, no locust):

    python -m scenarios.ws_client --api ws://127.0.0.1:PORT --redis URL --users FILE
        --step 50 --step-s 2 --max 300 --out result.json

Connections are spread round-robin over the users (so a per-user limit is respected up
to users x limit). During each step's hold a progress message is published to every
user's channel about every PUBLISH_INTERVAL_S; each connection records the delay from
publish to delivery. A step counts when at least DELIVERED_SHARE of the messages its
connections should have received arrived within DELIVERY_SLO_S.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import websockets

PUBLISH_INTERVAL_S = 0.5
DELIVERY_SLO_S = 1.0
DELIVERED_SHARE = 0.99
CONNECT_TIMEOUT_S = 5.0
USER_CHANNEL = "chrono:user:{}"


class Connection:
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.delays_s: list[float] = []
        self.open = False
        self.task: asyncio.Task[None] | None = None

    async def hold(self, url: str) -> None:
        try:
            async with websockets.connect(url, open_timeout=CONNECT_TIMEOUT_S) as ws:
                self.open = True
                async for raw in ws:
                    message = json.loads(raw)
                    sent = (message.get("data") or {}).get("sent_at")
                    if sent is not None:
                        self.delays_s.append(time.time() - float(sent))
        except (TimeoutError, OSError, websockets.WebSocketException):
            pass
        finally:
            self.open = False


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    users: list[dict[str, Any]] = json.loads(Path(args.users).read_text())
    publisher = aioredis.Redis.from_url(args.redis)
    connections: list[Connection] = []
    steps = []
    try:
        while len(connections) < args.max:
            for _ in range(args.step):
                user = users[len(connections) % len(users)]
                conn = Connection(user["id"])
                url = f"{args.api}/api/v1/ws/dashboard/{user['id']}?token={user['token']}"
                conn.task = asyncio.create_task(conn.hold(url))
                connections.append(conn)
            await asyncio.sleep(min(1.0, args.step_s / 2))  # let the handshakes finish
            before = {id(c): len(c.delays_s) for c in connections}
            published = 0
            hold_until = time.monotonic() + args.step_s
            while time.monotonic() < hold_until:
                for user_id in {c.user_id for c in connections}:
                    payload = {"type": "progress_update", "data": {"sent_at": time.time()}}
                    await publisher.publish(USER_CHANNEL.format(user_id), json.dumps(payload))
                published += 1
                await asyncio.sleep(PUBLISH_INTERVAL_S)
            await asyncio.sleep(DELIVERY_SLO_S)
            expected = published * len(connections)
            fresh = [d for c in connections for d in c.delays_s[before[id(c)] :]]
            on_time = sum(1 for d in fresh if d <= DELIVERY_SLO_S)
            held = sum(1 for c in connections if c.open)
            fresh.sort()
            p99 = fresh[min(len(fresh) - 1, int(0.99 * len(fresh)))] if fresh else None
            steps.append({
                "connections": len(connections), "held": held, "expected": expected,
                "on_time": on_time, "p99_ms": None if p99 is None else 1000 * p99,
            })  # fmt: skip
            if expected == 0 or on_time / expected < DELIVERED_SHARE:
                break
    finally:
        for conn in connections:
            if conn.task is not None:
                conn.task.cancel()
        for conn in connections:
            if conn.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.task
        await publisher.aclose()  # type: ignore[attr-defined]  # stubs predate it
    return {"steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="ws://host:port of the API")
    parser.add_argument("--redis", required=True, help="the Redis the API relays from")
    parser.add_argument("--users", required=True, help="JSON list of {id, token}")
    parser.add_argument("--step", type=int, required=True)
    parser.add_argument("--step-s", type=float, required=True)
    parser.add_argument("--max", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
