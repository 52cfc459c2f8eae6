"""Redis INFO deltas over a window: keyspace hits and misses, commands, memory."""

from __future__ import annotations

from typing import Any

import redis

from harness.collect import Readings
from harness.units import MIB

COUNTERS = ("keyspace_hits", "keyspace_misses", "total_commands_processed", "evicted_keys")


class RedisInfo:
    """One Redis server's counters between `begin()` and `end()`, named `<name>.<field>`."""

    def __init__(self, url: str, name: str) -> None:
        self._url = url
        self.name = name
        self._start: dict[str, Any] = {}

    def _info(self) -> dict[str, Any]:
        client: redis.Redis[bytes] = redis.Redis.from_url(self._url)
        try:
            return dict(client.info())
        finally:
            client.close()

    def begin(self) -> None:
        self._start = self._info()

    def end(self) -> Readings:
        info = self._info()
        readings = {
            f"{self.name}.{field}": float(info.get(field, 0)) - float(self._start.get(field, 0))
            for field in COUNTERS
        }
        readings[f"{self.name}.used_memory_mb"] = float(info["used_memory"]) / MIB
        return readings
