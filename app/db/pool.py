"""Connection pools and the one connection interface the services use.

Two switches meet here:

- `async_db` off: a psycopg (sync) `ConnectionPool`, and every query runs as a plain
  blocking call inside the `async def` endpoints — the report's "synchronous database
  operations in async endpoints": while PostgreSQL works, the event loop serves nobody.
  On: psycopg's `AsyncConnectionPool`; a query yields the loop while it waits.
- `db_pool` off: psycopg_pool's defaults (min_size=4, max_size = min_size); on: the
  budget's min/max (`Settings.pool_bounds`).

Services receive a `Conn` and await its methods in both modes, so the SQL is the same
code; only whether an await really yields differs. Routes hold a connection only for a
block of database work (`async with db.connection()`), never across other I/O: in the
blocking mode the loop cannot run another request while one is inside such a block, so a
request waiting for a connection can never wait on one held by a suspended request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, LiteralString, Protocol

import psycopg
from psycopg import sql
from psycopg.abc import Params
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from app.core.config import Settings
from app.db.counting import AsyncCountingCursor, CountingCursor
from app.metrics import DB_POOL_CONNECTIONS

Row = dict[str, Any]
# psycopg's Query minus t-strings (Template), which this code never builds.
Query = LiteralString | bytes | sql.SQL | sql.Composed
POOL_NAME = "chrono-api"
# How the API's sessions show in pg_stat_activity (the harness counts them).
APPLICATION_NAME = "chrono-api"

__all__ = ["Conn", "Database", "Params", "Query", "Row", "sql"]


class Conn(Protocol):
    """What services may do with a connection; autocommit unless inside `transaction()`."""

    async def fetch_all(self, query: Query, params: Params | None = None) -> list[Row]: ...

    async def fetch_one(self, query: Query, params: Params | None = None) -> Row | None: ...

    async def execute(self, query: Query, params: Params | None = None) -> int: ...

    def transaction(self) -> AbstractAsyncContextManager[None]: ...


class BlockingConn:
    """A sync psycopg connection behind awaitable methods that never yield the loop."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn

    async def fetch_all(self, query: Query, params: Params | None = None) -> list[Row]:
        return self._conn.execute(query, params).fetchall()

    async def fetch_one(self, query: Query, params: Params | None = None) -> Row | None:
        return self._conn.execute(query, params).fetchone()

    async def execute(self, query: Query, params: Params | None = None) -> int:
        return self._conn.execute(query, params).rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        with self._conn.transaction():
            yield


class AsyncConn:
    def __init__(self, conn: psycopg.AsyncConnection[Row]) -> None:
        self._conn = conn

    async def fetch_all(self, query: Query, params: Params | None = None) -> list[Row]:
        cursor = await self._conn.execute(query, params)
        return await cursor.fetchall()

    async def fetch_one(self, query: Query, params: Params | None = None) -> Row | None:
        cursor = await self._conn.execute(query, params)
        return await cursor.fetchone()

    async def execute(self, query: Query, params: Params | None = None) -> int:
        cursor = await self._conn.execute(query, params)
        return cursor.rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._conn.transaction():
            yield


class Database:
    """The process's pool, sync or async as `async_db` says, sized as `db_pool` says."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.min_size, self.max_size = settings.pool_bounds
        self._sync: ConnectionPool[psycopg.Connection[Row]] | None = None
        self._async: AsyncConnectionPool[psycopg.AsyncConnection[Row]] | None = None

    @property
    def is_async(self) -> bool:
        return self.settings.async_db

    async def open(self) -> None:
        common: dict[str, Any] = {
            "min_size": self.min_size,
            "max_size": self.max_size,
            "timeout": self.settings.db_pool_timeout_s,
            "name": POOL_NAME,
            "open": False,
        }
        if self.is_async:
            self._async = AsyncConnectionPool(
                self.settings.database_url,
                connection_class=psycopg.AsyncConnection[Row],
                kwargs={
                    "autocommit": True,
                    "row_factory": dict_row,
                    "cursor_factory": AsyncCountingCursor,
                    "application_name": APPLICATION_NAME,
                },
                **common,
            )
            await self._async.open(wait=True)
        else:
            self._sync = ConnectionPool(
                self.settings.database_url,
                connection_class=psycopg.Connection[Row],
                kwargs={
                    "autocommit": True,
                    "row_factory": dict_row,
                    "cursor_factory": CountingCursor,
                    "application_name": APPLICATION_NAME,
                },
                **common,
            )
            self._sync.open(wait=True)
        # The bounds this process runs with, summed over the API's processes by /metrics.
        DB_POOL_CONNECTIONS.labels("min").set(self.min_size)
        DB_POOL_CONNECTIONS.labels("max").set(self.max_size)

    async def close(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """One connection for a block of database work (see the module docstring)."""
        if self._async is not None:
            async with self._async.connection() as aconn:
                yield AsyncConn(aconn)
        elif self._sync is not None:
            with self._sync.connection() as conn:
                yield BlockingConn(conn)
        else:
            raise RuntimeError("Database.open() was not called")
        self._publish_pool_gauges()

    def stats(self) -> Mapping[str, int]:
        pool = self._async or self._sync
        return pool.get_stats() if pool is not None else {}

    def _publish_pool_gauges(self) -> None:
        stats = self.stats()
        DB_POOL_CONNECTIONS.labels("size").set(stats.get("pool_size", 0))
        DB_POOL_CONNECTIONS.labels("available").set(stats.get("pool_available", 0))
        DB_POOL_CONNECTIONS.labels("waiting").set(stats.get("requests_waiting", 0))
