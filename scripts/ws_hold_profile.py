"""Hold a fixed number of dashboards on a fresh local stack and read what a message costs
the API: its CPU per delivered message over the hold, and (with --py-spy) where that
CPU goes, sampled from each API worker process.

    flock /work/wt/bench.lock .venv/bin/python scripts/ws_hold_profile.py \
        --optimizations all --connections 1600 --hold-s 30 --out /tmp/ws-profile \
        [--py-spy /path/to/py-spy]

The connections and the progress are the websocket scenario's (scenarios/ws_client.py
--hold: one in ten stalled, 4.3 messages/s per user); the stack is pinned as in `run`
(the last core for the load generator and py-spy, the rest for the stack).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from rich.console import Console

from harness import catalog
from harness.budget.allocation import allocate
from harness.budget.inventory import get_host, load_inventory
from harness.collect.cpu import group_cpu_seconds
from harness.errors import UserError
from harness.run.session import LOCAL_HOST, stack_directory
from harness.runtime.placement import plan_placement
from harness.runtime.runtimes import StackSpec, running_stack
from harness.runtime.signals import exit_on_signals
from harness.runtime.variants import BASELINE, NONE, parse_optimizations
from scenarios.profiles import get_profile
from scenarios.registry import corpus_for, upstream_for
from scenarios.websocket import create_users
from scenarios.ws_client import PROBE_USERS
from scenarios.ws_clients import CONNECTIONS_PER_USER
from scenarios.ws_delivery import US_PER_S, api_cost

CPU_SAMPLE_S = 0.25
SETTLE_S = 3.0  # after the connections opened, before py-spy samples
PY_SPY_RATE_HZ = 200


def sample_cpu(pids: list[int], samples: list[tuple[float, float]], stop: threading.Event) -> None:
    while not stop.is_set():
        samples.append((time.time(), group_cpu_seconds(pids)))
        stop.wait(CPU_SAMPLE_S)


def cpu_at(samples: list[tuple[float, float]], at: float) -> float:
    """The API's CPU seconds at `at`, interpolated between samples."""
    for (t0, c0), (t1, c1) in itertools.pairwise(samples):
        if t0 <= at <= t1:
            return c0 + (c1 - c0) * (at - t0) / (t1 - t0)
    raise ValueError(f"no CPU sample around {at}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--optimizations",
        default="all",
        help="all, none, or ids separated by commas (default: all)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=1600,
        help="dashboards held, one in ten stalled (default: 1600)",
    )
    parser.add_argument(
        "--hold-s",
        type=float,
        default=30.0,
        help="seconds the dashboards are held and measured (default: 30)",
    )
    parser.add_argument("--py-spy", help="py-spy's path: sample the API's workers")
    parser.add_argument("--out", required=True, help="folder for summary.json and samples")
    args = parser.parse_args()
    if args.connections < 1 or args.hold_s <= 0:
        parser.error("--connections and --hold-s must be above 0")  # one line, exit 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)
    chosen = (
        []
        if args.optimizations.strip() == NONE
        else parse_optimizations(args.optimizations, catalog.measurable_on("local"))
    )
    profile = get_profile("quick")
    spec = StackSpec(
        "local", stack_directory(), allocate(get_host(load_inventory(Path("inventory.py")),
                                                      LOCAL_HOST)),
        plan_placement(True), variant=frozenset(chosen) or BASELINE,
        corpus=corpus_for(profile), upstream=upstream_for(profile), seed=None,  # schema only
    )  # fmt: skip
    with running_stack(spec, console) as running:
        target = running.target
        users = create_users(
            target, math.ceil(args.connections / CONNECTIONS_PER_USER) + PROBE_USERS, "ws-"
        )
        (out / "users.json").write_text(json.dumps(users))
        pids = target.api_pids()
        command = [
            sys.executable, "-m", "scenarios.ws_client",
            "--api", target.api_url.replace("http://", "ws://", 1),
            "--redis", target.cache_url(), "--users", str(out / "users.json"),
            "--hold", str(args.connections), "--hold-s", str(args.hold_s),
            "--out", str(out / "hold.json"),
        ]  # fmt: skip
        samples: list[tuple[float, float]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_cpu, args=(pids, samples, stop), daemon=True)
        sampler.start()
        log = (out / "client.log").open("w")
        client = subprocess.Popen(
            target.placement.wrap(command, "loadgen"), stdout=log, stderr=subprocess.STDOUT
        )
        spies = []
        try:
            while "connections open" not in (out / "client.log").read_text():
                time.sleep(0.2)
            if args.py_spy:
                time.sleep(SETTLE_S)
                duration = int(args.hold_s - SETTLE_S - 2)
                # uvicorn's worker processes: the supervisor only watches them
                workers = {c.pid for pid in pids for c in psutil.Process(pid).children()}
                # and the load generator's client, whose cost decides where it saturates
                for pid in [*sorted(workers or set(pids)), client.pid]:
                    record = [args.py_spy, "record", "--nonblocking", "--rate", str(PY_SPY_RATE_HZ),
                           "--duration", str(duration), "--format", "raw", "--pid", str(pid),
                           "--output", str(out / f"py-spy-{pid}.txt")]  # fmt: skip
                    spies.append(
                        subprocess.Popen(
                            target.placement.wrap(record, "loadgen"),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                    )
            client.wait(timeout=args.hold_s + 120)
            for spy in spies:
                spy.wait(timeout=60)
        finally:
            stop.set()
            sampler.join()
            client.kill()
            for spy in spies:
                spy.kill()
        hold = json.loads((out / "hold.json").read_text())["hold"]
        start, end = hold["extra"]["held_from"], hold["extra"]["held_from"] + args.hold_s
        cpu_s = cpu_at(samples, end) - cpu_at(samples, start)
        extra = hold["extra"]
        loadgen_pct = extra["loadgen_cpu_mean_pct"]
        summary = {
            "optimizations": args.optimizations, "connections": args.connections,
            "hold_s": args.hold_s, "delivered": extra["delivered"], "sends": extra["sends"],
            "p99_ms": extra["p99_ms"], "detail": hold["detail"],
            **api_cost(cpu_s, args.hold_s, extra["delivered"], extra["sends"]),
            # the load generator's own cost (its connections and the publisher)
            "loadgen_cpu_pct": loadgen_pct,
            "loadgen_cpu_us_per_delivered": US_PER_S * loadgen_pct / 100 * args.hold_s
            / extra["delivered"] if extra["delivered"] and loadgen_pct else None,
        }  # fmt: skip
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    try:
        with exit_on_signals():  # SIGTERM stops the stack as Ctrl-C does
            main()
    except UserError as error:
        print(f"ws_hold_profile: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
