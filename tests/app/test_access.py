"""Isolation between users, cache invalidation with content ETags, and input errors."""

from __future__ import annotations

import json
import secrets

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient

from app.cache import cache_stats_sync, invalidate_user_sync
from app.db.migrate import apply_migrations
from app.main import create_app
from tests.app.conftest import build_settings, register

PAGE_INSERT = """
INSERT INTO pages (domain_id, original_url, unix_timestamp, title, extracted_text,
                   language, mime_type, processed, indexed, scraped_at, capture_date)
VALUES (%s, %s, '20200101000000', %s, %s, 'en', 'text/html', true, true, now(), now())
"""


def make_project(client, headers, name: str, domain: str) -> tuple[int, int]:
    project = client.post("/api/v1/projects/", json={"name": name}, headers=headers)
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    created = client.post(
        f"/api/v1/projects/{project_id}/domains", json={"domain_name": domain}, headers=headers
    )
    assert created.status_code == 201, created.text
    return project_id, created.json()["id"]


def add_page(dsn: str, domain_id: int, url: str, text: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(PAGE_INSERT, (domain_id, url, text.title(), text))


@pytest.fixture(scope="module")
def shared_dsn(pg_server):
    """One database for this module: the tests below only add to it or fail to change it."""
    name = f"access_{secrets.token_hex(4)}"
    dsn = pg_server.create_database(name)
    apply_migrations(dsn)
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def two_users(shared_dsn, redis_server):
    settings = build_settings(
        shared_dsn, redis_server.url(0), redis_server.url(1), stats_aggregate=True,
        redis_cache=True,
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        alice = register(client, "alice@example.com")
        bob = register(client, "bob@example.com")
        a_project, a_domain = make_project(client, alice, "alice secrets", "alice.example.org")
        b_project, b_domain = make_project(client, bob, "bob things", "bob.example.org")
        add_page(shared_dsn, a_domain, "https://alice.example.org/x", "zeppelin confidential memo")
        add_page(shared_dsn, b_domain, "https://bob.example.org/y", "zeppelin public notice")
        yield client, alice, bob, a_project, a_domain, b_project


FOREIGN_REQUESTS = [
    ("GET", "/api/v1/projects/{p}", None),
    ("PUT", "/api/v1/projects/{p}", {"name": "taken over"}),
    ("DELETE", "/api/v1/projects/{p}", None),
    ("GET", "/api/v1/projects/{p}/stats", None),
    ("GET", "/api/v1/projects/{p}/pages", None),
    ("GET", "/api/v1/projects/{p}/domains", None),
    ("POST", "/api/v1/projects/{p}/domains", {"domain_name": "evil.example.org"}),
    ("GET", "/api/v1/projects/{p}/domains/{d}", None),
    ("PUT", "/api/v1/projects/{p}/domains/{d}", {"active": False}),
    ("DELETE", "/api/v1/projects/{p}/domains/{d}", None),
    ("POST", "/api/v1/projects/{p}/scrape", None),
    ("GET", "/api/v1/search/pages?project={p}", None),
]


@pytest.mark.parametrize(("method", "template", "body"), FOREIGN_REQUESTS)
def test_foreign_project_is_404(two_users, method, template, body):
    client, _, bob, a_project, a_domain, _ = two_users
    url = template.format(p=a_project, d=a_domain)
    response = client.request(method, url, json=body, headers=bob)
    assert response.status_code == 404, response.text
    assert "alice" not in response.text


def test_other_users_rows_never_appear(two_users):
    client, alice, bob, a_project, _, b_project = two_users
    for _ in range(2):  # cold, then from the cache
        listed = client.get("/api/v1/projects/", headers=bob).json()
        assert [p["id"] for p in listed] == [b_project]
        found = client.get("/api/v1/search/pages?q=zeppelin", headers=bob).json()
        assert found["total"] == 1
        assert [hit["project_id"] for hit in found["hits"]] == [b_project]
        assert "confidential" not in json.dumps(found)
    alice_found = client.get("/api/v1/search/pages?q=confidential", headers=alice).json()
    assert [hit["project_id"] for hit in alice_found["hits"]] == [a_project]


def test_etag_of_one_user_does_not_match_another(two_users):
    client, alice, bob, *_ = two_users
    alice_tag = client.get("/api/v1/projects/", headers=alice).headers["ETag"]
    response = client.get("/api/v1/projects/", headers={**bob, "If-None-Match": alice_tag})
    assert response.status_code == 200
    assert response.headers["ETag"] != alice_tag
    assert "alice" not in response.text


def test_conditional_get_answers_304_until_the_data_changes(two_users, shared_dsn, redis_url):
    client, alice, _, a_project, a_domain, _ = two_users
    first = client.get("/api/v1/projects/", headers=alice)
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("private")
    assert (
        client.get("/api/v1/projects/", headers={**alice, "If-None-Match": tag}).status_code == 304
    )

    # An API write: the next read is fresh, and the old ETag no longer matches.
    renamed = client.put(f"/api/v1/projects/{a_project}", json={"name": "renamed"}, headers=alice)
    assert renamed.status_code == 200
    fresh = client.get("/api/v1/projects/", headers={**alice, "If-None-Match": tag})
    assert fresh.status_code == 200
    assert fresh.json()[0]["name"] == "renamed"
    assert fresh.headers["ETag"] != tag
    assert fresh.headers["X-Cache"] == "MISS"

    # A pipeline write (pages stored by a worker) followed by its invalidation call.
    stats_before = client.get(f"/api/v1/projects/{a_project}/stats", headers=alice)
    add_page(shared_dsn, a_domain, "https://alice.example.org/z", "another page")
    stale = client.get(f"/api/v1/projects/{a_project}/stats", headers=alice)
    assert stale.json() == stats_before.json()  # cached until someone invalidates
    invalidate_user_sync(redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/0"), 1)
    after = client.get(
        f"/api/v1/projects/{a_project}/stats",
        headers={**alice, "If-None-Match": stats_before.headers["ETag"]},
    )
    assert after.status_code == 200
    assert after.json()["total_pages"] == stats_before.json()["total_pages"] + 1


def test_domain_write_invalidates_the_project_list(two_users):
    client, alice, _, a_project, _, _ = two_users
    before = client.get("/api/v1/projects/", headers=alice).json()[0]["domain_count"]
    make_domain = client.post(
        f"/api/v1/projects/{a_project}/domains",
        json={"domain_name": "second.example.org"},
        headers=alice,
    )
    assert make_domain.status_code == 201
    assert client.get("/api/v1/projects/", headers=alice).json()[0]["domain_count"] == before + 1


def test_cache_hits_and_misses_are_counted(two_users, redis_url):
    client, alice, *_ = two_users
    counts = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/0")
    invalidate_user_sync(counts, 1)  # earlier tests may have cached this read
    start = cache_stats_sync(counts)
    client.get("/api/v1/projects/", headers=alice)
    client.get("/api/v1/projects/", headers=alice)
    end = cache_stats_sync(counts)
    assert end.get("misses", 0) - start.get("misses", 0) == 1
    assert end.get("hits", 0) - start.get("hits", 0) == 1
    assert 'chrono_cache_requests_total{result="hit"}' in client.get("/metrics").text


BAD_INPUTS = [
    ("POST", "/api/v1/projects/", {"name": ""}, "name"),
    ("POST", "/api/v1/projects/", {"name": "x" * 201}, "name"),
    ("POST", "/api/v1/projects/", {"name": "ok", "surprise": 1}, "surprise"),
    ("PUT", "/api/v1/projects/{p}", {"name": None}, "name"),
    ("PUT", "/api/v1/projects/{p}", {"process_documents": None}, "process_documents"),
    ("POST", "/api/v1/auth/register", {"email": "x@example.com", "password": "é" * 40}, "bytes"),
    ("POST", "/api/v1/projects/{p}/domains", {"domain_name": "not a host"}, "domain_name"),
    (
        "POST",
        "/api/v1/projects/{p}/domains",
        {"domain_name": "ok.example.org", "from_date": "2024-01-02", "to_date": "2024-01-01"},
        "from_date",
    ),
    ("GET", "/api/v1/projects/?limit=0", None, "limit"),
    ("GET", "/api/v1/projects/abc", None, "project_id"),
    ("GET", "/api/v1/projects/99999999999999999999", None, "project_id"),
    ("GET", "/api/v1/search/pages?per_page=101", None, "per_page"),
    ("GET", "/api/v1/search/pages?sort_by=random", None, "sort_by"),
    ("GET", "/api/v1/search/pages?date_from=yesterday", None, "date_from"),
    ("GET", "/api/v1/search/pages?language=e%00n", None, "database"),
]


@pytest.mark.parametrize(("method", "template", "body", "mentions"), BAD_INPUTS)
def test_bad_input_is_422_with_a_clear_message(two_users, method, template, body, mentions):
    client, alice, _, a_project, _, _ = two_users
    response = client.request(method, template.format(p=a_project), json=body, headers=alice)
    assert response.status_code == 422, response.text
    assert mentions in response.text


@pytest.mark.parametrize(
    "url", ["/api/v1/projects/", "/api/v1/auth/me", "/api/v1/search/pages?q=x"]
)
def test_no_or_bad_token_is_401(two_users, url):
    client = two_users[0]
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_register_twice_and_bad_login(two_users):
    client = two_users[0]
    again = client.post(
        "/api/v1/auth/register", json={"email": "alice@example.com", "password": "password-123"}
    )
    assert again.status_code == 409
    wrong = client.post(
        "/api/v1/auth/login", data={"username": "alice@example.com", "password": "wrong-pass"}
    )
    assert wrong.status_code == 400
