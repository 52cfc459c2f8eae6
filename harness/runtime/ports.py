"""Free TCP ports (on loopback, unless told otherwise) for the services a run starts."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(address: str = LOOPBACK) -> int:
    """A port the kernel just handed out on `address`; free until someone binds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port
