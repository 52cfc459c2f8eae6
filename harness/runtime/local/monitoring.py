"""Prometheus and its exporters for the local runtime: what the measured windows query.

Prometheus scrapes the API's `/metrics`, the Celery workers' merged metrics, and the
Debian PostgreSQL and Redis exporters (the broker's exporter also reports the length of
every Celery queue). The bundle's prometheus.yml names compose hosts; the local one is
rendered from the same template with loopback targets and a one-second interval, short
enough for windows of a few seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from harness.budget.allocation import Budget
from harness.render.bundle import render_prometheus_yml
from harness.runtime.placement import Placement
from harness.runtime.ports import LOOPBACK
from harness.runtime.process import require_binary
from harness.runtime.service import Service, http_ok

RETENTION = "1d"
# Every queue name the reference service uses, in both Celery variants.
CELERY_QUEUES = ("celery", "critical", "scraping", "indexing", "default")


def write_prometheus_config(budget: Budget, jobs: Mapping[str, Sequence[str]], path: Path) -> Path:
    """prometheus.yml for loopback targets, at the budget's scrape interval."""
    config = yaml.safe_load(render_prometheus_yml(budget, jobs))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def prometheus(base: Path, port: int, config: Path, placement: Placement) -> Service:
    binary = require_binary("prometheus", "prometheus")
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={base / 'data'}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address={LOOPBACK}:{port}",
    ]
    return Service(
        "prometheus",
        placement.wrap(command, "sut"),
        log_path=base / "prometheus.log",
        port=port,
        ready=http_ok(f"http://{LOOPBACK}:{port}/-/ready"),
    )


def postgres_exporter(base: Path, port: int, dsn: str, placement: Placement) -> Service:
    binary = require_binary("prometheus-postgres-exporter", "prometheus-postgres-exporter")
    command = [binary, f"--web.listen-address={LOOPBACK}:{port}"]
    return Service(
        "postgres-exporter",
        placement.wrap(command, "sut"),
        log_path=base / "postgres-exporter.log",
        port=port,
        ready=http_ok(f"http://{LOOPBACK}:{port}/metrics"),
        env={"DATA_SOURCE_NAME": dsn},
    )


def redis_exporter(
    base: Path,
    name: str,
    port: int,
    *,
    redis_port: int,
    password: str,
    placement: Placement,
    queue_db: int | None = None,
) -> Service:
    """A Redis exporter; with `queue_db`, it also reports the Celery queues' lengths."""
    binary = require_binary("prometheus-redis-exporter", "prometheus-redis-exporter")
    command = [
        binary,
        f"-redis.addr=redis://{LOOPBACK}:{redis_port}",
        f"-web.listen-address={LOOPBACK}:{port}",
    ]
    if queue_db is not None:
        keys = ",".join(f"db{queue_db}={queue}" for queue in CELERY_QUEUES)
        command.append(f"-check-single-keys={keys}")
    return Service(
        f"{name}-exporter",
        placement.wrap(command, "sut"),
        log_path=base / f"{name}-exporter.log",
        port=port,
        ready=http_ok(f"http://{LOOPBACK}:{port}/metrics"),
        # The password through the environment keeps it out of `ps`.
        env={"REDIS_PASSWORD": password},
    )


def multiprocess_exporter(
    base: Path, name: str, port: int, metrics_dir: Path, placement: Placement
) -> Service:
    """Serves the metrics a process group wrote to `metrics_dir` (the Celery workers)."""
    command = [
        sys.executable, "-m", "harness.runtime.local.metrics_exporter",
        "--dir", str(metrics_dir), "--port", str(port),
    ]  # fmt: skip
    return Service(
        f"{name}-metrics",
        placement.wrap(command, "sut"),
        log_path=base / f"{name}-metrics.log",
        port=port,
        ready=http_ok(f"http://{LOOPBACK}:{port}/metrics"),
    )
