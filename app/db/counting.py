"""Count every SQL statement a request sends, through psycopg cursor subclasses.

The pool hands out connections whose `cursor_factory` is one of the classes below, so
`conn.execute()`, `cursor.execute()` and `executemany()` all pass through here. A request
opens a `StatementCount` (metrics middleware); statements outside any request (startup,
health probes of other tools) only reach the process-wide counter. Transaction control
(BEGIN/COMMIT that psycopg sends itself) is not counted: the figure is the application's
SQL, the quantity the report's "401 queries" counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, LiteralString, Self

import psycopg
from psycopg import sql
from psycopg.abc import Params

from app.metrics import DB_STATEMENTS_TOTAL

Query = LiteralString | bytes | sql.SQL | sql.Composed


@dataclass
class StatementCount:
    statements: int = 0


_current: ContextVar[StatementCount | None] = ContextVar("chrono_statement_count", default=None)


def begin_count() -> tuple[StatementCount, Token[StatementCount | None]]:
    """Start counting for the current request; a mutable record shared by its subtasks."""
    count = StatementCount()
    return count, _current.set(count)


def end_count(token: Token[StatementCount | None]) -> None:
    _current.reset(token)


def record_statements(n: int = 1) -> None:
    DB_STATEMENTS_TOTAL.inc(n)
    count = _current.get()
    if count is not None:
        count.statements += n


class CountingCursor(psycopg.Cursor[Any]):
    def execute(  # type: ignore[override]  # t-string overload not used here
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        record_statements()
        return super().execute(query, params, prepare=prepare, binary=binary)

    def executemany(  # type: ignore[override]
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        batch = list(params_seq)
        record_statements(len(batch))
        super().executemany(query, batch, returning=returning)


class AsyncCountingCursor(psycopg.AsyncCursor[Any]):
    async def execute(  # type: ignore[override]  # t-string overload not used here
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        record_statements()
        return await super().execute(query, params, prepare=prepare, binary=binary)

    async def executemany(  # type: ignore[override]
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        batch = list(params_seq)
        record_statements(len(batch))
        await super().executemany(query, batch, returning=returning)
