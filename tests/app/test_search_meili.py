"""The Meilisearch adapter, through the official client, against the documented HTTP API."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import uvicorn

from app.models import SearchQuery
from app.search.meili import MeiliSearch, index_uid
from harness.runtime.ports import LOOPBACK, free_port
from tests.app.meili_fake import FakeMeili

START_WAIT_S = 10.0


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def meili():
    fake = FakeMeili()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_WAIT_S
    while not server.started:
        assert time.monotonic() < deadline, "fake Meilisearch did not start"
        time.sleep(0.01)
    yield fake, f"http://{LOOPBACK}:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def doc(page_id, project_id, domain_id, title, text, *, language="en", words=100,
        day=dt.datetime(2020, 6, 1, tzinfo=dt.UTC), mime="text/html"):  # fmt: skip
    return {
        "page_id": page_id, "project_id": project_id, "domain_id": domain_id,
        "original_url": f"https://d{domain_id}.example.org/{page_id}",
        "wayback_url": None, "unix_timestamp": day.strftime("%Y%m%d%H%M%S"),
        "title": title, "text": text, "meta_description": None, "author": None,
        "language": language, "word_count": words, "mime_type": mime, "status_code": 200,
        "capture_date": day, "scraped_at": day,
    }  # fmt: skip


@pytest.fixture
def loaded(meili):
    fake, url = meili
    backend = MeiliSearch(url, "master-key")
    backend.index_documents(1, [
        doc(1, 1, 10, "Zeppelin history", "airship zeppelin museum", words=300),
        doc(2, 1, 10, "Railway", "railway history zeppelin", language="de", words=50,
            day=dt.datetime(2021, 1, 5, tzinfo=dt.UTC)),
        doc(3, 1, 11, "Garden", "flowers", words=10, day=dt.datetime(2019, 3, 1, tzinfo=dt.UTC)),
    ])  # fmt: skip
    backend.index_documents(2, [doc(4, 2, 20, "Zeppelin harbour", "zeppelin", language="nl",
                                    mime="application/pdf", words=70)])  # fmt: skip
    backend.index_documents(3, [doc(5, 3, 30, "Other user's zeppelin", "zeppelin secret")])
    return fake, backend


def search(backend, **fields):
    return backend.search_sync(SearchQuery(project_ids=fields.pop("projects", [1, 2]), **fields))


def test_one_index_per_project_with_the_original_settings(loaded):
    fake, _ = loaded
    assert sorted(fake.indexes) == ["project_1", "project_2", "project_3"]
    index = fake.indexes[index_uid(1)]
    assert index["primaryKey"] == "id"
    assert set(index["documents"]) == {"page_1", "page_2", "page_3"}
    assert {"domain_id", "language", "capture_date"} <= set(
        index["settings"]["filterableAttributes"]
    )
    assert index["settings"]["sortableAttributes"] == ["capture_date", "word_count"]
    # Dates travel as Unix seconds: Meilisearch filters and sorts numbers.
    assert isinstance(index["documents"]["page_1"]["capture_date"], int)


def test_search_is_scoped_to_the_given_projects(loaded):
    _, backend = loaded
    result = search(backend, q="zeppelin")
    assert sorted(hit.page_id for hit in result.hits) == [1, 2, 4]
    assert result.total == 3
    assert "secret" not in result.model_dump_json()


def test_filters_sort_facets_and_pages(loaded):
    _, backend = loaded
    assert [h.page_id for h in search(backend, q="zeppelin", language="de").hits] == [2]
    assert [h.page_id for h in search(backend, mime_type="application/pdf").hits] == [4]
    assert [h.page_id for h in search(backend, domain=11).hits] == [3]
    in_2020 = search(backend, date_from=dt.date(2020, 1, 1), date_to=dt.date(2020, 12, 31))
    assert sorted(h.page_id for h in in_2020.hits) == [1, 4]
    by_words = search(backend, sort_by="words_asc")
    assert [h.page_id for h in by_words.hits] == [3, 2, 4, 1]
    newest = search(backend, sort_by="date_desc", per_page=2, page=1)
    assert [h.page_id for h in newest.hits] == [2, 1]
    second = search(backend, sort_by="date_desc", per_page=2, page=2)
    assert [h.page_id for h in second.hits] == [4, 3]
    facets = search(backend, q="zeppelin").facets
    assert facets["language"] == {"en": 1, "de": 1, "nl": 1}
    assert facets["domain_id"] == {"10": 2, "20": 1}


def test_projects_without_an_index_yet_are_skipped(loaded):
    _, backend = loaded
    assert search(backend, q="zeppelin", projects=[1, 99]).total == 2
    assert search(backend, q="zeppelin", projects=[99]).total == 0


def test_reindexing_replaces_by_primary_key(loaded):
    fake, backend = loaded
    backend.index_documents(1, [doc(1, 1, 10, "Renamed", "airship")])
    assert len(fake.indexes["project_1"]["documents"]) == 3
    assert [h.title for h in search(backend, q="airship", projects=[1]).hits] == ["Renamed"]


@pytest.mark.anyio
async def test_ready_follows_the_server(meili):
    _, url = meili
    assert await MeiliSearch(url, None).ready()
    assert not await MeiliSearch(f"http://{LOOPBACK}:{free_port()}", None).ready()


def test_one_document_per_call_waits_for_each_task_and_batches_do_not(meili):
    """The original's model (enqueue, then wait for that task) against batches sent
    without waiting for the one before, then waited for together."""
    fake, url = meili
    backend = MeiliSearch(url, "master-key")
    for page_id in (1, 2, 3):
        backend.index_documents(1, [doc(page_id, 1, 10, f"Page {page_id}", "zeppelin")])
    per_document = [call.split()[0] for call in fake.calls if call.split()[0] in ("add", "get")]
    adds = [i for i, call in enumerate(per_document) if call == "add"]
    assert len(adds) == 3
    # Before each addition but the first, the previous task was polled.
    assert all(per_document[i - 1] == "get" for i in adds[1:])
    fake.calls.clear()
    backend.index_batches({2: [doc(4, 2, 20, "A", "airship"), doc(5, 2, 20, "B", "airship")],
                           3: [doc(6, 3, 30, "C", "airship")]})  # fmt: skip
    batched = [call.split()[0] for call in fake.calls if call.split()[0] in ("add", "get")]
    assert batched[:2] == ["add", "add"] and set(batched[2:]) == {"get"}
    assert search(backend, q="airship", projects=[2, 3]).total == 3
