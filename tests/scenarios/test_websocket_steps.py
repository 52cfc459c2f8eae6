"""A websocket step from what its readers received: delay until a message or a newer one."""

from __future__ import annotations

import asyncio
import math
from dataclasses import asdict

import pytest

from harness.metrics import METRICS
from harness.runtime.compose.engine import LocalEngine
from harness.runtime.compose.ssh_engine import SshEngine
from harness.runtime.compose.stack import ComposeStack
from scenarios.base import WindowRecord
from scenarios.ladder import Ladder, LadderSpec, Step
from scenarios.websocket import WebsocketScenario, api_pids_here
from scenarios.ws_client import on_time, open_step
from scenarios.ws_clients import STALL_EVERY, Fleet, Reader, Stalled
from scenarios.ws_delivery import (
    PUBLISH_HZ,
    Publisher,
    api_cost,
    core_capacity,
    delays,
    judge,
    quantile,
)

SENT = [0.0, 0.4, 0.8, 1.2]


def reader(received: list[tuple[int, float]]) -> Reader:
    return Reader(user_id=1, url="ws://unused", received=received, opened=True)


def test_each_message_is_late_by_its_own_arrival() -> None:
    got = delays(reader([(0, 0.05), (1, 0.45), (2, 0.85), (3, 1.25)]), SENT, range(4), 5.0)
    assert [round(d, 2) for d in got] == [0.05, 0.05, 0.05, 0.05]


def test_a_coalesced_message_counts_until_a_newer_one_arrives() -> None:
    # message 1 was replaced by 2 (a bounded manager coalescing): it waited until 2 came
    got = delays(reader([(0, 0.05), (2, 0.9), (3, 1.25)]), SENT, range(4), 5.0)
    assert [round(d, 2) for d in got] == [0.05, 0.5, 0.1, 0.05]


def test_a_message_never_followed_is_late_forever() -> None:
    got = delays(reader([(0, 0.05), (1, 0.45)]), SENT, range(4), 5.0)
    assert got[2:] == [math.inf, math.inf]
    # and one that came after the step was judged is not counted as on time
    assert delays(reader([(3, 6.0)]), SENT, range(3, 4), 5.0) == [math.inf]


def test_p99_of_a_hundred_with_two_late_is_late() -> None:
    assert quantile([0.1] * 98 + [math.inf] * 2, 0.99) == math.inf
    assert quantile([0.1] * 99 + [math.inf], 0.99) == 0.1


def test_the_metric_states_the_stalled_share_and_publish_rate_the_client_uses() -> None:
    definition = METRICS["ws_connections"].definition
    assert f"{100 // STALL_EVERY} % stalled" in definition
    assert f"{PUBLISH_HZ:g} messages/s" in definition


def fleet_of(readers: list[Reader], stalled: int = 0) -> Fleet:
    fleet = Fleet("ws://unused", [])
    fleet.clients = [*readers, *(Stalled(2, "ws://unused", opened=True) for _ in range(stalled))]
    return fleet


def publisher_of(sent: list[float]) -> Publisher:
    publisher = Publisher("redis://127.0.0.1:1", [], PUBLISH_HZ)  # never connects
    publisher.sent = sent
    return publisher


def test_a_step_fails_when_readers_behind_a_stalled_peer_get_nothing() -> None:
    # An awaited broadcast (the original's send_to_project) stuck on a stalled peer's full
    # buffers: the readers after it in the list receive nothing while the rest read at once.
    sent = [0.1 * k for k in range(40)]
    prompt = [reader([(k, t + 0.01) for k, t in enumerate(sent)]) for _ in range(8)]
    behind = [reader([]) for _ in range(2)]
    publisher = publisher_of(sent)
    ok = judge(fleet_of(prompt, stalled=1), publisher, 0.0, 4.0, 5.0, 300.0, 1024.0, [20.0])
    assert ok.passed and ok.extra["stalled"] == 1
    held_up = judge(fleet_of(prompt + behind, stalled=1), publisher, 0.0, 4.0, 5.0,
                    300.0, 1024.0, [20.0])  # fmt: skip
    assert not held_up.passed
    assert held_up.detail.startswith(
        "delivery p99 > 1 s: 80 of 400 messages not delivered 1 s after the step"
    )


