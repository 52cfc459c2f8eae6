#!/usr/bin/env python3
"""The worker container's entry point: the Celery worker groups the settings call for.

    chrono-worker            run every group (one with celery_tuning off, two with it on)
    chrono-worker --check    exit 0 when every group of this container answers a ping

The groups' command lines come from app.worker.command, as in the local runtime. Their
Prometheus metrics (multiprocess mode) are served merged on METRICS_PORT, since prefork
children cannot each listen. SIGTERM and SIGINT are passed on to every group; the
container ends when any group ends, so that compose's restart policy sees a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

METRICS_PORT = 9101
PING_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 1.0


def _groups() -> list[list[str]]:
    from app.core.config import get_settings
    from app.worker.command import worker_argv

    return worker_argv(get_settings(), log_level="INFO")


def _names(groups: list[list[str]]) -> list[str]:
    """Celery node names (`name@host`) of the groups, as `--hostname name@%h` makes them."""
    host = socket.gethostname()
    return [argv[argv.index("--hostname") + 1].replace("%h", host) for argv in groups]


def check() -> int:
    from app.worker.celery_app import celery_app

    expected = set(_names(_groups()))
    replies = celery_app.control.ping(destination=sorted(expected), timeout=PING_TIMEOUT_S)
    answered = {name for reply in replies for name in reply}
    return 0 if expected <= answered else 1


def serve_metrics(directory: str) -> None:
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    start_http_server(METRICS_PORT, addr="0.0.0.0", registry=registry)


def run() -> int:
    directory = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/metrics")
    # prometheus_client's multiprocess files must not outlive the processes that wrote them.
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    serve_metrics(directory)
    children = [subprocess.Popen(argv) for argv in _groups()]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, forward)
    while all(child.poll() is None for child in children):
        time.sleep(POLL_INTERVAL_S)
    forward(signal.SIGTERM, None)
    codes = [child.wait() for child in children]
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["--check"] else run())
