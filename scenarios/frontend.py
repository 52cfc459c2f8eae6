"""The frontend scenario: cold loads of the projects page in headless Chromium.

Each window is one load in a new Chromium with a new empty profile (nothing cached),
logged in by the app's token put into localStorage before the page's scripts run (the
login itself is not measured). The figures come from the browser, through the driver
app/frontend/scripts/measure-load.mjs (playwright-core driving /usr/bin/chromium):

- `frontend_initial_kb`: bytes on the wire (compressed, headers included) of every
  request finished before the page is interactive, from the DevTools protocol's
  Network.loadingFinished encodedDataLength; 1 kB = 1000 bytes, as DevTools counts.
- `tti_ms`: Lighthouse's time to interactive, from navigation start, with first
  contentful paint replaced by the later moment the projects list is on screen: the end
  of the last long task before the first 5 s window with no long task and at most two
  requests in flight. Lighthouse itself is not used: it would add a large npm dependency
  and ten seconds a load to compute this same definition from a trace.
- `lcp_ms`: the browser's largest-contentful-paint entry at that moment.

The browser runs on the load generator's core, throttled to Lighthouse's desktop network
(40 ms round trip, 10 Mbit/s): on bare loopback every byte is free and the split build's
whole point, fewer bytes, would not show in the time.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from app.frontend_serve import FRONTEND_DIR
from app.seed import BENCH_EMAIL, BENCH_PASSWORD
from harness.errors import UserError
from harness.runtime.placement import Placement
from harness.runtime.target import Target
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile

log = logging.getLogger(__name__)

DRIVER = FRONTEND_DIR / "scripts" / "measure-load.mjs"
PROJECTS_PATH = "/projects"
LOGIN_PATH = "/api/v1/auth/login"
# What the projects page asks the API for.
API_WARM_PATHS = ("/api/v1/auth/me", "/api/v1/projects/")
READY_SELECTOR = "[data-testid=projects-list][data-ready]"
QUIET_WINDOW_MS = 5000  # Lighthouse's
BYTES_PER_KB = 1000
# Lighthouse's desktop throttling: 40 ms round trip, 10,240 kbit/s both ways, CPU as is.
DESKTOP_NETWORK = {"latencyMs": 40, "downloadKbps": 10240, "uploadKbps": 10240}
# A load that has not gone quiet by then is reported as a failure, not waited for.
LOAD_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 30.0
# Headroom per load for starting and closing Chromium.
BROWSER_START_S = 30.0
# What each build's index.html loads: the split build's entry lives under entries/.
BUILD_MARKERS = {"split": "/entries/", "eager": "/assets/app.js"}

Build = Literal["split", "eager"]


@dataclass(frozen=True)
class PageLoad:
    """One cold load as the browser saw it (times in ms from navigation start)."""

    tti_ms: float
    lcp_ms: float | None
    fcp_ms: float | None
    ready_ms: float | None
    bytes_before_tti: int
    bytes_before_tti_resource_timing: int
    bytes_total: int
    requests: list[dict[str, Any]]
    text: str | None = None

    @property
    def initial_kb(self) -> float:
        return self.bytes_before_tti / BYTES_PER_KB

    @classmethod
    def from_driver(cls, line: dict[str, Any]) -> PageLoad:
        return cls(
            tti_ms=float(line["tti_ms"]),
            lcp_ms=_float_or_none(line.get("lcp_ms")),
            fcp_ms=_float_or_none(line.get("fcp_ms")),
            ready_ms=_float_or_none(line.get("ready_ms")),
            bytes_before_tti=int(line["bytes_before_tti"]),
            bytes_before_tti_resource_timing=int(line["bytes_before_tti_resource_timing"]),
            bytes_total=int(line["bytes_total"]),
            requests=list(line["requests"]),
            text=line.get("text"),
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise UserError("frontend: 'node' was not found on PATH: install Node.js 20 or newer")
    if not (FRONTEND_DIR / "node_modules" / "playwright-core").is_dir():
        raise UserError("frontend: the web client's packages are missing: run `make frontend`")
    return node


def measure_loads(
    url: str,
    *,
    token: str | None = None,
    login: tuple[str, str] | None = None,
    loads: int = 1,
    quiet_window_ms: int = QUIET_WINDOW_MS,
    network: dict[str, int] | None = DESKTOP_NETWORK,
    capture_text: bool = False,
    placement: Placement | None = None,
    timeout_s: float = LOAD_TIMEOUT_S,
) -> list[PageLoad]:
    """Cold loads of `url` in headless Chromium, each with a new profile.

    With `token` the page starts logged in; with `login` (email, password) the page is
    the login form, filled in and sent before the projects list is waited for.
    """
    options = {
        "url": url,
        "token": token,
        "login": {"email": login[0], "password": login[1]} if login else None,
        "repeats": loads,
        "readySelector": READY_SELECTOR,
        "quietWindowMs": quiet_window_ms,
        "network": network,
        "timeoutMs": int(timeout_s * 1000),
        "captureText": capture_text,
    }
    command = [node_binary(), str(DRIVER), json.dumps(options)]
    if placement is not None:
        command = placement.wrap(command, "loadgen")
    done = subprocess.run(
        command,
        cwd=FRONTEND_DIR,
        capture_output=True,
        text=True,
        timeout=loads * (timeout_s + BROWSER_START_S),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"browser driver failed: {done.stderr.strip()[-2000:]}")
    return [PageLoad.from_driver(json.loads(line)) for line in done.stdout.splitlines() if line]


def log_in(api_url: str, email: str = BENCH_EMAIL, password: str = BENCH_PASSWORD) -> str:
    """A bearer token for `email`, through the API's own OAuth2 form login."""
    response = httpx.post(
        f"{api_url}{LOGIN_PATH}",
        data={"username": email, "password": password},
        timeout=HTTP_TIMEOUT_S,
    )
    if response.status_code != 200:
        raise UserError(f"frontend: logging in as {email} failed ({response.status_code})")
    return str(response.json()["access_token"])


