"""Turning SIGTERM and SIGHUP into an orderly exit, and keeping cleanup uninterrupted.

Python ends on SIGTERM without unwinding, which would leave every service of a stack
running. Inside `exit_on_signals()` those signals raise SystemExit instead, so the
`with` blocks that own processes stop them; Ctrl-C raises KeyboardInterrupt, also when
the harness inherited SIGINT ignored (a shell starts background jobs that way, and Python
then keeps it ignored): a stack must stop on `kill -INT` wherever it was started.
`signals_deferred()` holds such signals back while a stack is being stopped.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGHUP)
DEFERRED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _exit(signum: int, frame: FrameType | None) -> None:
    # The shell's convention: 128 + the signal's number.
    raise SystemExit(128 + signum)


@contextmanager
def exit_on_signals() -> Iterator[None]:
    previous = {sig: signal.signal(sig, _exit) for sig in HANDLED}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Signals that arrive meanwhile are delivered when the block ends."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
