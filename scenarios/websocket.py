"""The websocket scenario: how many dashboards the API holds and feeds, one in ten stalled.

The client (scenarios/ws_client.py, its own process on the load generator's core) opens
dashboard connections on a ladder from 10 up, four per user; every tenth stalls (a raw
socket that completed the handshake and never reads again); every user's channel gets
progress at the rate one running scrape publishes it. A step holds when the reading
connections' delivery p99 stays under 1 s, no connection was refused or dropped, and the
API's memory stayed within its budget. `ws_connections` is the last step that held
(a lower bound when the ceiling held or the client itself saturated);
`ws_delivery_p99_ms` is that step's p99 and `ws_api_cpu_us_per_message` the API's CPU
per message its readers received. Where a step failed, the connections' note says why
and what a message costs the API there, so a reader sees whether the API's CPU bound it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg
from mirakuru import SimpleExecutor

from app.core.security import create_access_token
from harness.collect.memory import PeakMemory
from harness.errors import UserError
from harness.runtime.target import Target
from scenarios.base import Measurement, WindowRecord
from scenarios.concurrency import ladder_steps
from scenarios.ladder import LadderSpec, Step, held_nothing, replay
from scenarios.profiles import MeasureProfile
from scenarios.ws_client import PROBE_USERS, SETTLE_LIMIT_S
from scenarios.ws_clients import CONNECTIONS_PER_USER, OPENING_LIMIT_S
from scenarios.ws_delivery import DELIVERY_SLO_S, PUBLISH_HZ, core_capacity

TOKEN_MINUTES = 24 * 60
EXIT_GRACE_S = 60.0
# What a step costs beyond its hold: opening its connections, judging its delivery.
STEP_OVERHEAD_S = OPENING_LIMIT_S + DELIVERY_SLO_S + SETTLE_LIMIT_S + 5.0
MEMORY_FILE = "api-memory.txt"


def create_users(target: Target, count: int, prefix: str) -> list[dict[str, Any]]:
    """`count` users, each with a token signed by the stack's secret."""
    with psycopg.connect(target.database_url, autocommit=True) as conn:
        rows = conn.execute(
            "INSERT INTO users (email, hashed_password)"
            " SELECT %s || md5(random()::text) || '@example.com', 'x'"
            " FROM generate_series(1, %s) RETURNING id, email",
            (prefix, count),
        ).fetchall()
    secret = target.jwt_secret()
    return [
        {"id": uid, "token": create_access_token(
            user_id=uid, email=email, secret=secret, expire_minutes=TOKEN_MINUTES)}
        for uid, email in rows
    ]  # fmt: skip


