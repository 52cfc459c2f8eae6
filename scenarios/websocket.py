"""The websocket scenario: how many dashboard connections the API holds and feeds on time.

Connections are opened step by step (scenarios/ws_client.py, its own process on the load
generator's core), spread over enough users that the per-user limit of the bounded
manager is never what stops them. `ws_connections` is the largest step at which every
connection was still open and at least 99 % of the progress messages arrived within
1 s; `ws_delivery_p99_ms` is that step's p99 delivery delay; `backend_memory_mb` the
peak RSS of all API processes meanwhile.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from mirakuru import SimpleExecutor

from app.core.security import create_access_token
from harness.collect.cpu import LoadgenCpu
from harness.collect.memory import PeakMemory
from harness.errors import UserError
from harness.runtime.target import Target
from scenarios.base import Measurement, WindowRecord
from scenarios.profiles import MeasureProfile
from scenarios.ws_client import DELIVERED_SHARE

# The bounded manager's default limit per user (app Settings.ws_max_connections_per_user).
CONNECTIONS_PER_USER = 4
TOKEN_MINUTES = 24 * 60
EXIT_GRACE_S = 60.0


def held_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps that kept every connection and delivered on time, in order, up to a miss."""
    passed = []
    for step in steps:
        ok = step["expected"] > 0 and step["on_time"] / step["expected"] >= DELIVERED_SHARE
        if not ok or step["held"] < step["connections"]:
            break
        passed.append(step)
    return passed


class WebsocketScenario:
    name = "websocket"
    metrics = ("ws_connections", "ws_delivery_p99_ms", "backend_memory_mb")

    def __init__(self) -> None:
        self.users: list[dict[str, Any]] = []

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        """Enough users for the largest step, each with a token signed by the stack's secret."""
        count = math.ceil(profile.ws_max / CONNECTIONS_PER_USER)
        with psycopg.connect(target.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "INSERT INTO users (email, hashed_password)"
                " SELECT 'ws-' || md5(random()::text) || '@example.com', 'x'"
                " FROM generate_series(1, %s) RETURNING id, email",
                (count,),
            ).fetchall()
        secret = target.jwt_secret()
        self.users = [
            {"id": uid, "token": create_access_token(
                user_id=uid, email=email, secret=secret, expire_minutes=TOKEN_MINUTES)}
            for uid, email in rows
        ]  # fmt: skip

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """Nothing to warm: connections start from none in every window."""

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        out_dir.mkdir(parents=True, exist_ok=True)
        users_file, result_file = out_dir / "ws-users.json", out_dir / "websocket.json"
        users_file.write_text(json.dumps(self.users))
        result_file.unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "scenarios.ws_client",
            "--api", target.api_url.replace("http://", "ws://", 1),
            "--redis", target.cache_url(), "--users", str(users_file),
            "--step", str(profile.ws_step), "--step-s", str(profile.ws_step_s),
            "--max", str(profile.ws_max), "--out", str(result_file),
        ]  # fmt: skip
        steps = math.ceil(profile.ws_max / profile.ws_step)
        budget_s = steps * (profile.ws_step_s + 3) + EXIT_GRACE_S
        memory = PeakMemory("api", target.api_pids)
        with (out_dir / "websocket.log").open("w") as log:
            client = SimpleExecutor(
                target.placement.wrap(command, "loadgen"),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
            started = time.time()
            memory.begin()
            client.start()
            assert client.process is not None
            cpu = LoadgenCpu(client.process.pid)
            cpu.begin()
            try:
                client.process.wait(timeout=budget_s)
            except subprocess.TimeoutExpired as error:
                raise UserError(f"the websocket client did not finish: see {log.name}") from error
            finally:
                loadgen = cpu.end()
                readings = memory.end()
                client.kill()
        finished = time.time()
        if not result_file.exists():
            raise UserError(f"the websocket client wrote no result: see {out_dir}/websocket.log")
        invalid = None
        if loadgen["loadgen.valid"] != 1.0:
            invalid = f"load generator CPU {loadgen['loadgen.cpu_mean_pct']:.0f}% > 90%"
        return WindowRecord(
            self.name, started, finished, {**readings, **loadgen},
            data=json.loads(result_file.read_text()), invalid_reason=invalid,
        )  # fmt: skip

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        passed = held_steps(record.data["steps"])
        best = passed[-1] if passed else None
        reason = record.invalid_reason
        valid = reason is None
        p99 = best["p99_ms"] if best and best["p99_ms"] is not None else math.nan
        return [
            Measurement("ws_connections", float(best["connections"]) if best else 0.0,
                        valid, reason),
            Measurement("ws_delivery_p99_ms", p99, valid and math.isfinite(p99),
                        reason or (None if math.isfinite(p99) else "no step held")),
            Measurement("backend_memory_mb", record.readings["api.rss_peak_mb"], valid, reason),
        ]  # fmt: skip
