"""How late the event loop runs a timer: the cost of blocking calls in async endpoints.

A task sleeps `TICK_S` over and over and records by how much each wake-up came late. While
a synchronous database call runs inside an `async def` endpoint (`async_db` off) the loop
serves nothing, so the wake-up is late by the whole call; with the async pool it is late
by a few milliseconds of Python at most. The histogram is on /metrics, which listens where
the API does (loopback) and carries no user's data.
"""

from __future__ import annotations

import asyncio

from app.metrics import EVENT_LOOP_LAG

TICK_S = 0.02


async def watch_loop_lag(tick_s: float = TICK_S) -> None:
    """Record each tick's lateness until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(tick_s)
        EVENT_LOOP_LAG.observe(max(0.0, loop.time() - started - tick_s))
