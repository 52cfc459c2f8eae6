"""JSON bodies rendered once, and the cached-read path with content ETags (redis_cache)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter

from app.cache import ResponseCache, entry_name, etag_of

JSON = "application/json"
# private: per-user data, never in a shared cache. no-cache: the client revalidates every
# time (cheap with the ETag), so a write is visible at once rather than after a max-age.
CACHE_CONTROL = "private, no-cache"


def render(adapter: TypeAdapter[Any], value: Any) -> bytes:
    """Validate and serialise: the same bytes whether they come from the cache or not."""
    return adapter.dump_json(adapter.validate_python(value))


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


async def cached_json(
    request: Request,
    cache: ResponseCache | None,
    *,
    user_id: int,
    name: str,
    params: dict[str, Any],
    compute: Callable[[], Awaitable[bytes]],
) -> Response:
    """The body of `compute`, through the user's cache when the switch is on.

    `compute` raises HTTPException for errors, which are never cached.
    """
    if cache is None:
        return Response(await compute(), media_type=JSON)
    key = entry_name(name, params)
    lookup = await cache.lookup(user_id, key)
    body = lookup.body
    if body is None:
        body = await compute()
        await cache.store(user_id, lookup.generation, key, body)
    etag = etag_of(body)
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Cache": "HIT" if lookup.body is not None else "MISS",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=JSON, headers=headers)
