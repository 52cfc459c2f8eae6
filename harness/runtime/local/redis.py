"""A real Redis server as a process on loopback, for the local runtime and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import redis

from harness.runtime.ports import LOOPBACK, free_port
from harness.runtime.process import CheckedTCPExecutor, require_binary
from harness.supervision import LoggedService


class RedisServer(LoggedService):
    """One redis-server: the bundle's config file (or none), overridden for this host.

    Command-line options come after the config file and win, so the same rendered
    `redis-cache.conf` serves a container and a local process.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        password: str,
        config_file: Path | None = None,
        port: int | None = None,
        name: str = "redis",
        bind: Sequence[str] = (LOOPBACK,),
    ) -> None:
        self.base_dir = base_dir
        # more addresses than loopback: a Redis other hosts of an inventory reach
        self.bind = tuple(bind)
        self.password = password
        self.config_file = config_file
        self.port = port or free_port()
        self.name = name

    def url(self, db: int = 0) -> str:
        return f"redis://:{self.password}@{LOOPBACK}:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis[bytes]:
        return redis.Redis.from_url(self.url(db))

    def start(self) -> None:
        if self._executor is not None:
            return
        binary = require_binary("redis-server", "redis-server")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        command = [binary]
        if self.config_file is not None:
            command.append(str(self.config_file))
        command += [
            "--bind", *self.bind,
            "--port", str(self.port),
            "--dir", str(self.base_dir),
            "--requirepass", self.password,
            "--daemonize", "no",
            "--logfile", "",
        ]  # fmt: skip
        self._log = open(self.base_dir / f"{self.name}.log", "a")  # noqa: SIM115 - closed in stop()
        self._launch(
            CheckedTCPExecutor(command, port=self.port, ready=self._pings, log=self._log),
            f"{self.name} did not start on port {self.port}: see "
            f"{self.base_dir / (self.name + '.log')}",
        )

    def _pings(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False