def test_a_step_fails_on_memory_over_its_limit_or_a_refused_connection() -> None:
    sent = [0.1 * k for k in range(40)]
    prompt = [reader([(k, t + 0.01) for k, t in enumerate(sent)]) for _ in range(4)]
    publisher = publisher_of(sent)
    over = judge(fleet_of(prompt), publisher, 0.0, 4.0, 5.0, 1100.0, 1024.0, [20.0])
    assert not over.passed and "API memory 1100 MiB > 1024 MiB" in over.detail
    refused = Reader(user_id=3, url="ws://unused", refused="closed 1008")
    step = judge(fleet_of([*prompt, refused]), publisher, 0.0, 4.0, 5.0, 300.0, 1024.0, [20.0])
    assert not step.passed and "1 refused (closed 1008)" in step.detail


class RecordingFleet(Fleet):
    def __init__(self) -> None:
        super().__init__("ws://unused", [])
        self.sizes: list[int | str] = []

    async def resize(self, count: int) -> None:
        self.sizes.append(count)


def test_a_step_after_a_failure_starts_from_none_once_the_api_settled() -> None:
    """A lower step after a failed one must not inherit the failed step's backlog: it
    opens its connections from none, after fresh readers got progress on time."""
    ladder = Ladder(LadderSpec(start=10, factor=2, ceiling=80, bisect=True))
    fleet = RecordingFleet()

    async def settled() -> float:
        fleet.sizes.append("settled")
        return 1.5

    async def steps() -> list[dict[str, object]]:
        notes = [await open_step(fleet, ladder, 10, settled)]
        ladder.record(Step(10, True))
        notes.append(await open_step(fleet, ladder, 20, settled))
        ladder.record(Step(20, False, detail="delivery p99 inf s"))
        notes.append(await open_step(fleet, ladder, 15, settled))
        return notes

    notes = asyncio.run(steps())
    assert fleet.sizes == [10, 20, 0, "settled", 15]
    assert notes == [{}, {}, {"settle_s": 1.5}]


def test_settled_means_every_probe_reader_got_fresh_progress() -> None:
    sent = [0.0, 1.0, 2.0, 3.0]
    fresh = reader([(3, 3.01)])
    assert on_time([fresh], sent, 3.5)
    assert not on_time([fresh, reader([(1, 1.01)])], sent, 3.5)  # one still behind
    assert not on_time([fresh, reader([])], sent, 3.5)  # one got nothing yet


def test_a_step_records_the_api_cpu_per_delivered_message_and_per_send() -> None:
    # 40 messages in the step's 4 s; four readers get all of them in it, one gets its last
    # ten only after the step ended; one stalled connection gets none but is sent them
    sent = [0.1 * k for k in range(40)]
    prompt = [reader([(k, t + 0.01) for k, t in enumerate(sent)]) for _ in range(4)]
    late = reader([(k, t + (0.01 if k < 30 else 1.0)) for k, t in enumerate(sent)])
    fleet = fleet_of([*prompt, late], stalled=1)
    step = judge(fleet, publisher_of(sent), 0.0, 4.0, 5.0, 300.0, 1024.0, [20.0],
                 api_cpu_s=0.76)  # fmt: skip
    assert step.extra["delivered"] == 4 * 40 + 30
    assert step.extra["sends"] == 40 * 6
    assert step.extra["api_cpu_pct"] == pytest.approx(19.0)
    assert step.extra["api_cpu_us_per_delivered"] == pytest.approx(4000.0)
    assert step.extra["api_cpu_us_per_send"] == pytest.approx(760_000 / 240)


