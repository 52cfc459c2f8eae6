"""Ports for the stack's services: free, below the kernel's ephemeral range (where client
sockets cannot take them before the service binds), and never handed out twice."""

from __future__ import annotations

import socket

from harness.runtime.ports import EPHEMERAL_RANGE, LOOPBACK, free_port


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    first_ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert all(10000 <= port < first_ephemeral for port in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, ports[-1]))  # still free: nothing holds it


def test_a_port_in_use_is_not_handed_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert all(free_port() != taken for _ in range(200))
