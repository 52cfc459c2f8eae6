"""WebSocket connection managers, both ways (switch `ws_manager`, report section 5).

Off — the original: every connection in one list, each with an unbounded message queue
drained by a sender without timeout. A client that stops reading makes its queue, and the
process, grow without limit; a dead connection stays until its receive loop notices.

On — the report's fix, with its two flaws repaired: at most `max_per_user` connections
per user (the next is accepted and closed with 1008, so the client sees the code rather
than a bare HTTP 403); a bounded queue per connection that drops the oldest message when
full; every send under a timeout, a failed or timed-out connection closed and removed
(a client that stopped reading is found once its socket's buffers fill, and a heartbeat
every HEARTBEAT_INTERVAL_S keeps some traffic on quiet connections so that happens on
them too); connections indexed by user and by channel, so a message costs the
connections it goes to rather than a scan of all of them; and a per-user, per-channel
rate limit that coalesces: a message arriving within the interval replaces the pending
one and goes out when the interval ends, so the last progress update is delayed, never
lost (the report's limiter dropped it). The bounded manager serializes a message once for
all the connections it goes to (the same text Starlette's send_json writes), where the
original serialized it again for each connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from starlette.websockets import WebSocket, WebSocketState

from app.metrics import WS_CONNECTIONS, WS_MESSAGES_DROPPED

POLICY_VIOLATION = 1008
BOUNDED_QUEUE_MESSAGES = 100
HEARTBEAT_INTERVAL_S = 15.0

log = logging.getLogger(__name__)

Message = dict[str, Any]
# What waits in a connection's queue: the message itself in the unbounded manager, which
# serializes it for each connection as it sends it (as the original did); its JSON text
# in the bounded one, serialized once for all the connections it goes to (see encode).
Outgoing = TypeVar("Outgoing", Message, str)


@dataclass(eq=False)
class Client(Generic[Outgoing]):
    ws: WebSocket
    user_id: int
    channel: str
    queue: asyncio.Queue[Outgoing]
    sender: asyncio.Task[None] | None = None
    send_expired: bool = False  # the bounded manager's send timeout fired


def encode(message: Message) -> str:
    """The text Starlette's WebSocket.send_json sends for `message`."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class ConnectionManager(Protocol[Outgoing]):
    async def connect(
        self, ws: WebSocket, *, user_id: int, channel: str
    ) -> Client[Outgoing] | None:
        """Accept and register, or accept and close with 1008 (None)."""
        ...

    async def disconnect(self, client: Client[Outgoing]) -> None: ...

    async def reply(self, client: Client[Outgoing], message: Message) -> None:
        """Queue a message for one connection (the answer to its ping)."""
        ...

    async def publish(self, channel: str, message: Message) -> None: ...

    def connection_count(self) -> int: ...


# Either manager, as the settings choose at startup: its users hand a Client back only to
# the manager that made it, so what its queue holds is the manager's own business.
AnyManager = ConnectionManager[Any]


class UnboundedManager:
    """The original manager: no limits anywhere."""

    def __init__(self) -> None:
        self.clients: list[Client[Message]] = []

    async def connect(self, ws: WebSocket, *, user_id: int, channel: str) -> Client[Message] | None:
        await ws.accept()
        client: Client[Message] = Client(ws, user_id, channel, asyncio.Queue())
        client.sender = asyncio.create_task(self._drain(client))
        self.clients.append(client)
        WS_CONNECTIONS.inc()
        return client

    async def _drain(self, client: Client[Message]) -> None:
        while True:
            message = await client.queue.get()
            try:
                await client.ws.send_json(message)
            except Exception:  # the original swallowed send errors and kept the connection
                log.debug("send to user %s failed", client.user_id, exc_info=True)

    async def disconnect(self, client: Client[Message]) -> None:
        if client in self.clients:
            self.clients.remove(client)
            WS_CONNECTIONS.dec()
        if client.sender is not None:
            client.sender.cancel()

    async def reply(self, client: Client[Message], message: Message) -> None:
        await client.queue.put(message)

    async def publish(self, channel: str, message: Message) -> None:
        for client in self.clients:
            if client.channel == channel:
                client.queue.put_nowait(message)

    def connection_count(self) -> int:
        return len(self.clients)


@dataclass
class _Pending:
    last_sent_s: float = 0.0
    text: str | None = None  # the message waiting for the interval to end, encoded
    flush: asyncio.TimerHandle | None = None


