"""The performance report's locustfile, corrected to the real API.

Form login (OAuth2 form, username = e-mail), then: list projects x3, stats of one of the
user's own projects x2, search by GET x1. As it is, against `chrono-bench up`:

    locust -f scenarios/locustfiles/api.py --host http://127.0.0.1:PORT --users 20

CHRONO_BENCH_WAIT_MIN_S / _MAX_S set the think time (the report's 1-3 s by default).
"""

from __future__ import annotations

import os
import random

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

from scenarios.locustfiles.common import API, login, project_ids

WAIT_MIN_S = float(os.environ.get("CHRONO_BENCH_WAIT_MIN_S", "1"))
WAIT_MAX_S = float(os.environ.get("CHRONO_BENCH_WAIT_MAX_S", "3"))
SEARCH_TERMS = ("archive", "history", "election", "climate", "museum", "railway")
# The request names the harness reads its metrics from.
PROJECTS = "projects"
STATS = "project stats"
SEARCH = "search"


class ChronoScraperUser(FastHttpUser):
    wait_time = between(WAIT_MIN_S, WAIT_MAX_S)

    def on_start(self) -> None:
        self.headers = login(self.client)
        self.project_ids = project_ids(self.client, self.headers)

    def before_request(self) -> None:
        """Called as each task starts (the concurrency ladder counts requests by it)."""

    @task(3)
    def list_projects(self) -> None:
        self.before_request()
        self.client.get(f"{API}/projects/", headers=self.headers, name=PROJECTS)

    @task(2)
    def get_project_stats(self) -> None:
        project_id = random.choice(self.project_ids)
        self.before_request()
        self.client.get(f"{API}/projects/{project_id}/stats", headers=self.headers, name=STATS)

    @task(1)
    def search(self) -> None:
        term = random.choice(SEARCH_TERMS)
        self.before_request()
        self.client.get(
            f"{API}/search/pages?q={term}&per_page=20", headers=self.headers, name=SEARCH
        )
