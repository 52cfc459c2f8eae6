"""nginx as a trivially fast HTTP endpoint: the yardstick for the load generator's ceiling."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from harness.errors import UserError
from harness.runtime.placement import Placement
from harness.runtime.ports import LOOPBACK, free_port
from harness.runtime.process import CheckedTCPExecutor, Startable, require_binary

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


class NginxServer(Startable):
    """One nginx master and worker answering `GET /ok` with a constant body."""

    def __init__(self, base_dir: Path, placement: Placement | None = None) -> None:
        # nginx reads relative paths against its own prefix, not our working directory.
        self.base_dir = base_dir.resolve()
        self.port = free_port()
        self._placement = placement or Placement()
        self._executor: CheckedTCPExecutor | None = None
        self._log: IO[Any] | None = None

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
        self._executor = CheckedTCPExecutor(
            self._placement.wrap(command, "sut"), port=self.port, ready=lambda: True, log=self._log
        )
        try:
            self._executor.start()
        except Exception as error:
            self.stop()
            raise UserError(f"nginx did not start: see {self.base_dir / 'error.log'}") from error

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.stop()
            self._executor = None
        if self._log is not None:
            self._log.close()
            self._log = None
