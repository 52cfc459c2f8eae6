"""What the connection managers send: the same text, in the same order, to every reader;
the bounded manager's coalescing and its send timeout."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.websockets import WebSocket

from app.ws.manager import POLICY_VIOLATION, BoundedManager
from app.ws.relay import user_channel
from tests.app.conftest import wait_for_relay

READERS = 3
BURST = 5


def progress(seq: int) -> dict[str, Any]:
    # a non-ASCII name and nested data: the text must be send_json's, byte for byte
    data = {"seq": seq, "domain": "zürich.example ✓", "counts": {"stored": seq, "failed": 0}}
    return {"type": "page_progress", "data": data, "timestamp": f"2026-12-06T18:00:{seq:02d}"}


def starlette_text(message: dict[str, Any]) -> str:
    """What Starlette's send_json writes for a message (the original's per-connection path)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def publish_all(broker: Any, user_id: int, messages: list[dict[str, Any]]) -> None:
    pipe = broker.pipeline(transaction=False)
    for message in messages:
        pipe.publish(user_channel(user_id), json.dumps(message))  # the pipeline's spacing
    pipe.execute()


@pytest.mark.parametrize("manager_on", [False, True])
def test_every_reader_gets_the_same_texts_in_order(ws_env, manager_on):
    build, broker = ws_env
    # No rate limit, so nothing is coalesced: every message reaches every reader.
    client, _, token, user_id = build(ws_manager=manager_on, ws_min_message_interval_s=0)
    url = f"/api/v1/ws/dashboard/{user_id}?token={token}"
    messages = [progress(seq) for seq in range(20)]
    with Dashboards(client, url, READERS) as readers:
        wait_for_relay(broker)
        publish_all(broker, user_id, messages)
        for ws in readers:
            assert [ws.receive_text() for _ in messages] == [starlette_text(m) for m in messages]


def test_a_burst_is_coalesced_to_its_first_and_last_message(ws_env):
    build, broker = ws_env
    client, _, token, user_id = build(ws_manager=True, ws_min_message_interval_s=0.5)
    url = f"/api/v1/ws/dashboard/{user_id}?token={token}"
    burst = [progress(seq) for seq in range(BURST)]
    later = progress(BURST)
    with Dashboards(client, url, READERS) as readers:
        wait_for_relay(broker)
        publish_all(broker, user_id, burst)
        first = [ws.receive_text() for ws in readers]
        last = [ws.receive_text() for ws in readers]  # after the interval, the newest
        publish_all(broker, user_id, [later])
        after = [ws.receive_text() for ws in readers]
    assert first == [starlette_text(burst[0])] * READERS
    assert last == [starlette_text(burst[-1])] * READERS
    assert after == [starlette_text(later)] * READERS


class Dashboards:
    """`count` dashboards of one user, each past its "connected" greeting."""

    def __init__(self, client: Any, url: str, count: int) -> None:
        self.client, self.url, self.count = client, url, count
        self.sessions: list[Any] = []

    def __enter__(self) -> list[Any]:
        for _ in range(self.count):
            ws = self.client.websocket_connect(self.url).__enter__()
            self.sessions.append(ws)
            assert ws.receive_json()["type"] == "connected"
        return list(self.sessions)

    def __exit__(self, *exc: object) -> None:
        for session in reversed(self.sessions):
            session.__exit__(None, None, None)


class StuckPeer:
    """The ASGI side of a connection whose peer reads nothing: the handshake completes,
    every later send waits for ever (as uvicorn's does once the socket's buffers are
    full), a close is recorded."""

    def __init__(self) -> None:
        self.closed_with: int | None = None

    def websocket(self) -> WebSocket:
        scope = {"type": "websocket", "path": "/", "headers": [], "query_string": b""}
        return WebSocket(scope, self.receive, self.send)

    async def receive(self) -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            await asyncio.Event().wait()
        elif message["type"] == "websocket.close":
            self.closed_with = message["code"]


async def sending_to_stuck_peer(
    send_timeout_s: float,
) -> tuple[BoundedManager, StuckPeer, asyncio.Task[None]]:
    """A bounded manager with one connection whose sender is in a send that never ends."""
    manager = BoundedManager(max_per_user=5, send_timeout_s=send_timeout_s, min_interval_s=0)
    peer = StuckPeer()
    client = await manager.connect(peer.websocket(), user_id=1, channel="c")
    assert client is not None and client.sender is not None
    await manager.publish("c", progress(0))
    await asyncio.sleep(0.05)  # the sender is in its send
    return manager, peer, client.sender


def test_a_send_that_never_completes_closes_the_connection_after_the_timeout():
    async def scenario() -> tuple[int, int | None, bool]:
        manager, peer, sender = await sending_to_stuck_peer(send_timeout_s=0.2)
        await asyncio.wait([sender], timeout=2.0)
        return manager.connection_count(), peer.closed_with, sender.cancelled()

    assert asyncio.run(scenario()) == (0, POLICY_VIOLATION, False)


def test_a_disconnect_during_a_send_cancels_the_sender_without_closing():
    async def scenario() -> tuple[int, int | None, bool]:
        manager, peer, sender = await sending_to_stuck_peer(send_timeout_s=30)
        (client,) = manager.by_user[1]
        await manager.disconnect(client)
        await asyncio.wait([sender], timeout=2.0)
        return manager.connection_count(), peer.closed_with, sender.cancelled()

    assert asyncio.run(scenario()) == (0, None, True)
