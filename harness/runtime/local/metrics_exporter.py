"""Serve the Prometheus metrics a group of processes wrote in multiprocess mode.

Celery's prefork children cannot each listen on a port, so the worker writes its metrics
to a PROMETHEUS_MULTIPROC_DIR and this small process serves the merged view:

    python -m harness.runtime.local.metrics_exporter --dir DIR --port PORT
"""

from __future__ import annotations

import argparse
import signal
import threading

from prometheus_client import start_http_server

from app.metrics import multiprocess_registry
from harness.runtime.ports import LOOPBACK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="the processes' PROMETHEUS_MULTIPROC_DIR")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    registry = multiprocess_registry(args.dir)
    server, thread = start_http_server(args.port, addr=LOOPBACK, registry=registry)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.shutdown()
    thread.join()


if __name__ == "__main__":
    main()
