"""Per-request latency and SQL statement count; the X-DB-Statements header when enabled."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.counting import begin_count, end_count
from app.metrics import DB_STATEMENTS_PER_REQUEST, HTTP_DURATION

STATEMENT_HEADER = b"x-db-statements"


def _route_of(scope: Scope) -> str:
    """The route template (`/api/v1/projects/{project_id}`), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


class MetricsMiddleware:
    """A plain ASGI middleware (not BaseHTTPMiddleware): the statement count is a context
    variable, and the endpoint must increment the very object this middleware reads."""

    def __init__(self, app: ASGIApp, *, expose_statement_count: bool) -> None:
        self.app = app
        self.expose_statement_count = expose_statement_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        count, token = begin_count()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if self.expose_statement_count:
                    headers = [
                        *message.get("headers", []),
                        (STATEMENT_HEADER, b"%d" % count.statements),
                    ]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            end_count(token)
            route = _route_of(scope)
            HTTP_DURATION.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
            DB_STATEMENTS_PER_REQUEST.labels(route).observe(count.statements)
