"""/health (database, Redis, search) and /metrics, at the root as the original had them."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from app.api.deps import ContextDep
from app.db.migrate import present_performance_indexes
from app.metrics import render_metrics

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2.0


async def _check(probe: Any) -> str:
    try:
        ok = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as error:  # any failure of a dependency is "not ready", with the reason
        return f"error: {type(error).__name__}"
    return "ok" if ok is not False else "error: not ready"


async def _database(context: ContextDep) -> bool:
    async with context.db.connection() as conn:
        return await conn.fetch_one("SELECT 1 AS ok") is not None


@router.get("/health")
async def health(context: ContextDep) -> JSONResponse:
    """200 when the database, Redis and the search backend answer; 503 with details if not."""
    checks = {
        "database": await _check(_database(context)),
        "redis": await _check(context.redis.ping()),
        "search": await _check(context.search.ready()),
    }
    healthy = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {
        "status": "ok" if healthy else "unavailable",
        "checks": checks,
        "search_backend": context.search.name,
        "switches": context.settings.switches(),
    }
    if context.settings.canary_delay_ms:
        body["canary_delay_ms"] = context.settings.canary_delay_ms
    if checks["database"] == "ok":
        # db_indexes is applied by the harness; the app reports what is really there.
        body["performance_indexes"] = await anyio.to_thread.run_sync(
            present_performance_indexes, context.settings.database_url
        )
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    content, media_type = render_metrics()
    return Response(content, media_type=media_type)
