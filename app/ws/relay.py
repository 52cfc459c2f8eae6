"""Progress over Redis pub/sub, so any API process can deliver what any worker publishes.

Workers publish `{type, data, timestamp}` envelopes on `chrono:progress:<session id>` and
`chrono:user:<user id>`; each API process holds one pattern subscription to both and
hands every message to its connection manager, which delivers it to the connections of
that channel it holds (usually none). The original pushed progress into an in-process
manager that the Celery worker processes could never reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from typing import Any

import redis
import redis.asyncio as aioredis

from app.ws.manager import AnyManager

PROGRESS_PREFIX = "chrono:progress:"
USER_PREFIX = "chrono:user:"
PATTERNS = (PROGRESS_PREFIX + "*", USER_PREFIX + "*")
RECONNECT_DELAY_S = 1.0

log = logging.getLogger(__name__)


def progress_channel(scrape_session_id: int) -> str:
    return f"{PROGRESS_PREFIX}{scrape_session_id}"


def user_channel(user_id: int) -> str:
    return f"{USER_PREFIX}{user_id}"


def envelope(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "data": data, "timestamp": dt.datetime.now(dt.UTC).isoformat()}


def publish_progress(
    client: redis.Redis[bytes],
    *,
    scrape_session_id: int,
    user_id: int | None,
    kind: str,
    data: dict[str, Any],
) -> None:
    """For the pipeline (sync): one message to the session's and the user's channels."""
    payload = json.dumps(envelope(kind, {"scrape_session_id": scrape_session_id, **data}))
    client.publish(progress_channel(scrape_session_id), payload)
    if user_id is not None:
        client.publish(user_channel(user_id), payload)


class ProgressRelay:
    def __init__(self, client: aioredis.Redis[bytes], manager: AnyManager) -> None:
        self.client = client
        self.manager = manager
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="chrono-progress-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.psubscribe(*PATTERNS)
                    self.subscribed.set()
                    # A blocking read, without get_message's timeout per read (a fifth of
                    # the relay's CPU per message); subscription confirmations are skipped.
                    async for message in pubsub.listen():
                        await self._dispatch(message)
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                self.subscribed.clear()
                log.warning("progress relay lost Redis; reconnecting", exc_info=True)
                await asyncio.sleep(RECONNECT_DELAY_S)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        try:
            payload = json.loads(message["data"])
        except (TypeError, ValueError):
            log.warning("ignoring a non-JSON message on %s", channel)
            return
        if not isinstance(payload, dict) or "type" not in payload:
            payload = envelope("message", {"payload": payload})
        await self.manager.publish(channel, payload)
