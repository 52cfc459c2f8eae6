"""What one API process holds for its lifetime: settings, pool, Redis, search, WebSockets."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from app.cache import ResponseCache
from app.core.config import Settings
from app.db.pool import Database
from app.search import SearchBackend
from app.ws.manager import AnyManager
from app.ws.relay import ProgressRelay


@dataclass
class AppContext:
    settings: Settings
    db: Database
    redis: aioredis.Redis[bytes]
    cache: ResponseCache | None
    search: SearchBackend
    ws: AnyManager
    relay: ProgressRelay
