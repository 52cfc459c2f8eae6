"""Verification before measuring: before and after answer a fixed request set identically.

An optimization that changes what the API answers is not faster, it is different: it is
reported `broken` and not measured. The other parts of verification (the problem seen in
the before, the fix in the after, the statement counters agreeing) are the probes'
(`harness.run.probes`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from harness.runtime.target import Target
from scenarios.api import bench_project_ids

API = "/api/v1"
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "chrono-bench-password"
REQUEST_TIMEOUT_S = 60.0
SEARCH_TERMS = ("archive", "museum")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass(frozen=True)
class Check:
    passed: bool
    detail: str


def request_set(project_ids: Sequence[int]) -> list[str]:
    """The fixed paths both variants must answer alike (the api scenario's requests)."""
    first = list(project_ids[:3])
    paths = [f"{API}/projects/"]
    paths += [f"{API}/projects/{pid}/stats" for pid in first]
    paths += [f"{API}/projects/{pid}" for pid in first[:1]]
    paths += [f"{API}/search/pages?q={term}&per_page=20" for term in SEARCH_TERMS]
    return paths


def login(client: httpx.Client) -> dict[str, str]:
    response = client.post(
        f"{API}/auth/login", data={"username": BENCH_EMAIL, "password": BENCH_PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def answers(target: Target, paths: Sequence[str]) -> dict[str, Answer]:
    """Status and decoded body of each path, as the benchmark user."""
    with httpx.Client(base_url=target.api_url, timeout=REQUEST_TIMEOUT_S) as client:
        headers = login(client)
        found = {}
        for path in paths:
            response = client.get(path, headers=headers)
            try:
                body: Any = response.json()
            except json.JSONDecodeError:
                body = response.text
            found[path] = Answer(response.status_code, body)
    return found


def compare_answers(before: dict[str, Answer], after: dict[str, Answer]) -> Check:
    """Passed when every path has the same status and body in both variants."""
    differing = [path for path in before if before[path] != after.get(path)]
    failing = [path for path, answer in before.items() if answer.status >= 400]
    if failing:
        return Check(False, f"the API failed on {failing[0]} (status {before[failing[0]].status})")
    if differing:
        path = differing[0]
        return Check(
            False,
            f"{len(differing)} of {len(before)} answers differ, first {path}: "
            f"status {before[path].status} vs {after[path].status if path in after else '-'}",
        )
    return Check(True, f"{len(before)} requests answered identically")


class HttpVerifier:
    """Verification against a live stack over HTTP, as the runner uses it."""

    def request_set(self, target: Target) -> list[str]:

        return request_set(bench_project_ids(target.database_url))

    def answers(self, target: Target, paths: Sequence[str]) -> dict[str, Answer]:
        return answers(target, paths)
