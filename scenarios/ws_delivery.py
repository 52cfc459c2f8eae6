"""The WebSocket load's progress and its judge: numbered messages published, delays measured.

Progress is published on every user's channel at the rate one running scrape publishes
it (PUBLISH_HZ, in envelopes shaped like the pipeline's page_progress), each message
numbered. A reading connection's delay for message k is the time until it received k or
a later one (a bounded manager that coalesces delivers the newest state; one it never
delivers stays late). A ladder step (scenarios/ladder.py) holds when the reading
connections' delay p99 is under DELIVERY_SLO_S, no connection was refused or dropped
from the readers, and the API's memory stayed within its limit. Each step also records
what the messages cost the API: its processes' CPU seconds over the step per message the
readers received in it, and per message it had to send (published x connections, the
stalled included), which bounds how many connections one core can feed.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import redis.asyncio as aioredis

from harness.collect.cpu import saturated
from scenarios.ladder import Step
from scenarios.ws_clients import Fleet, Reader

# One running scrape's progress on its owner's channel: measured on `chrono-bench up` with
# every optimization on, a scrape of the quick corpus (4 domains of 40 captures) put 52
# messages on its user's channel in 12 s, 197 bytes each on average.
PUBLISH_HZ = 4.3
DELIVERY_SLO_S = 1.0
DELIVERY_QUANTILE = 0.99
USER_CHANNEL = "chrono:user:{}"
US_PER_S = 1_000_000
# Where a user's id goes in a message's text: a string json.dumps quotes and escapes, so
# its encoding appears nowhere else in the message.
USER_PLACEHOLDER = "\x00user\x00"


class Publisher:
    """Numbered progress on the channel of every user with a connection, PUBLISH_HZ
    times a second."""

    def __init__(self, redis_url: str, user_ids: Sequence[int], hz: float) -> None:
        self.client = aioredis.Redis.from_url(redis_url)
        self.user_ids = list(user_ids)
        self.interval_s = 1 / hz
        self.sent: list[float] = []  # publish time of message k at index k
        self.message_bytes = 0

    def envelope(self, seq: int, user_id: int | str, now: float) -> str:
        data = {"scrape_session_id": user_id, "domain_id": user_id, "total": 400,
                "stored": seq, "failed": 0, "skipped": 0, "session_completed": False,
                "seq": seq, "sent_at": now}  # fmt: skip
        return json.dumps({"type": "page_progress", "data": data,
                           "timestamp": datetime.fromtimestamp(now, UTC).isoformat()})  # fmt: skip

    def envelopes(self, seq: int, now: float) -> list[tuple[int, str]]:
        """Message `seq` for every user: `envelope`'s text, built once and the user's id put
        in (json.dumps per user took a tenth of the load generator's CPU)."""
        pieces = self.envelope(seq, USER_PLACEHOLDER, now).split(json.dumps(USER_PLACEHOLDER))
        return [(user_id, str(user_id).join(pieces)) for user_id in self.user_ids]

    async def run(self) -> None:
        next_at = time.monotonic()
        while True:
            seq, now = len(self.sent), time.time()
            async with self.client.pipeline(transaction=False) as pipe:
                for user_id, message in self.envelopes(seq, now):
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


def api_cost(
    cpu_s: float | None, seconds: float, delivered: int, sends: int
) -> dict[str, float | None]:
    """What a step's messages cost the API: `cpu_s` CPU seconds over `seconds`, in which
    readers received `delivered` messages and it had `sends` to send (None: not known)."""
    if cpu_s is None or seconds <= 0:
        return {"api_cpu_s": None, "api_cpu_pct": None,
                "api_cpu_us_per_delivered": None, "api_cpu_us_per_send": None}  # fmt: skip
    return {
        "api_cpu_s": cpu_s,
        "api_cpu_pct": 100 * cpu_s / seconds,
        "api_cpu_us_per_delivered": US_PER_S * cpu_s / delivered if delivered else None,
        "api_cpu_us_per_send": US_PER_S * cpu_s / sends if sends else None,
    }


def core_capacity(us_per_delivered: float, us_per_send: float, hz: float) -> tuple[float, float]:
    """Messages a second one core of the API's CPU delivers at `us_per_delivered`, and
    connections it feeds at `hz` messages a second each at `us_per_send`."""
    return US_PER_S / us_per_delivered, US_PER_S / (us_per_send * hz)


def judge(
    fleet: Fleet, publisher: Publisher, start: float, end: float, until: float,
    memory_mib: float | None, memory_limit_mib: float | None, cpu_pct: list[float],
    api_cpu_s: float | None = None,
) -> Step:  # fmt: skip
    """One step's outcome from what its connections saw (see the module docstring);
    `api_cpu_s` is the API's CPU seconds from `start` to `end`."""
    seqs = publisher.published_between(start, end)
    readers = fleet.readers()
    delivered = sum(1 for r in readers for _, at in r.received if start <= at < end)
    sends = len(seqs) * sum(1 for c in fleet.clients if c.opened)
    refused = [c for c in fleet.clients if c.refused is not None or not c.opened]
    dropped = [r for r in readers if r.dropped]
    all_delays = [d for r in readers if r.opened
                  for d in delays(r, publisher.sent, seqs, until)]  # fmt: skip
    p99 = quantile(all_delays, DELIVERY_QUANTILE) if all_delays else float("inf")
    problems = []
    if not all_delays:
        problems.append("nothing published or delivered")
    elif p99 == float("inf"):
        undelivered = sum(1 for d in all_delays if d == float("inf"))
        problems.append(f"delivery p99 > {DELIVERY_SLO_S:g} s: {undelivered} of {len(all_delays)} "
                        f"messages not delivered {until - end:g} s after the step")  # fmt: skip
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
        extra={"loadgen_cpu_mean_pct": sum(cpu_pct) / len(cpu_pct) if cpu_pct else None,
               "connections": load, "readers": len(readers),
               "stalled": load - len(readers), "refused": len(refused),
               "dropped": len(dropped), "messages": len(all_delays), "on_time": on_time,
               "p99_ms": 1000 * p99 if all_delays and p99 != float("inf") else None,
               "memory_peak_mib": memory_mib, "delivered": delivered, "sends": sends,
               **api_cost(api_cpu_s, end - start, delivered, sends)},
    )  # fmt: skip
