"""Prometheus: how often it scrapes and how long it keeps samples."""

from __future__ import annotations


def prometheus_settings(*, scrape_interval_s: int, retention_days: int) -> dict[str, str]:
    """prometheus.yml's scrape_interval and the server's retention flag."""
    return {
        "scrape_interval": f"{scrape_interval_s}s",
        "storage.tsdb.retention.time": f"{retention_days}d",
    }
