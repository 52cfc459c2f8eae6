"""A local locust run imports first and sends no request before its caller's
`before_load` has returned (harness/load/held.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from harness.load.held import NOT_RELEASED_EXIT
from harness.load.local import HELD_MODULE, run_locust
from harness.load.spec import LOCUSTFILES, LocustSpec
from harness.runtime.placement import Placement

# Longer than locust's import (about half a second here): a locust process that did not
# wait to be released would be sending requests before the hold ends.
HOLD_S = 3.0


@contextmanager
def counting_server(hits: list[float]) -> Iterator[str]:
    """An HTTP server on loopback that notes when each request arrived."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(time.time())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def spec(url: str) -> LocustSpec:
    return LocustSpec(
        locustfile=LOCUSTFILES / "ceiling.py", host=url, users=2, spawn_rate=2, duration_s=1
    )


def locust_children() -> list[psutil.Process]:
    return [
        child for child in psutil.Process().children(recursive=True)
        if HELD_MODULE in " ".join(child.cmdline())
    ]  # fmt: skip


def test_the_load_starts_only_once_before_load_returned(tmp_path: Path) -> None:
    hits: list[float] = []
    during: list[int] = []
    released: list[float] = []

    def before_load() -> None:
        time.sleep(HOLD_S)
        during.append(len(hits))
        released.append(time.time())

    with counting_server(hits) as url:
        result = run_locust(spec(url), tmp_path, "held", Placement(), before_load=before_load)

    assert during == [0], "locust sent requests before it was released"
    assert result.started_at >= released[0]
    assert hits and min(hits) >= released[0]
    assert result.total.requests > 0 and result.total.failures == 0
    # the whole run time after the release, not counted from the import
    assert result.finished_at - result.started_at >= spec(url).duration_s


def test_a_failing_before_load_leaves_no_locust_behind(tmp_path: Path) -> None:
    hits: list[float] = []

    def before_load() -> None:
        raise RuntimeError("no scrape")

    with counting_server(hits) as url, pytest.raises(RuntimeError, match="no scrape"):
        run_locust(spec(url), tmp_path, "held", Placement(), before_load=before_load)
    assert locust_children() == []
    assert hits == []


def test_a_held_locust_never_released_sends_nothing() -> None:
    hits: list[float] = []
    with counting_server(hits) as url:
        done = subprocess.run(
            [sys.executable, "-m", HELD_MODULE, "-f", str(LOCUSTFILES / "ceiling.py"),
             "--headless", "--host", url, "--users", "1", "--run-time", "1s"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == NOT_RELEASED_EXIT
    assert hits == []
