"""The Chrono Scraper reference service: `create_app(settings)`, and `app` for uvicorn.

    uvicorn app.main:app --workers N     (settings from CHRONO_* environment variables)

`app` is built on first access (module __getattr__), so importing this module needs no
environment and tests build their own apps with their own settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import redis.asyncio as aioredis
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from app.api.main import api_router
from app.api.routes import health
from app.cache import ResponseCache
from app.core.config import Settings, get_settings
from app.core.context import AppContext
from app.core.loop_lag import watch_loop_lag
from app.core.middleware import MetricsMiddleware
from app.db.pool import Database
from app.frontend_serve import frontend_files
from app.metrics import mark_process_dead
from app.search import make_backend
from app.ws.manager import AnyManager, BoundedManager, UnboundedManager
from app.ws.relay import ProgressRelay

API_PREFIX = "/api/v1"
log = logging.getLogger(__name__)


def _ws_manager(settings: Settings) -> AnyManager:
    if settings.ws_manager:
        return BoundedManager(
            max_per_user=settings.ws_max_connections_per_user,
            send_timeout_s=settings.ws_send_timeout_s,
            min_interval_s=settings.ws_min_message_interval_s,
        )
    return UnboundedManager()


def create_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        await db.open()
        redis_client = aioredis.Redis.from_url(settings.redis_cache_url)
        manager = _ws_manager(settings)
        context = AppContext(
            settings=settings,
            db=db,
            redis=redis_client,
            cache=ResponseCache(redis_client, ttl_s=settings.cache_ttl_s)
            if settings.redis_cache
            else None,
            search=make_backend(settings),
            ws=manager,
            relay=ProgressRelay(redis_client, manager),
        )
        app.state.context = context
        context.relay.start()
        lag_watch = asyncio.create_task(watch_loop_lag(), name="chrono-loop-lag")
        log.info("chrono API up: %s", settings.switches())
        try:
            yield
        finally:
            lag_watch.cancel()
            await context.relay.stop()
            context.search.close()
            await redis_client.aclose()  # type: ignore[attr-defined]  # stubs predate it
            await db.close()
            mark_process_dead()

    app = FastAPI(
        title="Chrono Scraper (reference service)",
        version="1.0.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        lifespan=lifespan,
    )
    app.add_middleware(MetricsMiddleware, expose_statement_count=settings.expose_statement_count)
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(health.router)

    @app.exception_handler(psycopg.DataError)
    async def invalid_value(request: Request, error: psycopg.DataError) -> JSONResponse:
        # Values pydantic accepts but PostgreSQL cannot store (a NUL character, say),
        # answered in FastAPI's own validation-error shape so clients parse one format.
        message = f"A value is not valid for the database: {error.diag.message_primary}"
        detail = [{"loc": ["request"], "msg": message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    # The built web client (CHRONO_FRONTEND_SPLIT picks the build), mounted last so that
    # every API route above takes precedence.
    if (frontend := frontend_files()) is not None:
        app.mount("/", frontend, name="frontend")
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return create_app(get_settings())
    raise AttributeError(name)
