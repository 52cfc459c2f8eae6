"""The response cache of the expensive reads (switch `redis_cache`, report sections 3 and 9).

Keys are scoped per user and carry the user's *generation*: every write that changes
what a user can read increments `chrono:cache:u:<id>:gen` (`invalidate_user`), which
orphans all of that user's entries at once — O(1), no SCAN. A read takes the generation
in the same round trip as the lookup and stores its result under that generation, so a
result computed while a write happened is stored under the old generation and never
served.

The ETag is a hash of the response body itself. The report hashed the cache key, which
does not change when the data does, so it would answer 304 to a client holding stale
data.

Hits and misses are counted twice: the Prometheus counter (per process, merged by
/metrics) and a Redis hash `chrono:cache:stats` that the harness can read directly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

import redis
import redis.asyncio as aioredis

from app.metrics import CACHE_REQUESTS

KEY_PREFIX = "chrono:cache"
STATS_KEY = f"{KEY_PREFIX}:stats"
ETAG_HEX_CHARS = 32

# KEYS[1] generation key, KEYS[2] stats hash; ARGV[1] entry key suffix. Returns
# {generation, entry or false}. One round trip for the generation, the entry and the count.
# The entry key is built inside the script: fine on one Redis, not on Redis Cluster.
LOOKUP_SCRIPT = """
local gen = redis.call('GET', KEYS[1]) or '0'
local entry = redis.call('GET', KEYS[1] .. ':' .. gen .. ':' .. ARGV[1])
redis.call('HINCRBY', KEYS[2], entry and 'hits' or 'misses', 1)
return {gen, entry}
"""


def generation_key(user_id: int) -> str:
    return f"{KEY_PREFIX}:u:{user_id}:gen"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:ETAG_HEX_CHARS] + '"'


def entry_name(name: str, params: dict[str, Any]) -> str:
    """A stable key part for one read and its parameters."""
    encoded = json.dumps(params, sort_keys=True, default=str).encode()
    return f"{name}:{hashlib.sha256(encoded).hexdigest()[:24]}"


@dataclass(frozen=True)
class Lookup:
    generation: str
    body: bytes | None


class ResponseCache:
    def __init__(self, client: aioredis.Redis[bytes], *, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self._lookup = client.register_script(LOOKUP_SCRIPT)

    async def lookup(self, user_id: int, name: str) -> Lookup:
        generation, body = cast(
            list[bytes | None],
            await self._lookup(keys=[generation_key(user_id), STATS_KEY], args=[name]),
        )
        CACHE_REQUESTS.labels("hit" if body is not None else "miss").inc()
        return Lookup(generation=(generation or b"0").decode(), body=body)

    async def store(self, user_id: int, generation: str, name: str, body: bytes) -> None:
        key = f"{generation_key(user_id)}:{generation}:{name}"
        await self.client.set(key, body, ex=self.ttl_s)

    async def invalidate_user(self, user_id: int) -> None:
        await invalidate_user(self.client, user_id)


async def invalidate_user(client: aioredis.Redis[bytes], user_id: int) -> None:
    """Orphan every cached read of this user (call after any write they could see)."""
    await client.incr(generation_key(user_id))


def invalidate_user_sync(client: redis.Redis[bytes], user_id: int) -> None:
    """The same for sync code such as Celery tasks that store pages."""
    client.incr(generation_key(user_id))


def cache_stats_sync(client: redis.Redis[bytes]) -> dict[str, int]:
    """Hits and misses since the stats hash was last reset (for the harness)."""
    raw = client.hgetall(STATS_KEY)
    return {key.decode(): int(value) for key, value in raw.items()}
