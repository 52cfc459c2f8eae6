"""The ASGI layer that imposes latency and faults on the archive routes (never on /_admin).

It must be the outermost app: a connection reset needs the server's own `send`, whose
transport it aborts with SO_LINGER 0 so the client sees a real RST mid-body rather than
a tidy close.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.upstream.faults import Conditions, FaultKind, FaultPlanner
from harness.upstream.stats import ServerStats

log = logging.getLogger(__name__)

ERROR_PAGES: dict[FaultKind, tuple[int, bytes]] = {
    FaultKind.TOO_MANY_REQUESTS: (
        429,
        b"<html><head><title>429 Too Many Requests</title></head><body>"
        b"<h1>Too Many Requests</h1><p>Please slow down.</p></body></html>\n",
    ),
    FaultKind.UNAVAILABLE: (
        503,
        b"<html><head><title>503 Service Unavailable</title></head><body>"
        b"<h1>Service Unavailable</h1></body></html>\n",
    ),
}


class _ResetDone(Exception):
    """Raised through the app once the connection has been reset."""


def route_of(path: str) -> Literal["cdx", "web"] | None:
    """The archive route a path belongs to (None: /_admin and the rest)."""
    if path.startswith("/cdx/"):
        return "cdx"
    if path.startswith("/web/"):
        return "web"
    return None


def abort_connection(send: Send) -> None:
    """Reset the TCP connection under `send` (uvicorn's response cycle holds the transport)."""
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise _ResetDone("no transport to reset; the server will drop the connection")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _Resetter:
    """A `send` that passes the headers and up to `after_bytes` of body, never all of it,
    then resets the connection."""

    def __init__(self, send: Send, after_bytes: int) -> None:
        self._send = send
        self._after_bytes = after_bytes
        self._start: Message | None = None
        self._sent = 0
        self.done = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message  # held back: an empty body is reset before any header
            return
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if more and self._sent + len(body) <= self._after_bytes:
            await self._flush_start()
            await self._send(message)
            self._sent += len(body)
            return
        whole = len(body) - 1 if more else len(body) // 2
        cut = max(0, min(self._after_bytes - self._sent, whole))
        if body or more or self._sent:
            await self._flush_start()
        if cut:
            await self._send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        self.done = True
        abort_connection(self._send)
        raise _ResetDone("connection reset as injected")

    async def _flush_start(self) -> None:
        if self._start is not None:
            await self._send(self._start)
            self._start = None


class ConditionsMiddleware:
    """Latency, faults and status counting around the stand-in's routes."""

    def __init__(self, app: ASGIApp, planner: FaultPlanner, stats: ServerStats) -> None:
        self.app = app
        self.planner = planner
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = route_of(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        fault, latency_s = self.planner.decide(target, route)
        self.stats.count_request(route, fault.value)
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        conditions = self.planner.conditions
        counted = self._counting(send, route)
        if fault in ERROR_PAGES:
            await self._error_page(fault, conditions, counted)
        elif fault is FaultKind.RESET:
            resetter = _Resetter(send, conditions.reset_after_bytes)
            try:
                await self.app(scope, receive, resetter.send)
            except Exception:
                # The reset unwinds the app, possibly wrapped in other errors on its way out.
                if not resetter.done:
                    raise
                log.debug("connection to %s reset as injected", target)
        elif fault is FaultKind.SLOW:
            await self.app(scope, receive, self._trickling(counted, conditions))
        else:
            await self.app(scope, receive, counted)

    def _counting(self, send: Send, route: str) -> Send:
        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.stats.count_status(route, int(message["status"]))
            await send(message)

        return counted

    @staticmethod
    async def _error_page(fault: FaultKind, conditions: Conditions, send: Send) -> None:
        status, body = ERROR_PAGES[fault]
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        if fault is FaultKind.TOO_MANY_REQUESTS:
            headers.append((b"retry-after", str(conditions.retry_after_s).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @staticmethod
    def _trickling(send: Send, conditions: Conditions) -> Send:
        """Send every body in small pieces with a pause between them."""
        size = conditions.slow_chunk_bytes
        delay_s = conditions.slow_chunk_delay_ms / 1000

        async def trickling(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
                return
            body: bytes = message.get("body", b"")
            more = bool(message.get("more_body", False))
            if not body:
                await send(message)
                return
            for offset in range(0, len(body), size):
                if offset:
                    # Pause between pieces only: after the last one the app goes on at once.
                    await asyncio.sleep(delay_s)
                last = offset + size >= len(body)
                piece = body[offset : offset + size]
                await send(
                    {"type": "http.response.body", "body": piece, "more_body": more or not last}
                )

        return trickling
