"""The run's progress: a bar on a terminal, one plain line per window in a log."""

from __future__ import annotations

import io

from rich.console import Console

from harness.progress import Eta, RunProgress, status


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(console: Console) -> None:
    clock = FakeClock()
    with RunProgress(Eta(3, clock, first_guess_s=10.0), console) as progress:
        progress.step("measuring", "stats_aggregate after", "api · round 1")
        clock.now += 20
        progress.window_done()
        progress.step("measuring", "db_indexes after", "api · round 1")
        clock.now += 10
        progress.window_done()


def test_a_log_gets_one_line_per_window_with_the_time_left() -> None:
    out = io.StringIO()
    _run(Console(file=out, force_terminal=False, width=200))
    assert out.getvalue().splitlines() == [
        "[1/3] measuring · stats_aggregate after · api · round 1 done, 40s left",
        "[2/3] measuring · db_indexes after · api · round 1 done, 15s left",
    ]


def test_a_terminal_gets_the_bar_not_the_lines() -> None:
    out = io.StringIO()
    _run(Console(file=out, force_terminal=True, width=200))
    text = out.getvalue()
    assert "2/3" in text and "db_indexes after" in text
    assert "done," not in text


def test_a_step_before_the_windows_is_a_line_in_a_log() -> None:
    out = io.StringIO()
    with status(Console(file=out, force_terminal=False, width=200), "building images") as update:
        update("postgres")
    assert out.getvalue().splitlines() == ["building images", "building images: postgres"]
