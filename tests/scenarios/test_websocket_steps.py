"""A websocket step from what its readers received: delay until a message or a newer one."""

from __future__ import annotations

import math

from harness.metrics import METRICS
from scenarios.ws_clients import STALL_EVERY, Reader
from scenarios.ws_delivery import PUBLISH_HZ, delays, quantile

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
