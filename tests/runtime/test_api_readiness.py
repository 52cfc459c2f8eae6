"""The API counts as started only once every uvicorn worker has opened its pools."""

from __future__ import annotations

from pathlib import Path

from harness.runtime.chrono import all_of, processes_started


def test_ready_only_when_every_worker_wrote_its_metrics(tmp_path: Path) -> None:
    ready = processes_started(tmp_path, 2)
    assert not ready()
    (tmp_path / "gauge_livesum_101.db").touch()
    (tmp_path / "counter_101.db").touch()  # the same process again: still one
    assert not ready()  # what /health alone would have called started
    (tmp_path / "gauge_livesum_102.db").touch()
    assert ready()


def test_all_of_needs_every_check() -> None:
    assert all_of(lambda: True, lambda: True)()
    assert not all_of(lambda: True, lambda: False)()