@dataclass
class BoundedManager:
    max_per_user: int
    send_timeout_s: float
    min_interval_s: float
    heartbeat_s: float = HEARTBEAT_INTERVAL_S
    by_user: dict[int, set[Client[str]]] = field(default_factory=dict)
    by_channel: dict[str, set[Client[str]]] = field(default_factory=dict)
    _pending: dict[tuple[str, int], _Pending] = field(default_factory=dict)
    _heartbeat: asyncio.Task[None] | None = None

    async def connect(self, ws: WebSocket, *, user_id: int, channel: str) -> Client[str] | None:
        await ws.accept()
        mine = self.by_user.setdefault(user_id, set())
        for stale in [c for c in mine if c.ws.client_state != WebSocketState.CONNECTED]:
            await self.disconnect(stale)
        mine = self.by_user.setdefault(user_id, set())
        if len(mine) >= self.max_per_user:
            await ws.close(code=POLICY_VIOLATION, reason="connection limit exceeded")
            return None
        client: Client[str] = Client(
            ws, user_id, channel, asyncio.Queue(maxsize=BOUNDED_QUEUE_MESSAGES)
        )
        client.sender = asyncio.create_task(self._drain(client))
        mine.add(client)
        self.by_channel.setdefault(channel, set()).add(client)
        WS_CONNECTIONS.inc()
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat(), name="chrono-ws-heartbeat")
        return client

    async def _beat(self) -> None:
        """A ping to every connection now and then, through its queue like any message."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            now = datetime.now(UTC).isoformat()
            ping = encode({"type": "ping", "data": {}, "timestamp": now})
            for clients in list(self.by_user.values()):
                for client in list(clients):
                    self._enqueue(client, ping)

    async def _drain(self, client: Client[str]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                text = await client.queue.get()
                # A timer that cancels this task rather than asyncio.wait_for, which wraps
                # every send in a task of its own: about five times the timer's CPU.
                timer = loop.call_later(self.send_timeout_s, self._expire, client)
                try:
                    await client.ws.send_text(text)
                finally:
                    timer.cancel()
                continue
            except asyncio.CancelledError:
                if not client.send_expired:
                    raise  # disconnect() cancelled the sender
                if (task := asyncio.current_task()) is not None:
                    task.uncancel()
            except Exception:  # a dead socket: drop the connection, not the loop
                pass
            WS_MESSAGES_DROPPED.labels("send_failed").inc()
            await self._forget(client)
            with contextlib.suppress(Exception):
                await client.ws.close(code=POLICY_VIOLATION, reason="send timeout")
            return

    @staticmethod
    def _expire(client: Client[str]) -> None:
        """The send timeout: the sender's send is cancelled, and the connection closed."""
        client.send_expired = True
        if client.sender is not None:
            client.sender.cancel()

    async def _forget(self, client: Client[str]) -> None:
        mine = self.by_user.get(client.user_id, set())
        if client in mine:
            mine.discard(client)
            WS_CONNECTIONS.dec()
        watching = self.by_channel.get(client.channel, set())
        watching.discard(client)
        if not watching:
            self.by_channel.pop(client.channel, None)
        if not mine:
            self.by_user.pop(client.user_id, None)
            for key in [k for k in self._pending if k[1] == client.user_id]:
                state = self._pending.pop(key)
                if state.flush is not None:
                    state.flush.cancel()
        if not self.by_user and self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def disconnect(self, client: Client[str]) -> None:
        await self._forget(client)
        if client.sender is not None and client.sender is not asyncio.current_task():
            client.sender.cancel()

    async def reply(self, client: Client[str], message: Message) -> None:
        await client.queue.put(encode(message))

    async def publish(self, channel: str, message: Message) -> None:
        user_ids = {c.user_id for c in self.by_channel.get(channel, ())}
        if not user_ids:  # another process's connections (the relay sends it everything)
            return
        text = encode(message)
        for user_id in user_ids:
            self._rate_limited(channel, user_id, text)

    def _rate_limited(self, channel: str, user_id: int, text: str) -> None:
        state = self._pending.setdefault((channel, user_id), _Pending())
        now = time.monotonic()
        wait_s = state.last_sent_s + self.min_interval_s - now
        if wait_s <= 0 and state.flush is None:
            state.last_sent_s = now
            self._deliver(channel, user_id, text)
            return
        if state.text is not None:
            WS_MESSAGES_DROPPED.labels("coalesced").inc()
        state.text = text
        if state.flush is None:
            state.flush = asyncio.get_running_loop().call_later(
                max(wait_s, 0), self._flush, channel, user_id
            )

    def _flush(self, channel: str, user_id: int) -> None:
        state = self._pending.get((channel, user_id))
        if state is None:
            return
        state.flush = None
        if state.text is not None:
            state.last_sent_s = time.monotonic()
            text, state.text = state.text, None
            self._deliver(channel, user_id, text)

    def _deliver(self, channel: str, user_id: int, text: str) -> None:
        for client in self.by_channel.get(channel, set()):
            if client.user_id == user_id:
                self._enqueue(client, text)

    @staticmethod
    def _enqueue(client: Client[str], text: str) -> None:
        if client.queue.full():
            client.queue.get_nowait()
            WS_MESSAGES_DROPPED.labels("queue_full").inc()
        client.queue.put_nowait(text)

    def connection_count(self) -> int:
        return sum(len(clients) for clients in self.by_user.values())
