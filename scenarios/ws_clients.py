"""The WebSocket load's connections: dashboards that read, dashboards that stall, a fleet.

Connections go CONNECTIONS_PER_USER to a user (a user's dashboard open in that many tabs,
under the bounded manager's per-user limit). Every STALL_EVERY-th one is stalled: a raw
socket that completes the handshake (offering permessage-deflate, as browsers and the
readers do) and never reads again, as a suspended laptop's tab (a WebSocket library keeps
draining its socket in the background, so a client that merely ignores its messages is
not stalled); its receive buffer is the kernel's smallest, so that what it leaves unread
piles up on the API's side at once. The others read every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import BytesLike
from websockets.uri import parse_uri

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
# A progress message's number ("seq" appears in no other message's text).
SEQ = re.compile(rb'"seq":\s*(\d+)')
# websockets' default; the progress messages are about 200 bytes.
MAX_MESSAGE_BYTES = 2**20

LOG = logging.getLogger("ws_client")


def client_protocol(url: str) -> ClientProtocol:
    """websockets' Sans-I/O client for `url`, offering permessage-deflate as browsers do."""
    return ClientProtocol(
        parse_uri(url),
        extensions=enable_client_permessage_deflate(None),
        max_size=MAX_MESSAGE_BYTES,
    )


@dataclass(eq=False)
class Reader:
    """A dashboard that reads every message: (number, arrival) of each.

    It runs websockets' Sans-I/O protocol on an asyncio.Protocol, not websockets' asyncio
    client: at 2,560 connections that client cost this process 52 us of CPU per message
    (the API spent 66 to send it), so the load generator's core saturated before the
    API's did; this reader on uvloop costs 28 (scripts/ws_hold_profile.py, docs/lab-notes.md).
    """

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
        loop = asyncio.get_running_loop()
        wire = _ReaderWire(self, client_protocol(self.url), loop.create_future())
        uri = wire.protocol.uri
        transport: asyncio.BaseTransport | None = None
        try:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    transport, _ = await loop.create_connection(lambda: wire, uri.host, uri.port)
                    await self.ready.wait()  # the "connected" message, or the refusal
            except (TimeoutError, OSError) as error:
                if self.refused is None and not self.opened:
                    self.refused = type(error).__name__
                return
            if self.opened:
                await wire.lost
                self.dropped = True
        finally:
            if transport is not None:
                wire.leave()


class _ReaderWire(asyncio.Protocol):
    """A Reader's connection: bytes in, frames out, each message's number noted."""

    def __init__(self, reader: Reader, protocol: ClientProtocol, lost: asyncio.Future[None]):
        self.reader = reader
        self.protocol = protocol
        self.lost = lost
        self.transport: asyncio.Transport | None = None
        self.fragments: list[BytesLike] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        self.protocol.receive_data(data)
        self._handle(arrived)

    def eof_received(self) -> bool:
        # a refusal's response without a length ends with the stream
        self.protocol.receive_eof()
        self._handle(time.time())
        return False  # the transport closes itself

    def _handle(self, arrived: float) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self._frame(event, arrived)
            elif isinstance(event, Response) and self.protocol.handshake_exc is not None:
                self._refuse(f"handshake {event.status_code}")
        self._flush()

    def _frame(self, frame: Frame, arrived: float) -> None:
        if frame.opcode is Opcode.CLOSE:
            close = Close.parse(frame.data) if frame.data else None
            self._refuse(f"closed {close.code if close else 'abruptly'}")
            return
        if frame.opcode not in (Opcode.TEXT, Opcode.CONT):
            return  # pings: the protocol queued their pongs
        self.fragments.append(frame.data)
        if not frame.fin:
            return
        text = b"".join(self.fragments)
        self.fragments.clear()
        reader = self.reader
        if not reader.opened:
            kind = json.loads(text).get("type")
            if kind != "connected":
                self._refuse(f"first message {kind!r}")
                return
            reader.opened = True
            reader.ready.set()
            return
        # only the number is read: parsing each message whole took a fifth of this
        # process's CPU
        found = SEQ.search(text)
        if found is not None:
            reader.received.append((int(found[1]), arrived))

    def _refuse(self, reason: str) -> None:
        if not self.reader.opened and self.reader.refused is None:
            self.reader.refused = reason
        self.reader.ready.set()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self._refuse("closed abruptly")
        if not self.lost.done():
            self.lost.set_result(None)

    def leave(self) -> None:
        """Close as a browser closing the tab: a close frame (going away), then the socket."""
        assert self.transport is not None
        if not self.transport.is_closing() and self.protocol.state is State.OPEN:
            self.protocol.send_close(CloseCode.GOING_AWAY)
            self._flush()
        self.transport.close()


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
        # the readers' handshake, permessage-deflate offered
        protocol = client_protocol(self.url)
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF_BYTES)
        sock.setblocking(False)
        self.sock = sock
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await loop.sock_connect(sock, (protocol.uri.host, protocol.uri.port))
                await loop.sock_sendall(sock, protocol.connect().serialize())
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
