"""Scrape progress, published through Redis pub/sub.

The original pushed progress into an in-process WebSocket manager that no Celery worker
could reach. Publishing on Redis channels lets every API process forward it to its own
WebSocket clients: `chrono:progress:<scrape_session_id>` for a session's watchers and
`chrono:user:<user_id>` for the owner's dashboard. Messages are `{type, data, timestamp}`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

PROGRESS_CHANNEL_PREFIX = "chrono:progress:"
USER_CHANNEL_PREFIX = "chrono:user:"

logger = logging.getLogger(__name__)


def session_channel(scrape_session_id: int) -> str:
    return f"{PROGRESS_CHANNEL_PREFIX}{scrape_session_id}"


def user_channel(user_id: int) -> str:
    return f"{USER_CHANNEL_PREFIX}{user_id}"


def envelope(kind: str, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": kind, "data": data, "timestamp": datetime.now(UTC).isoformat()},
        default=str,
    )


class ProgressPublisher:
    """Publishes one session's progress to its channel and its owner's."""

    def __init__(
        self, client: aioredis.Redis[bytes], *, scrape_session_id: int, user_id: int
    ) -> None:
        self._client = client
        self._session_id = scrape_session_id
        self._user_id = user_id

    async def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Best effort: progress is advisory, so a Redis hiccup must not fail a scrape."""
        message = envelope(kind, {"scrape_session_id": self._session_id, **data})
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.publish(session_channel(self._session_id), message)
                pipe.publish(user_channel(self._user_id), message)
                await pipe.execute()
        except RedisError as error:
            logger.warning("progress not published (%s): %s", kind, error)
