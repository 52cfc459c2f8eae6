"""The load generator's ceiling here: wrk, one locust process and, for a run that drives
its load with locust workers, a master with two workers, side by side on nginx answering a
constant body (the trivially fast endpoint)."""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import replace
from pathlib import Path

from harness.errors import UserError
from harness.load.local import run_locust
from harness.load.spec import LOCUSTFILES, LocustSpec
from harness.runtime.placement import Placement
from harness.runtime.ports import LOOPBACK, free_port
from harness.runtime.process import CheckedTCPExecutor, require_binary
from harness.supervision import LoggedService

LOG = logging.getLogger(__name__)
CEILING_DURATION_S = 6.0
CEILING_USERS = 32
# The distributed setup measured beside a single locust process, for runs with workers.
CEILING_WORKERS = 2
WRK_CONNECTIONS = 64
WRK_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
TRIVIAL_PATH = "/ok"
CONFIG = """\
worker_processes 1;
daemon off;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    keepalive_requests 1000000;
    server {{
        listen {host}:{port};
        location = {path} {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""


class NginxServer(LoggedService):
    """One nginx master and worker answering `GET /ok` with a constant body."""

    def __init__(self, base_dir: Path, placement: Placement | None = None) -> None:
        # nginx reads relative paths against its own prefix, not our working directory.
        self.base_dir = base_dir.resolve()
        self.port = free_port()
        self._placement = placement or Placement()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{TRIVIAL_PATH}"

    def start(self) -> None:
        binary = require_binary("nginx", "nginx-light")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / "nginx.conf"
        config.write_text(
            CONFIG.format(base=self.base_dir, host=LOOPBACK, port=self.port, path=TRIVIAL_PATH)
        )
        command = [binary, "-c", str(config), "-e", str(self.base_dir / "error.log")]
        self._log = open(self.base_dir / "nginx.log", "a")  # noqa: SIM115 - closed in stop()
        self._launch(
            CheckedTCPExecutor(
                self._placement.wrap(command, "sut"), port=self.port, ready=lambda: True,
                log=self._log,
            ),
            f"nginx did not start: see {self.base_dir / 'error.log'}",
        )  # fmt: skip


def run_wrk(url: str, duration_s: float, placement: Placement) -> float:
    """wrk's requests per second on `url`, one thread per load generator core."""
    wrk = require_binary("wrk", "wrk")
    threads = max(1, len(placement.loadgen_cpus))
    command = placement.wrap(
        [wrk, f"-t{threads}", f"-c{WRK_CONNECTIONS}", f"-d{round(duration_s)}s", url], "loadgen"
    )
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = WRK_RPS.search(output)
    if match is None:
        raise UserError(f"wrk printed no request rate: {output.strip()[:200]}")
    return float(match.group(1))


def measure_ceiling(
    work_dir: Path, placement: Placement, duration_s: float = CEILING_DURATION_S
) -> dict[str, float]:
    """Highest RPS of wrk and one locust process on nginx's constant answer (`wrk`,
    `locust_workers_1`), and of a master with two workers (`locust_workers_2`) when
    `placement` drives its load with locust workers (a run with one locust process
    compares its API with the single process's ceiling only: results_log.loadgen_ratio).

    The workers share the load generator's cores of `placement`, as a run's would.
    """
    single = replace(placement, load_workers=0, load_hosts=())
    ceilings: dict[str, float] = {}
    with NginxServer(work_dir / "nginx", placement) as nginx:
        ceilings["wrk"] = run_wrk(nginx.url, duration_s, placement)
        spec = LocustSpec(
            locustfile=LOCUSTFILES / "ceiling.py",
            host=nginx.url.removesuffix("/ok"),
            users=CEILING_USERS,
            spawn_rate=CEILING_USERS,
            duration_s=duration_s,
        )
        ceilings["locust_workers_1"] = run_locust(
            spec, work_dir / "locust", "ceiling", single
        ).total.rps
        if placement.load_workers:
            workers = replace(single, load_workers=CEILING_WORKERS)
            ceilings[f"locust_workers_{CEILING_WORKERS}"] = run_locust(
                spec, work_dir / "locust", "ceiling-workers", workers
            ).total.rps
    LOG.info("load generator ceiling (rps): %s", ceilings)
    return ceilings
