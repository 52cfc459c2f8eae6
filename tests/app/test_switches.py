"""Each switch answers identically both ways; statements per request show the report's N+1."""

from __future__ import annotations

import pytest

from tests.app.conftest import ALL_OFF, ALL_ON, BENCH_EMAIL, login

API_SWITCHES = ["stats_aggregate", "db_indexes", "async_db", "db_pool", "redis_cache", "ws_manager"]


def request_set(client, headers) -> list[str]:
    """A fixed set of reads over the seeded data, built from the bench user's own ids."""
    projects = client.get("/api/v1/projects/", headers=headers).json()
    first, middle = projects[0]["id"], projects[50]["id"]
    return [
        "/api/v1/projects/",
        "/api/v1/projects/?skip=10&limit=20",
        f"/api/v1/projects/{first}",
        f"/api/v1/projects/{first}/stats",
        f"/api/v1/projects/{middle}/stats",
        f"/api/v1/projects/{first}/domains",
        f"/api/v1/projects/{middle}/pages?page=2&per_page=50",
        "/api/v1/search/pages?q=archive",
        "/api/v1/search/pages?q=climate%20-railway&language=en&sort_by=date_desc&per_page=50",
        f"/api/v1/search/pages?q=museum&project={middle}&mime_type=application/pdf",
        "/api/v1/search/pages?date_from=2020-01-01&date_to=2020-12-31&sort_by=words_asc",
        "/api/v1/auth/me",
    ]


def answers(client, headers, urls) -> list[tuple[int, bytes]]:
    result = []
    for url in urls:
        response = client.get(url, headers=headers)
        result.append((response.status_code, response.content))
    return result


@pytest.mark.parametrize("switch", API_SWITCHES)
def test_switch_answers_identically(switch, seeded_dsn, client_for):
    before = client_for(seeded_dsn)
    after = client_for(seeded_dsn, **{switch: True})
    headers = login(before, BENCH_EMAIL)
    urls = request_set(before, headers)
    expected = answers(before, headers, urls)
    assert all(status == 200 for status, _ in expected)
    assert answers(after, headers, urls) == expected
    # A second pass: the cache (when on) now answers from Redis, still identically.
    assert answers(after, headers, urls) == expected


def test_all_off_and_all_on_answer_identically(seeded_dsn, client_for):
    before = client_for(seeded_dsn, **ALL_OFF)
    after = client_for(seeded_dsn, **ALL_ON)
    headers = login(before, BENCH_EMAIL)
    urls = request_set(before, headers)
    expected = answers(before, headers, urls)
    assert answers(after, headers, urls) == expected
    assert answers(after, headers, urls) == expected


def statements(response) -> int:
    assert response.status_code == 200, response.text
    return int(response.headers["X-DB-Statements"])


def test_project_list_statements_per_variant(seeded_dsn, client_for):
    off = client_for(seeded_dsn)
    on = client_for(seeded_dsn, stats_aggregate=True)
    cached = client_for(seeded_dsn, stats_aggregate=True, redis_cache=True)
    headers = login(off, BENCH_EMAIL)
    listed = off.get("/api/v1/projects/", headers=headers)
    assert len(listed.json()) == 100
    # 1 list + per project 4 stats + (1 + 3 per domain) sync + 4 status = 24 x 100.
    assert statements(listed) >= 300
    assert statements(on.get("/api/v1/projects/", headers=headers)) == 1
    assert statements(cached.get("/api/v1/projects/", headers=headers)) == 1
    warm = cached.get("/api/v1/projects/", headers=headers)
    assert statements(warm) == 0
    assert warm.headers["X-Cache"] == "HIT"
