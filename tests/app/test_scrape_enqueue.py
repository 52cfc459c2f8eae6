"""POST /scrape: a session, the project set to indexing, one Celery message per active domain."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from app.services.scrape import SCRAPE_TASK
from tests.app.conftest import register

DOMAINS = [("a.example.org", True), ("b.example.org", False), ("c.example.org", True)]


@pytest.mark.parametrize(("celery_tuning", "queue"), [(False, "celery"), (True, "scraping")])
def test_scrape_enqueues_one_task_per_active_domain(
    empty_dsn, client_for, redis_url, celery_tuning, queue
):
    client = client_for(empty_dsn, celery_tuning=celery_tuning)
    headers = register(client, "scraper@example.com")
    project = client.post("/api/v1/projects/", json={"name": "p"}, headers=headers).json()
    domains = [
        client.post(
            f"/api/v1/projects/{project['id']}/domains",
            json={"domain_name": name, "active": active},
            headers=headers,
        ).json()["id"]
        for name, active in [
            ("a.example.org", True),
            ("b.example.org", False),
            ("c.example.org", True),
        ]
    ]
    response = client.post(f"/api/v1/projects/{project['id']}/scrape", headers=headers)
    assert response.status_code == 202, response.text
    session = response.json()
    assert session["enqueued_domains"] == [domains[0], domains[2]]

    broker = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1")
    messages = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
    assert {m["headers"]["task"] for m in messages} == {SCRAPE_TASK}
    kwargs = sorted(
        (json.loads(base64.b64decode(m["body"]))[1] for m in messages),
        key=lambda k: k["domain_id"],
    )
    assert kwargs == [
        {"domain_id": domains[0], "scrape_session_id": session["id"]},
        {"domain_id": domains[2], "scrape_session_id": session["id"]},
    ]
    url = f"/api/v1/projects/{project['id']}"
    aggregate = client_for(empty_dsn, stats_aggregate=True)
    assert aggregate.get(url, headers=headers).json()["status"] == "indexing"
    # The original's stats read (stats_aggregate off) rewrites the status it derives from
    # the pages: with none stored yet, "indexing" reads back as "no_index", and stays so.
    assert client.get(url, headers=headers).json()["status"] == "no_index"
    assert aggregate.get(url, headers=headers).json()["status"] == "no_index"
