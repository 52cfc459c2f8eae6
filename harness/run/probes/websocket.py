"""ws_manager: what a client that stops reading costs the API.

The probe opens the benchmark user's dashboard WebSocket from a raw socket with a tiny
receive buffer, completes the handshake and never reads again; then it publishes
`MESSAGES` progress messages of `MESSAGE_BYTES` to the user's channel and reads how much
the API's processes grew. The report's manager (off) queues every message for the
stalled client without bound; the bounded one (on) coalesces and caps the queue.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from urllib.parse import urlsplit

from app.ws.relay import envelope, user_channel
from harness.collect.memory import group_memory_mb
from harness.run.probes.base import API, ProbeContext, ProbeError, Reading

MESSAGES = 300
MESSAGE_BYTES = 64 * 1024
BYTES_PER_MIB = 1024 * 1024
RECEIVE_BUFFER_BYTES = 4096
HANDSHAKE_TIMEOUT_S = 5.0
# Time for the API's relay to take every message off Redis.
SETTLE_S = 1.0
# Shares of what was published that the API may keep: at least this much without bound,
# under this much with the bounded manager.
GROWN_SHARE = 0.5
BOUNDED_SHARE = 0.25


def stalled_client(api_url: str, path: str) -> socket.socket:
    """A WebSocket that completes its handshake and then never reads."""
    where = urlsplit(api_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    sock.settimeout(HANDSHAKE_TIMEOUT_S)
    sock.connect((where.hostname or "127.0.0.1", where.port or 80))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {where.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ProbeError("the API closed the WebSocket during its handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ProbeError(f"WebSocket handshake answered {head.splitlines()[0].decode()!r}")
    return sock


def ws_manager(context: ProbeContext, on: bool) -> Reading:
    """Off: the API keeps at least half of what it could not send; on: under a quarter."""
    user_id, _ = context.bench_user()
    token = context.token()
    target = context.target
    published_mib = MESSAGES * MESSAGE_BYTES / BYTES_PER_MIB
    sock = stalled_client(target.api_url, f"{API}/ws/dashboard/{user_id}?token={token}")
    try:
        time.sleep(SETTLE_S / 4)  # registered by the manager
        start = group_memory_mb(target.api_pids())
        cache = context.redis_cache()
        payload = json.dumps(envelope("probe", {"blob": "x" * MESSAGE_BYTES}))
        for _ in range(MESSAGES):
            cache.publish(user_channel(user_id), payload)
        time.sleep(SETTLE_S)
        grown = group_memory_mb(target.api_pids()) - start
    finally:
        sock.close()
    figures: dict[str, float | str] = {
        "published_mib": round(published_mib, 1),
        "api_rss_growth_mib": round(grown, 1),
    }
    detail = (
        f"the API grew {grown:.0f} MiB while {published_mib:.0f} MiB were published to a "
        "client that stopped reading"
    )
    if on:
        return Reading(grown < BOUNDED_SHARE * published_mib, detail + " (fix: bounded)", figures)
    return Reading(grown >= GROWN_SHARE * published_mib, detail + " (unbounded)", figures)