def test_a_step_without_the_api_cpu_records_no_cost() -> None:
    sent = [0.1 * k for k in range(40)]
    step = judge(fleet_of([reader([(0, 0.05)])]), publisher_of(sent), 0.0, 4.0, 5.0,
                 None, None, [20.0])  # fmt: skip
    assert step.extra["api_cpu_us_per_delivered"] is None
    assert api_cost(1.0, 4.0, 0, 0)["api_cpu_us_per_delivered"] is None  # nothing delivered


def test_one_core_carries_a_million_microseconds_of_messages() -> None:
    messages_s, connections = core_capacity(200.0, 160.0, 4.0)
    assert messages_s == pytest.approx(5000.0)
    assert connections == pytest.approx(1_000_000 / (160.0 * 4.0))


def ws_record(steps: list[Step]) -> WindowRecord:
    spec = LadderSpec(start=10, factor=2, ceiling=80, bisect=True, unit="connections")
    data = {"steps": [s.to_json() for s in steps], "ladder": asdict(spec), "publish_hz": 4.0}
    return WindowRecord("websocket", 0.0, 1.0, {}, data=data)


def test_the_row_says_where_it_failed_and_what_a_message_cost_the_api() -> None:
    held = Step(
        20,
        True,
        detail="delivery p99 80 ms",
        extra={
            "p99_ms": 80.0,
            "messages": 1620,
            "api_cpu_pct": 61.0,
            "api_cpu_us_per_delivered": 200.0,
            "api_cpu_us_per_send": 160.0,
        },
    )
    failed = Step(
        40,
        False,
        detail="delivery p99 1.80 s",
        extra={
            "p99_ms": 1800.0,
            "api_cpu_pct": 98.4,
            "api_cpu_us_per_delivered": 900.0,
            "api_cpu_us_per_send": 300.0,
        },
    )
    record = ws_record([Step(10, True, extra={"api_cpu_us_per_delivered": 500.0}), held,
                        failed, Step(30, False, detail="delivery p99 1.20 s")])  # fmt: skip
    measured = {m.metric: m for m in WebsocketScenario().collect(None, record)}  # type: ignore[arg-type]
    assert measured["ws_connections"].value == 20
    assert measured["ws_api_cpu_us_per_message"].value == 200.0  # the held step's
    assert measured["ws_delivery_p99_ms"].requests == 1620
    assert measured["ws_connections"].note == (
        "failed at 30 connections: delivery p99 1.20 s; at 20 the API spent 200 µs of CPU"
        " per delivered message (160 µs per send, 61 % of a core): one core carries"
        " ~5,000 messages/s, ~1,562 connections at 4/s"
    )


def test_a_row_without_the_api_cpu_is_invalid_for_that_metric_only() -> None:
    record = ws_record([Step(10, True, extra={"p99_ms": 50.0, "messages": 90})])
    measured = {m.metric: m for m in WebsocketScenario().collect(None, record)}  # type: ignore[arg-type]
    assert measured["ws_connections"].valid and measured["ws_delivery_p99_ms"].valid
    cost = measured["ws_api_cpu_us_per_message"]
    assert not cost.valid and cost.invalid_reason == "the API's CPU unread"


class _Stack:
    """A target whose API runs as PIDs 41 and 42, here or on another machine."""

    def __init__(self, here: bool) -> None:
        self.here = here

    def api_pids(self) -> list[int]:
        return [41, 42]

    def pids_here(self) -> bool:
        return self.here


def test_the_client_reads_the_apis_cpu_only_where_its_pids_are_this_machines() -> None:
    assert api_pids_here(_Stack(here=True)) == [41, 42]  # type: ignore[arg-type]
    # a deployed host's PIDs name unrelated processes here: no reading beats a wrong one
    assert api_pids_here(_Stack(here=False)) == []  # type: ignore[arg-type]


def test_a_compose_stack_says_whether_its_engine_is_this_machines() -> None:
    stack = ComposeStack.__new__(ComposeStack)
    stack.engine = LocalEngine.__new__(LocalEngine)
    assert stack.pids_here()
    stack.engine = SshEngine.__new__(SshEngine)
    assert not stack.pids_here()
