"""redis_cache: lookups, hits on repeats, 304 on a matching ETag, and a write invalidating.

The probe reads one project's statistics (a cached read) as the benchmark user, counting
lookups in the cache's own stats hash (`app/cache.py`). It orphans the user's entries
first, so every round starts from a miss, and makes its write through the API (a project
created, then deleted), so what it leaves is what it found.
"""

from __future__ import annotations

import redis

from app.cache import STATS_KEY, generation_key
from harness.run.probes.base import API, ProbeContext, ProbeError, Reading

PROBE_PROJECT = {"name": "chrono-bench cache probe", "description": "created and deleted"}


def _lookups(client: redis.Redis[bytes]) -> tuple[int, int]:
    raw = client.hgetall(STATS_KEY)
    return int(raw.get(b"hits", 0)), int(raw.get(b"misses", 0))


def redis_cache(context: ProbeContext, on: bool) -> Reading:
    """Off: no lookups, no ETag, no 304; on: miss then hit, 304 on the ETag, and a miss
    again after a write."""
    user_id, projects = context.bench_user()
    if not projects:
        raise ProbeError("the benchmark user has no projects")
    cache = context.redis_cache()
    cache.incr(generation_key(user_id))
    path = f"{API}/projects/{projects[0]}/stats"
    hits_0, misses_0 = _lookups(cache)
    with context.client() as client:
        first, second = client.get(path), client.get(path)
        etag = second.headers.get("ETag", "")
        revalidated = client.get(path, headers={"If-None-Match": etag or '"none"'})
        created = client.post(f"{API}/projects/", json=PROBE_PROJECT)
        if created.status_code != 201:
            raise ProbeError(f"POST {API}/projects/ answered {created.status_code}")
        client.delete(f"{API}/projects/{created.json()['id']}").raise_for_status()
        after_write = client.get(path)
    hits, misses = (a - b for a, b in zip(_lookups(cache), (hits_0, misses_0), strict=True))
    seen = [r.headers.get("X-Cache", "-") for r in (first, second, after_write)]
    figures: dict[str, float | str] = {
        "cache_hits": float(hits),
        "cache_misses": float(misses),
        "x_cache": " ".join(seen),
        "if_none_match_status": float(revalidated.status_code),
    }
    detail = (
        f"lookups {hits} hit / {misses} miss, X-Cache {' '.join(seen)}, "
        f"If-None-Match -> {revalidated.status_code}"
    )
    if on:
        ok = seen == ["MISS", "HIT", "MISS"] and revalidated.status_code == 304
        return Reading(ok, detail + " (fix: MISS HIT, 304, MISS after a write)", figures)
    ok = hits == misses == 0 and not etag and revalidated.status_code == 200
    return Reading(ok, detail + " (no cache: no lookups, no ETag, 200)", figures)
