"""The WebSocket load's connections: dashboards that read, dashboards that stall, a fleet.

Connections go CONNECTIONS_PER_USER to a user (a user's dashboard open in that many tabs,
under the bounded manager's per-user limit). Every STALL_EVERY-th one is stalled: a raw socket
that completes the handshake and never reads again, as a suspended laptop's tab (a
WebSocket library keeps draining its socket in the background, so a client that merely
ignores its messages is not stalled); its receive buffer is the kernel's smallest, so
that what it leaves unread piles up on the API's side at once. The others read every
message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets

CONNECTIONS_PER_USER = 4
STALL_EVERY = 10  # one connection in ten stalls
CONNECT_TIMEOUT_S = 10.0
# A step's new connections must all be open within this long, or the rest count as refused.
OPENING_LIMIT_S = 60.0
# Handshakes in flight at once: enough to open thousands in seconds, few enough that the
# API's accept queue never overflows.
OPENING_AT_ONCE = 100
# The smallest receive buffer Linux grants (it doubles the asked size).
STALLED_RCVBUF_BYTES = 2048
HANDSHAKE_END = b"\r\n\r\n"

LOG = logging.getLogger("ws_client")


@dataclass(eq=False)
class Reader:
    """A dashboard that reads every message: (number, arrival) of each."""

    user_id: int
    url: str
    received: list[tuple[int, float]] = field(default_factory=list)
    opened: bool = False
    refused: str | None = None
    dropped: bool = False
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        try:
            await self._hold()
        finally:
            self.ready.set()

    async def _hold(self) -> None:
        try:
            async with websockets.connect(self.url, open_timeout=CONNECT_TIMEOUT_S) as ws:
                first = json.loads(await ws.recv())
                if first.get("type") != "connected":
                    self.refused = f"first message {first.get('type')!r}"
                    return
                self.opened = True
                self.ready.set()
                async for raw in ws:
                    seq = (json.loads(raw).get("data") or {}).get("seq")
                    if seq is not None:
                        self.received.append((int(seq), time.time()))
            self.dropped = True
        except websockets.ConnectionClosed as closed:
            if self.opened:
                self.dropped = True
            else:
                self.refused = f"closed {closed.rcvd.code if closed.rcvd else 'abruptly'}"
        except (TimeoutError, OSError, websockets.WebSocketException) as error:
            if self.opened:
                self.dropped = True
            else:
                self.refused = type(error).__name__


@dataclass(eq=False)
class Stalled:
    """A client that completes the handshake and never reads again."""

    user_id: int
    url: str
    opened: bool = False
    refused: str | None = None
    sock: socket.socket | None = None
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        parts = urlsplit(self.url)
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF_BYTES)
        sock.setblocking(False)
        self.sock = sock
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await loop.sock_connect(sock, (parts.hostname, parts.port))
                key = base64.b64encode(os.urandom(16)).decode()
                request = (
                    f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                await loop.sock_sendall(sock, request.encode())
                answer = b""
                while HANDSHAKE_END not in answer:
                    chunk = await loop.sock_recv(sock, 1)  # never past the handshake
                    if not chunk:
                        break
                    answer += chunk
            if answer.startswith(b"HTTP/1.1 101"):
                self.opened = True
            else:
                self.refused = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
        except (TimeoutError, OSError) as error:
            self.refused = type(error).__name__
        finally:
            self.ready.set()
        await asyncio.Event().wait()  # stalled until cancelled

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


Client = Reader | Stalled


class Fleet:
    """The connections of the run, opened and closed to a target count."""

    def __init__(self, api: str, users: Sequence[dict[str, Any]]) -> None:
        self.api = api
        self.users = users
        self.clients: list[Client] = []

    async def resize(self, count: int) -> None:
        while len(self.clients) > count:
            gone = self.clients.pop()
            if gone.task is not None:
                gone.task.cancel()
            if isinstance(gone, Stalled):
                gone.close()
        fresh: list[Client] = []
        for index in range(len(self.clients), count):
            user = self.users[(index // CONNECTIONS_PER_USER) % len(self.users)]
            url = f"{self.api}/api/v1/ws/dashboard/{user['id']}?token={user['token']}"
            stalled = index % STALL_EVERY == STALL_EVERY - 1
            client: Client = Stalled(user["id"], url) if stalled else Reader(user["id"], url)
            fresh.append(client)
        gate = asyncio.Semaphore(OPENING_AT_ONCE)

        async def open_one(client: Client) -> None:
            async with gate:
                client.task = asyncio.create_task(client.hold())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.ready.wait(), CONNECT_TIMEOUT_S + 1)

        started = time.monotonic()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(open_one(client) for client in fresh)), OPENING_LIMIT_S
            )
        except TimeoutError:  # a server this slow to accept refuses the rest in effect
            for client in fresh:
                if not client.opened and client.refused is None:
                    client.refused = f"not open within {OPENING_LIMIT_S:g} s"
        self.clients.extend(fresh)
        LOG.info("%d connections open (%d new in %.1f s)", count, len(fresh),
                 time.monotonic() - started)  # fmt: skip

    def user_ids(self) -> list[int]:
        return sorted({client.user_id for client in self.clients})

    def readers(self) -> list[Reader]:
        return [c for c in self.clients if isinstance(c, Reader)]

    async def close(self) -> None:
        await self.resize(0)