def served_build(api_url: str) -> Build | None:
    """Which build the server hands out for the projects page (None: no web client)."""
    response = httpx.get(f"{api_url}{PROJECTS_PATH}", timeout=HTTP_TIMEOUT_S)
    if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
        return None
    for build, marker in BUILD_MARKERS.items():
        if marker in response.text:
            return build  # type: ignore[return-value]  # the keys are the Literal's values
    return None


class FrontendScenario:
    name = "frontend"
    metrics = ("frontend_initial_kb", "tti_ms", "lcp_ms")

    def __init__(
        self,
        *,
        quiet_window_ms: int = QUIET_WINDOW_MS,
        network: dict[str, int] | None = DESKTOP_NETWORK,
    ) -> None:
        self.quiet_window_ms = quiet_window_ms
        self.network = network
        self.token: str | None = None

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        node_binary()
        if served_build(target.api_url) is None:
            raise UserError(
                f"frontend: {target.api_url}{PROJECTS_PATH} serves no web client: "
                "run `make frontend` before starting the API"
            )
        self.token = log_in(target.api_url)

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """One unmeasured load: the server's first requests pay for imports and pools."""
        measure_loads(
            f"{target.api_url}{PROJECTS_PATH}",
            token=self.token,
            quiet_window_ms=0,
            network=None,
            placement=target.placement,
        )

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        expected: Build = "split" if "frontend_split" in target.variant else "eager"
        build = served_build(target.api_url)
        self._warm_api(target.api_url)
        started = time.time()
        [load] = measure_loads(
            f"{target.api_url}{PROJECTS_PATH}",
            token=self.token,
            quiet_window_ms=self.quiet_window_ms,
            network=self.network,
            placement=target.placement,
        )
        finished = time.time()
        invalid = None
        if build != expected:
            invalid = f"the server sent the {build} build, the variant asks for the {expected} one"
        log.info(
            "frontend %s: %.0f kB before interactive, TTI %.0f ms, LCP %s ms",
            build, load.initial_kb, load.tti_ms, load.lcp_ms,
        )  # fmt: skip
        return WindowRecord(
            self.name,
            started,
            finished,
            readings={
                "frontend.bytes_total": float(load.bytes_total),
                "frontend.bytes_before_tti_resource_timing": float(
                    load.bytes_before_tti_resource_timing
                ),
            },
            data={"load": load, "build": build},
            invalid_reason=invalid,
        )

    def _warm_api(self, api_url: str) -> None:
        """The page's API requests once, outside the browser: a variant switch restarts
        the API, and only the measured page should pay for a cold server or not at all."""
        headers = {"Authorization": f"Bearer {self.token}"}
        for path in API_WARM_PATHS:
            httpx.get(f"{api_url}{path}", headers=headers, timeout=HTTP_TIMEOUT_S)

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        load: PageLoad = record.data["load"]
        values = {"frontend_initial_kb": load.initial_kb, "tti_ms": load.tti_ms}
        if load.lcp_ms is not None:
            values["lcp_ms"] = load.lcp_ms
        valid = record.invalid_reason is None
        return [
            Measurement(metric, value, valid=valid, invalid_reason=record.invalid_reason)
            for metric, value in values.items()
        ]
