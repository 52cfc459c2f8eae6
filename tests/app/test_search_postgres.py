"""PostgreSQL full-text search, for real: matching, ranking, filters, facets, scoping."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.db.migrate import apply_migrations
from app.main import create_app
from app.search.postgres import PostgresSearch
from tests.app.conftest import build_settings, register

PAGES = [
    # key, domain, title, text, language, mime, capture date, words, indexed
    ("zeppelin", "a1", "Zeppelin history", "airship zeppelin museum", "en", "text/html",
     "2020-05-01", 300, True),
    ("railway", "a1", "Railway", "railway history zeppelin", "de", "text/html",
     "2021-01-05", 50, True),
    ("garden", "a1", "Garden", "flowers and trees", "en", "text/html", "2019-03-01", 10, True),
    ("pending", "a1", "Zeppelin draft", "zeppelin not yet indexed", "en", "text/html",
     "2020-07-01", 40, False),
    ("harbour", "a2", "Harbour", "zeppelin over the harbour", "nl", "application/pdf",
     "2020-09-09", 70, True),
    ("foreign", "b1", "Zeppelin secret", "zeppelin of another user", "en", "text/html",
     "2020-01-01", 20, True),
]  # fmt: skip
INSERT = """
INSERT INTO pages (domain_id, original_url, unix_timestamp, title, extracted_text, language,
                   mime_type, capture_date, word_count, processed, indexed, scraped_at)
VALUES (%s, %s, to_char(%s::timestamptz, 'YYYYMMDDHH24MISS'), %s, %s, %s, %s, %s, %s,
        true, %s, now())
RETURNING id
"""


@pytest.fixture(scope="module")
def corpus(pg_server, redis_server):
    name = f"search_{secrets.token_hex(4)}"
    dsn = pg_server.create_database(name)
    apply_migrations(dsn)
    settings = build_settings(dsn, redis_server.url(0), redis_server.url(1))
    with TestClient(create_app(settings)) as client:
        alice, bob = register(client, "alice@example.com"), register(client, "bob@example.com")
        ids: dict[str, int] = {}
        domains: dict[str, int] = {}
        projects: dict[str, int] = {}
        for owner, key in ((alice, "a"), (alice, "a2"), (bob, "b")):
            project = client.post("/api/v1/projects/", json={"name": key}, headers=owner).json()
            projects[key] = project["id"]
            domain = client.post(
                f"/api/v1/projects/{project['id']}/domains",
                json={"domain_name": f"{key}.example.org"},
                headers=owner,
            ).json()
            domains[{"a": "a1", "a2": "a2", "b": "b1"}[key]] = domain["id"]
        with psycopg.connect(dsn) as conn:
            for key, domain, title, text, lang, mime, day, words, indexed in PAGES:
                row = conn.execute(
                    INSERT,
                    (domains[domain], f"https://{domain}.example.org/{key}", day, title, text,
                     lang, mime, day, words, indexed),
                ).fetchone()  # fmt: skip
                ids[key] = row[0]
        yield client, alice, ids, domains, projects, dsn
    pg_server.drop_database(name)


def keys(response, ids) -> list[str]:
    assert response.status_code == 200, response.text
    by_id = {v: k for k, v in ids.items()}
    return [by_id[hit["page_id"]] for hit in response.json()["hits"]]


def test_matching_ranking_and_scoping(corpus):
    client, alice, ids, *_ = corpus
    found = client.get("/api/v1/search/pages?q=zeppelin", headers=alice)
    # The title match ranks first (weight A); unindexed and another user's pages never show.
    assert keys(found, ids)[0] == "zeppelin"
    assert sorted(keys(found, ids)) == ["harbour", "railway", "zeppelin"]
    assert found.json()["total"] == 3
    assert found.json()["facets"]["language"] == {"en": 1, "de": 1, "nl": 1}


CASES = [
    ("q=zeppelin%20-railway", ["harbour", "zeppelin"]),
    ('q="history zeppelin"', ["railway"]),
    ("q=zeppelin&language=de", ["railway"]),
    ("mime_type=application/pdf", ["harbour"]),
    ("date_from=2020-01-01&date_to=2020-12-31&sort_by=date_asc", ["zeppelin", "harbour"]),
    ("sort_by=words_asc", ["garden", "railway", "harbour", "zeppelin"]),
    ("sort_by=date_desc&per_page=2&page=2", ["zeppelin", "garden"]),
    ("q=nothingmatches", []),
]


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_filters_sorts_and_pages(corpus, query, expected):
    client, alice, ids, *_ = corpus
    result = client.get(f"/api/v1/search/pages?{query}", headers=alice)
    ordered = keys(result, ids)
    assert (ordered if "sort_by" in query else sorted(ordered)) == expected


def test_domain_and_project_filters(corpus):
    client, alice, ids, domains, projects, _ = corpus
    by_domain = client.get(f"/api/v1/search/pages?domain={domains['a2']}", headers=alice)
    assert keys(by_domain, ids) == ["harbour"]
    in_project = client.get(
        f"/api/v1/search/pages?q=zeppelin&project={projects['a']}", headers=alice
    )
    assert sorted(keys(in_project, ids)) == ["railway", "zeppelin"]
    foreign = client.get(f"/api/v1/search/pages?project={projects['b']}", headers=alice)
    assert foreign.status_code == 404


def test_index_documents_makes_pages_searchable(corpus):
    client, alice, ids, _, projects, dsn = corpus
    backend = PostgresSearch(dsn)
    try:
        backend.index_documents(projects["a"], [{"page_id": ids["pending"]}])  # type: ignore[list-item]
    finally:
        backend.close()
    found = client.get("/api/v1/search/pages?q=draft", headers=alice)
    assert keys(found, ids) == ["pending"]