def run_client(
    target: Target, out_dir: Path, name: str, args: list[str], budget_s: float, *, pss: bool
) -> tuple[dict[str, Any], PeakMemory, float, float]:
    """Run the client to completion while the API's memory is sampled (and written to
    a file the client reads); its result, the memory sampler, start and end."""
    result_file, memory_file = out_dir / f"{name}.json", out_dir / MEMORY_FILE
    result_file.unlink(missing_ok=True)
    memory_file.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "scenarios.ws_client",
        "--api", target.api_url.replace("http://", "ws://", 1),
        "--redis", target.cache_url(), "--memory-file", str(memory_file),
        "--out", str(result_file), *args,
    ]  # fmt: skip
    memory = PeakMemory("api", target.api_pids, pss=pss, sink=memory_file)
    with (out_dir / f"{name}.log").open("w") as log:
        client = SimpleExecutor(
            target.placement.wrap(command, "loadgen"),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
        started = time.time()
        memory.begin()
        client.start()
        assert client.process is not None
        try:
            client.process.wait(timeout=budget_s)
        except subprocess.TimeoutExpired as error:
            raise UserError(f"the websocket client did not finish: see {log.name}") from error
        finally:
            memory.end()
            client.kill()
    if not result_file.exists():
        raise UserError(f"the websocket client wrote no result: see {out_dir}/{name}.log")
    return json.loads(result_file.read_text()), memory, started, time.time()


class WebsocketScenario:
    name = "websocket"
    metrics = ("ws_connections", "ws_delivery_p99_ms", "ws_api_cpu_us_per_message")

    def __init__(self, api_memory_limit_mb: float | None = None) -> None:
        # the API's memory budget, a step's SLO (None: not checked)
        self.api_memory_limit_mb = api_memory_limit_mb
        self.users: list[dict[str, Any]] = []

    def prepare(self, target: Target, profile: MeasureProfile) -> None:
        """Enough users for the ladder's ceiling, CONNECTIONS_PER_USER each, and the
        client's probe users (scenarios/ws_client.py)."""
        count = math.ceil(profile.ws_ladder.ceiling / CONNECTIONS_PER_USER) + PROBE_USERS
        self.users = create_users(target, count, "ws-")

    def warm_up(self, target: Target, profile: MeasureProfile, out_dir: Path) -> None:
        """Nothing of its own: connections start from none in every window."""

    def run(self, target: Target, profile: MeasureProfile, out_dir: Path) -> WindowRecord:
        out_dir.mkdir(parents=True, exist_ok=True)
        users_file = out_dir / "ws-users.json"
        users_file.write_text(json.dumps(self.users))
        spec = profile.ws_ladder
        ladder = {k: v for k, v in asdict(spec).items() if k != "unit"}
        args = ["--users", str(users_file), "--ladder", json.dumps(ladder),
                "--step-s", str(profile.ws_step_s),
                "--api-pids", ",".join(str(pid) for pid in api_pids_here(target))]  # fmt: skip
        if self.api_memory_limit_mb is not None:
            args += ["--memory-limit-mib", str(self.api_memory_limit_mb)]
        budget_s = ladder_steps(spec) * (profile.ws_step_s + STEP_OVERHEAD_S) + EXIT_GRACE_S
        started = time.time()
        try:
            result, _, started, finished = run_client(
                target, out_dir, self.name, args, budget_s, pss=False
            )
        except UserError as error:  # this window is lost, not the run
            return WindowRecord(self.name, started, time.time(), {},
                                data={"steps": [], "ladder": asdict(spec)},
                                invalid_reason=str(error))  # fmt: skip
        return WindowRecord(
            self.name, started, finished, {},
            data={**result, "ladder": asdict(spec)},
        )  # fmt: skip

    def collect(self, target: Target, record: WindowRecord) -> list[Measurement]:
        spec = LadderSpec(**record.data["ladder"])
        steps = [Step.from_json(step) for step in record.data["steps"]]
        outcome = replay(spec, steps)
        held = next((s for s in steps if s.load == outcome.value and s.passed), None)
        failed = next((s for s in steps if s.load == outcome.failed_at), None)
        p99 = _finite(held.extra.get("p99_ms") if held is not None else None)
        cost = _finite(held.extra.get("api_cpu_us_per_delivered") if held is not None else None)
        reason = record.invalid_reason
        note = held_nothing(spec, steps, outcome) or cost_note(
            held, failed, float(record.data.get("publish_hz", PUBLISH_HZ))
        )
        return [
            Measurement("ws_connections", float(outcome.value), reason is None, reason,
                        bound_reason=outcome.bound_reason, failed_at=outcome.bracket_top,
                        note=note),
            Measurement("ws_delivery_p99_ms", p99,
                        reason is None and math.isfinite(p99),
                        reason or (None if math.isfinite(p99) else "no step held"),
                        requests=held.extra.get("messages") if held is not None else None),
            Measurement("ws_api_cpu_us_per_message", cost,
                        reason is None and math.isfinite(cost),
                        reason or (None if math.isfinite(cost) else
                                   "no step held" if held is None else "the API's CPU unread")),
        ]  # fmt: skip


def api_pids_here(target: Target) -> list[int]:
    """The API's PIDs for the client to read their CPU time, when they are this
    machine's: a deployed host's PIDs name other processes here, or none."""
    return target.api_pids() if target.pids_here() else []


def _finite(value: Any) -> float:
    return float(value) if value is not None else math.nan


def cost_note(held: Step | None, failed: Step | None, hz: float) -> str | None:
    """Why the ladder stopped where it did, and what a message cost the API on the last
    step that held: the CPU it spent per delivered message and per send, and how many
    messages a second, and connections at `hz`, one core would carry at that cost."""
    parts = []
    if failed is not None:
        busy = failed.extra.get("api_cpu_pct")
        load = f", the API at {busy:.0f} % of a core" if busy is not None else ""
        parts.append(f"failed at {failed.load} connections: {failed.detail}{load}")
    per_delivered = held.extra.get("api_cpu_us_per_delivered") if held is not None else None
    per_send = held.extra.get("api_cpu_us_per_send") if held is not None else None
    if held is not None and per_delivered and per_send:
        messages_s, connections = core_capacity(per_delivered, per_send, hz)
        parts.append(
            f"at {held.load} the API spent {per_delivered:.0f} µs of CPU per delivered "
            f"message ({per_send:.0f} µs per send, {held.extra['api_cpu_pct']:.0f} % of a "
            f"core): one core carries ~{messages_s:,.0f} messages/s, "
            f"~{connections:,.0f} connections at {hz:g}/s"
        )
    return "; ".join(parts) or None
