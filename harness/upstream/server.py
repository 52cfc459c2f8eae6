"""Start and stop the stand-in as its own process on a free loopback port.

    with UpstreamServer(CorpusConfig(seed=3, domains=50), Conditions(latency_ms=50)) as upstream:
        httpx.get(f"{upstream.base_url}/cdx/search/cdx", params={"url": "*.example.com"})
        upstream.set_conditions(Conditions(rate_429=0.1))
        expected = upstream.corpus.expected_captures()

The server runs in a subprocess (uvicorn, one event loop) so that its CPU and memory are
its own; `corpus` rebuilds the same model in the caller's process from the same config.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import httpx
from mirakuru import HTTPExecutor

from harness.supervision import LoggedService
from harness.upstream.app import CdxSettings
from harness.upstream.corpus import Corpus, CorpusConfig, build_corpus
from harness.upstream.faults import Conditions
from harness.upstream.profiles import UpstreamProfile
from harness.upstream.stats import StatsSnapshot

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_S = 120.0  # a 500-domain corpus builds in a few seconds; leave room on a busy host
ADMIN_TIMEOUT_S = 10.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def stand_in_options(
    corpus: CorpusConfig,
    conditions: Conditions | None = None,
    cdx: CdxSettings | None = None,
    profile: UpstreamProfile | None = None,
) -> dict[str, str]:
    """`python -m harness.upstream`'s options (without host and port) for this setup: the
    command line's `--name value`, or the environment's CHRONO_UPSTREAM_NAME."""
    if conditions is None:
        conditions = profile.conditions() if profile is not None else Conditions()
    options = {name: str(value) for name, value in dataclasses.asdict(corpus).items()}
    for name, value in dataclasses.asdict(cdx or CdxSettings()).items():
        options[f"cdx_{name}"] = str(value)
    dumped = conditions.model_dump(mode="json")
    options["fault_schedule"] = ",".join(dumped.pop("schedule"))
    dumped["fault_applies_to"] = dumped.pop("applies_to")
    options.update({name: str(value) for name, value in dumped.items()})
    if profile is not None:
        options["profile"] = profile.name
        options["time_factor"] = repr(profile.time_factor)
    return options


class UpstreamServer(LoggedService):
    """The stand-in in a subprocess, started with `start()` or as a context manager
    (`stop()`, from LoggedService, ends it: SIGTERM, then SIGKILL after a grace period)."""

    def __init__(
        self,
        corpus: CorpusConfig | None = None,
        conditions: Conditions | None = None,
        cdx: CdxSettings | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        profile: UpstreamProfile | None = None,
    ) -> None:
        self.corpus_config = corpus or CorpusConfig()
        self.profile = profile
        if conditions is None:
            conditions = profile.conditions() if profile is not None else Conditions()
        self.initial_conditions = conditions
        self.cdx = cdx or CdxSettings()
        self.port = port or free_port()
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self._corpus: Corpus | None = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def corpus(self) -> Corpus:
        """The same corpus model the server holds, built in this process on first use."""
        if self._corpus is None:
            self._corpus = build_corpus(self.corpus_config)
        return self._corpus

    def command(self) -> list[str]:
        """The command line that starts the server with this configuration."""
        args = [
            sys.executable,
            "-m",
            "harness.upstream",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
        ]
        options = stand_in_options(
            self.corpus_config, self.initial_conditions, self.cdx, self.profile
        )
        for name, value in options.items():
            args += [_option(name), value]
        return args

    def start(self) -> None:
        """Start the server and wait until it answers its health check."""
        stderr: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
            stderr = self._log
        self._launch(
            HTTPExecutor(
                self.command(),
                url=f"{self.base_url}/_admin/health",
                method="GET",
                timeout=self.startup_timeout_s,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            ),
            f"the Wayback stand-in did not start on port {self.port}"
            + (f": see {self.log_path}" if self.log_path is not None else ""),
        )

    @property
    def pid(self) -> int | None:
        process = self._executor.process if self._executor is not None else None
        return process.pid if process is not None else None

    def _admin(self, method: str, path: str, payload: Any = None) -> Any:
        with httpx.Client(base_url=self.base_url, timeout=ADMIN_TIMEOUT_S) as client:
            response = client.request(method, f"/_admin/{path}", json=payload)
            response.raise_for_status()
            return response.json()

    def conditions(self) -> Conditions:
        return Conditions.model_validate(self._admin("GET", "faults"))

    def set_conditions(self, conditions: Conditions) -> None:
        """Replace latency and faults in the running server."""
        self._admin("POST", "faults", conditions.model_dump(mode="json"))

    def stats(self) -> StatsSnapshot:
        result: StatsSnapshot = self._admin("GET", "stats")
        return result

    def served(self) -> list[tuple[str, str, int]]:
        """(timestamp, original, status) of every capture whose whole body was sent."""
        entries = self._admin("GET", "served")["captures"]
        return [(str(ts), str(url), int(status)) for ts, url, status in entries]

    def clear_stats(self) -> None:
        self._admin("POST", "stats/clear")
