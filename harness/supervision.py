"""Things started and stopped as a whole, and services a mirakuru executor runs.

`LoggedService` holds what every such service shares: its executor and the log file its
output goes to. `stop()` may be called at any time (also after a failed start) and ends
both; a start that fails stops what it started and says in one line where the log is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import IO, Any, Self

from mirakuru import SimpleExecutor

from harness.errors import UserError


class Startable(ABC):
    """Something started and stopped as a whole; as a context manager, stopped however
    the block ends."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LoggedService(Startable):
    """A process run by a mirakuru executor, its output in a log file the service opens."""

    _executor: SimpleExecutor | None = None
    _log: IO[Any] | None = None

    def _launch(self, executor: SimpleExecutor, failure: str) -> None:
        """Start `executor`; if it does not start, stop it and raise `failure`."""
        self._executor = executor
        try:
            executor.start()
        except Exception as error:
            self.stop()
            raise UserError(failure) from error

    def stop(self) -> None:
        """Stop the process (its whole tree: mirakuru marks every child) and close the log."""
        if self._executor is not None:
            self._executor.stop()
            self._executor = None
        if self._log is not None:
            self._log.close()
            self._log = None
