"""Measure this machine's run-to-run noise and write it to noise.json beside this file.

The gate's statistical tests (tests/gate/test_power.py) draw synthetic samples with the
noise measured here, so that their false-alarm and detection rates hold on a machine like
this one. Method: a tiny ASGI app under uvicorn (one worker, pinned to CPU 0) and wrk
(one thread, pinned to the last CPU) on loopback; after a warm-up, REPEATS windows of
WINDOW_S seconds each; per window the client-side p95 latency and the throughput; the
noise is their coefficient of variation (sample standard deviation / mean) across windows.
Two loads: "saturated" (16 connections queue at the one worker, so p95 is mostly queueing)
and "light" (one connection, so p95 is mostly service time); the gate tests use the larger.

Run: .venv/bin/python tests/cases/gate/measure_noise.py
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPEATS = 12
WINDOW_S = 5
WARMUP_S = 3
LOADS_CONNECTIONS = {"saturated": 16, "light": 1}
STARTUP_TIMEOUT_S = 15.0
OUTPUT = Path(__file__).with_name("noise.json")

# wrk prints only 50/75/90/99 by default; this script reports p95 and throughput as JSON.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format('{"p95_us": %d, "requests": %d, "duration_us": %d, "errors": %d}\\n',
    latency:percentile(95), summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout))
end
"""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A small JSON endpoint: enough Python work per request to resemble an API call."""
    if scope["type"] != "http":
        return
    body = json.dumps({"projects": [{"id": i, "name": f"project {i}"} for i in range(50)]})
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer {url} within {STARTUP_TIMEOUT_S} s")


def _wrk(url: str, duration_s: int, script: Path, cpu: int, connections: int) -> dict[str, float]:
    command = ["taskset", "-c", str(cpu), "wrk", "-t1", f"-c{connections}", f"-d{duration_s}s"]
    output = subprocess.run(
        [*command, "-s", str(script), url], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return {
        "p95_ms": result["p95_us"] / 1000.0,
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "errors": float(result["errors"]),
    }


def _cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.fmean(values)


def _measure(url: str, script: Path, cpu: int, connections: int) -> dict[str, Any]:
    _wrk(url, WARMUP_S, script, cpu, connections)
    windows = [_wrk(url, WINDOW_S, script, cpu, connections) for _ in range(REPEATS)]
    return {
        "connections": connections,
        "p95_cv": round(_cv([w["p95_ms"] for w in windows]), 4),
        "throughput_cv": round(_cv([w["rps"] for w in windows]), 4),
        "windows": windows,
    }


def main() -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    last_cpu = (os.cpu_count() or 1) - 1
    server = subprocess.Popen(
        [
            *("taskset", "-c", "0", sys.executable, "-m", "uvicorn"),
            *("--app-dir", str(Path(__file__).parent), "measure_noise:app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            "--no-access-log",
        ]
    )
    try:
        _wait_until_up(url)
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "p95.lua"
            script.write_text(WRK_SCRIPT)
            loads = {
                name: _measure(url, script, last_cpu, connections)
                for name, connections in LOADS_CONNECTIONS.items()
            }
    finally:
        server.terminate()
        server.wait(timeout=10)
    noise = {
        "p95_cv": max(load["p95_cv"] for load in loads.values()),
        "throughput_cv": max(load["throughput_cv"] for load in loads.values()),
        "method": (
            f"wrk -t1 (pinned to cpu {last_cpu}) against a one-worker uvicorn ASGI app "
            "returning 50 JSON objects (pinned to cpu 0) on loopback, under each load of "
            f"{LOADS_CONNECTIONS} (connections); {WARMUP_S} s warm-up, then {REPEATS} windows "
            f"of {WINDOW_S} s; per window the client p95 (wrk latency:percentile(95)) and "
            "requests/s; cv = sample stdev / mean across windows; top-level values are the "
            "largest over the loads. Script: tests/cases/gate/measure_noise.py"
        ),
        "repeats": REPEATS,
        "window_s": WINDOW_S,
        "loads": loads,
        "host": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "os": platform.platform(),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    OUTPUT.write_text(json.dumps(noise, indent=2) + "\n")
    print(f"p95 cv {noise['p95_cv']:.3f}, throughput cv {noise['throughput_cv']:.3f} -> {OUTPUT}")


if __name__ == "__main__":
    main()
