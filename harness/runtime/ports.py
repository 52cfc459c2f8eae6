"""Free TCP ports (on loopback, unless told otherwise) for the services a run starts.

A port is chosen below the kernel's ephemeral range: the ports bind(0) hands out are the
ones outgoing connections take as their local port, so one picked there could be taken
by any client socket of the run before its service binds it (seen: Prometheus, started
last, failing to start). Below that range only a listener can take it, and no port is
handed out twice by one process.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from pathlib import Path

LOOPBACK = "127.0.0.1"
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10000
ATTEMPTS = 200
_handed_out: set[int] = set()


def below_ephemeral(port_range: str) -> range:
    """The candidate ports below an ip_local_port_range ("32768\t60999")."""
    try:
        first_ephemeral = int(port_range.split()[0])
    except (ValueError, IndexError):
        first_ephemeral = 32768  # Linux's default
    return range(LOWEST_PORT, max(LOWEST_PORT + 1000, first_ephemeral))


def _below_ephemeral() -> range:
    try:
        return below_ephemeral(EPHEMERAL_RANGE.read_text())
    except OSError:
        return below_ephemeral("")


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
        return True


def free_port(address: str = LOOPBACK) -> int:
    """A port free on `address` now, below the ephemeral range, not handed out before."""
    port = pick_port(_below_ephemeral(), lambda port: _bindable(address, port))
    if port is not None:
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded host
        sock.bind((address, 0))
        found: int = sock.getsockname()[1]
        _handed_out.add(found)
        return found


def pick_port(candidates: range, free: Callable[[int], bool]) -> int | None:
    """A port of `candidates` that `free` accepts and this process has not handed out
    before (on any host: a port of another host may be forwarded to this one's), or None."""
    for _ in range(ATTEMPTS):
        port = random.choice(candidates)
        if port not in _handed_out and free(port):
            _handed_out.add(port)
            return port
    return None
