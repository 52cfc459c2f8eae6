"""What a run shows while it works: phase, optimization, repeat, and the time left.

The estimate of the time left is a pure function of the clock: the mean duration of the
windows done so far times the windows still to go (before the first window, the
profile's own estimate).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

LOG = logging.getLogger(__name__)
Clock = Callable[[], float]


@contextmanager
def status(console: Console | None, text: str) -> Iterator[Callable[[str], None]]:
    """A step before the windows (starting the stack, building images), logged and shown
    as a spinner; yields a function that replaces the spinner's text."""
    LOG.info(text)
    if console is None:
        yield LOG.info
        return
    if not console.is_terminal:  # a spinner cannot redraw in a log: plain lines

        def say(line: str) -> None:
            console.print(line, markup=False, highlight=False, soft_wrap=True)

        say(text)
        yield lambda detail: say(f"{text}: {detail}")
        return
    with console.status(text) as shown:
        yield lambda detail: shown.update(f"{text}: {detail}")


class Eta:
    """Time left for `total` units of work, from how long the finished ones took."""

    def __init__(self, total: int, clock: Clock, first_guess_s: float) -> None:
        self.total = total
        self.done = 0
        self._clock = clock
        self._first_guess_s = first_guess_s
        self._started = clock()

    def advance(self, units: int = 1) -> None:
        self.done = min(self.total, self.done + units)

    def add(self, units: int) -> None:
        self.total += units

    def remaining_s(self) -> float:
        left = self.total - self.done
        if self.done == 0:
            return left * self._first_guess_s
        return left * (self._clock() - self._started) / self.done


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class RunProgress:
    """A rich progress bar over measured windows, with the current step spelled out.

    Where the console is no terminal (output piped to a file or a CI log), a bar cannot
    redraw: each finished window is printed as one plain line instead.
    """

    def __init__(self, eta: Eta, console: Console | None = None) -> None:
        self.eta = eta
        self._console = console
        self._plain = console is not None and not console.is_terminal
        self._description = "starting"
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[dim]{task.fields[left]} left"),
            console=console,
            transient=False,
            disable=self._plain,
        )
        self._task = self._progress.add_task("starting", total=eta.total, left="?")

    def step(self, phase: str, optimization: str = "", detail: str = "") -> None:
        parts = [phase, optimization, detail]
        self._update(" · ".join(part for part in parts if part))

    def window_done(self) -> None:
        self.eta.advance()
        self._update()
        if self._plain and self._console is not None:
            self._console.print(
                f"[{self.eta.done}/{self.eta.total}] {self._description} done, "
                f"{format_duration(self.eta.remaining_s())} left",
                markup=False, highlight=False, soft_wrap=True,
            )  # fmt: skip

    def _update(self, description: str | None = None) -> None:
        fields: dict[str, object] = {
            "completed": self.eta.done,
            "total": self.eta.total,
            "left": format_duration(self.eta.remaining_s()),
        }
        if description is not None:
            self._description = description
            fields["description"] = description
        self._progress.update(self._task, **fields)  # type: ignore[arg-type]

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
