"""The outermost ASGI layer under an upstream profile: who gets in, and how long they wait.

Before the fault layer sees a request, the profile's limiter decides: refused (the
connection is reset before a byte of answer: the archive's firewall block), 429 with
Retry-After, or admitted after the route's latency (a log-normal draw). /_admin is never
limited or delayed.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
from statistics import NormalDist

from starlette.types import ASGIApp, Receive, Scope, Send

from harness.upstream.faults import FaultKind
from harness.upstream.limits import Limiter, Route, Verdict
from harness.upstream.middleware import ERROR_PAGES, abort_connection, route_of
from harness.upstream.profiles import Latency, UpstreamProfile

# z of the 95th percentile of a standard normal distribution.
Z_95 = NormalDist().inv_cdf(0.95)


class LatencyDraw:
    """Log-normal delays with a given median and 95th percentile, from a seeded generator."""

    def __init__(self, latency: Latency, seed: int) -> None:
        self._median_s = latency.median_ms / 1000
        p95_s = max(latency.p95_ms, latency.median_ms) / 1000
        self._sigma = 0.0 if self._median_s <= 0 else math.log(p95_s / self._median_s) / Z_95
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def seconds(self) -> float:
        if self._median_s <= 0:
            return 0.0
        with self._lock:
            return self._rng.lognormvariate(math.log(self._median_s), self._sigma)


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AdmissionMiddleware:
    """Rate limits, blocks and latency of an upstream profile around the stand-in."""

    def __init__(
        self, app: ASGIApp, profile: UpstreamProfile, limiter: Limiter, seed: int = 0
    ) -> None:
        self.app = app
        self.profile = profile
        self.limiter = limiter
        self._latency: dict[Route, LatencyDraw] = {
            "cdx": LatencyDraw(profile.cdx_latency, seed),
            "web": LatencyDraw(profile.memento_latency, seed + 1),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = route_of(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        decision = self.limiter.decide(client_of(scope), route)
        if decision.verdict is Verdict.REFUSED:
            abort_connection(send)
            return
        if decision.verdict is Verdict.LIMITED:
            status, body = ERROR_PAGES[FaultKind.TOO_MANY_REQUESTS]
            headers = [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(decision.retry_after_s).encode()),
            ]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        delay_s = self._latency[route].seconds()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        await self.app(scope, receive, send)
