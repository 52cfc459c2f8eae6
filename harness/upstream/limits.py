"""Per-client rate limits, Retry-After, and the block of a client that ignores them.

A client is a peer address, as the archive's firewall sees it. Each route class (CDX,
memento) has its own sliding window of admitted requests. A request over the limit gets a
429 with Retry-After: the whole seconds until the window has room again. A client that
comes back over the limit before its Retry-After has passed is ignoring it; once it has
done so for longer than the profile allows, every connection from it is refused for the
block period (doubled at each further block). Coming back early is a streak until the
client stays away from early returns for a whole window; a client that waits as told is
never blocked, however often it meets the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from harness.upstream.profiles import Blocking, RateLimit

Route = Literal["cdx", "web"]


class Verdict(StrEnum):
    ADMIT = "admit"
    LIMITED = "limited"
    REFUSED = "refused"


@dataclass
class _Client:
    admitted: dict[str, deque[float]] = field(default_factory=dict)
    retry_at: float = 0.0
    ignoring_since: float | None = None
    last_early_at: float = 0.0
    blocked_until: float = 0.0
    blocks: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    retry_after_s: int = 0


class Limiter:
    """The limits of one profile, for every client; thread-safe."""

    def __init__(
        self,
        limits: dict[Route, RateLimit | None],
        blocking: Blocking | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._blocking = blocking
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}
        self.counts: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget every client's history (windows, blocks) and the counts."""
        with self._lock:
            self._clients.clear()
            self.counts.clear()

    def decide(self, client_id: str, route: Route) -> Decision:
        now = self._clock()
        with self._lock:
            client = self._clients.setdefault(client_id, _Client())
            if now < client.blocked_until:
                self.counts["refused"] += 1
                return Decision(Verdict.REFUSED)
            limit = self._limits.get(route)
            if limit is None:
                return Decision(Verdict.ADMIT)
            window = client.admitted.setdefault(route, deque())
            while window and window[0] <= now - limit.window_s:
                window.popleft()
            if len(window) < limit.requests:
                window.append(now)
                return Decision(Verdict.ADMIT)
            retry_after_s = max(1, math.ceil(window[0] + limit.window_s - now))
            self.counts[f"{route} 429"] += 1
            if now < client.retry_at:
                # Back over the limit before the time it was given: ignoring the 429.
                self.counts[f"{route} early"] += 1
                if client.ignoring_since is None or now - client.last_early_at > limit.window_s:
                    client.ignoring_since = now
                client.last_early_at = now
                if self._blocks(client, now):
                    return Decision(Verdict.REFUSED)
            client.retry_at = max(client.retry_at, now + retry_after_s)
            return Decision(Verdict.LIMITED, retry_after_s)

    def _blocks(self, client: _Client, now: float) -> bool:
        blocking = self._blocking
        if blocking is None or client.ignoring_since is None:
            return False
        if now - client.ignoring_since <= blocking.ignored_for_s:
            return False
        factor = 2**client.blocks if blocking.doubling else 1
        client.blocked_until = now + blocking.block_s * factor
        client.blocks += 1
        client.ignoring_since = None
        client.admitted.clear()
        self.counts["blocks"] += 1
        self.counts["refused"] += 1
        return True
