"""The pipeline in this process against the stand-in, a real PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import redis

from app.cache import generation_key
from app.core.config import Settings
from app.scraper.fetch import TEMP_DIR_PREFIX
from app.scraper.progress import session_channel, user_channel
from harness.upstream import Conditions, UpstreamServer
from tests.scraper.support import (
    FROM_TS,
    MAX_CAPTURE_BYTES,
    SWITCHES_OFF,
    SWITCHES_ON,
    create_project,
    create_session,
    scrape_in_process,
    stored_captures,
    work_items,
)

PAGE_COLUMNS = (
    "original_url, unix_timestamp, title, extracted_text, meta_description, language,"
    " word_count, content_hash, content_length, indexed"
)


def expected(standin: UpstreamServer, *, capped: bool) -> set[tuple[str, str]]:
    cap = MAX_CAPTURE_BYTES if capped else None
    return set(standin.corpus.expected_captures(from_ts=FROM_TS, max_body_bytes=cap))


def pages(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            f"SELECT {PAGE_COLUMNS} FROM pages ORDER BY original_url, unix_timestamp"
        ).fetchall()


def private_temp_dirs() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith(TEMP_DIR_PREFIX)}


@pytest.mark.parametrize("switches", [SWITCHES_OFF, SWITCHES_ON], ids=["off", "on"])
def test_every_expected_capture_is_stored_and_indexed_once(
    standin: UpstreamServer, make_settings: Callable[..., Settings], switches: dict[str, bool]
) -> None:
    settings = make_settings(**switches)
    project = create_project(settings.database_url, standin.corpus.domain_names)
    temp_dirs_before = private_temp_dirs()

    scrape_in_process(settings, project, create_session(settings.database_url, project.project_id))

    rows = stored_captures(settings.database_url, project.project_id)
    keys = Counter((url, ts) for url, ts, _ in rows)
    assert set(keys) == expected(standin, capped=settings.streaming_fetch)
    assert max(keys.values()) == 1
    assert all(indexed for _, _, indexed in rows)
    assert private_temp_dirs() == temp_dirs_before

    # A second session finds everything stored: nothing new, nothing twice.
    session = create_session(settings.database_url, project.project_id)
    summaries = scrape_in_process(settings, project, session)
    assert sum(s.stored for s in summaries) == 0
    assert sorted(stored_captures(settings.database_url, project.project_id)) == sorted(rows)
    with psycopg.connect(settings.database_url) as conn:
        status = conn.execute(
            "SELECT status FROM scrape_sessions WHERE id = %s", (session,)
        ).fetchone()
    assert status == ("completed",)


def test_batch_indexing_on_and_off_store_identical_pages(
    standin: UpstreamServer,
    make_settings: Callable[..., Settings],
    fresh_database: Callable[[], str],
) -> None:
    from app.db.migrate import apply_migrations

    off = make_settings(batch_indexing=False)
    on = off.model_copy(update={"database_url": fresh_database(), "batch_indexing": True})
    apply_migrations(on.database_url)
    for settings in (off, on):
        project = create_project(settings.database_url, standin.corpus.domain_names)
        session = create_session(settings.database_url, project.project_id)
        scrape_in_process(settings, project, session)
    assert pages(off.database_url) == pages(on.database_url)
    assert len(pages(on.database_url)) == len(expected(standin, capped=False))


def test_streaming_skips_oversized_captures_and_says_why(
    standin: UpstreamServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(**SWITCHES_ON)
    project = create_project(settings.database_url, standin.corpus.domain_names)
    session = create_session(settings.database_url, project.project_id)
    scrape_in_process(settings, project, session)

    oversized = expected(standin, capped=False) - expected(standin, capped=True)
    assert oversized, "the test corpus must hold captures over 10 MB"
    items = {
        (i["original_url"], i["unix_timestamp"]): i
        for i in work_items(settings.database_url, session)
    }
    for key in oversized:
        assert items[key]["status"] == "skipped"
        assert "larger than 10485760 bytes" in items[key]["error_message"]
    stored = {
        (url, ts) for url, ts, _ in stored_captures(settings.database_url, project.project_id)
    }
    assert not stored & oversized


def test_injected_faults_never_lose_a_page(
    standin: UpstreamServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(**SWITCHES_ON)
    project = create_project(settings.database_url, standin.corpus.domain_names)
    session = create_session(settings.database_url, project.project_id)
    standin.set_conditions(
        Conditions(
            rate_429=0.05,
            rate_503=0.05,
            rate_reset=0.05,
            rate_slow=0.05,
            retry_after_s=1,
            slow_chunk_bytes=4096,
            slow_chunk_delay_ms=5,
            fault_seed=11,
        )
    )
    standin.clear_stats()
    try:
        scrape_in_process(settings, project, session)
        faults = standin.stats()["faults"]
    finally:
        standin.set_conditions(Conditions())
    assert all(faults.get(kind, 0) > 0 for kind in ("429", "503", "reset", "slow")), faults

    stored = {
        (url, ts) for url, ts, _ in stored_captures(settings.database_url, project.project_id)
    }
    items = work_items(settings.database_url, session)
    failed = {(i["original_url"], i["unix_timestamp"]) for i in items if i["status"] == "failed"}
    skipped = {(i["original_url"], i["unix_timestamp"]) for i in items if i["status"] == "skipped"}
    assert all(i["error_message"] for i in items if i["status"] in ("failed", "skipped"))
    # Every capture is stored, or recorded as failed (retries spent) or skipped with a reason.
    assert stored | failed | skipped == expected(standin, capped=False)
    assert stored >= expected(standin, capped=True) - failed


def test_progress_reaches_session_and_user_channels_and_the_cache_is_invalidated(
    standin: UpstreamServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(**SWITCHES_ON)
    project = create_project(settings.database_url, standin.corpus.domain_names[:1])
    session = create_session(settings.database_url, project.project_id)
    client = redis.Redis.from_url(settings.redis_cache_url)
    pubsub = client.pubsub()
    pubsub.subscribe(session_channel(session), user_channel(project.user_id))
    received: list[tuple[str, dict[str, Any]]] = []

    def listen() -> None:
        for message in pubsub.listen():
            if message["type"] == "message":
                received.append((message["channel"].decode(), json.loads(message["data"])))
                # The last message goes to both channels: stop after the second copy.
                if sum(m["type"] == "session_stats" for _, m in received) == 2:
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    scrape_in_process(settings, project, session)
    listener.join(timeout=10)
    pubsub.close()

    channels = {channel for channel, _ in received}
    assert channels == {session_channel(session), user_channel(project.user_id)}
    kinds = {message["type"] for _, message in received}
    assert {"cdx_discovery", "page_progress", "session_stats"} <= kinds
    for _, message in received:
        assert set(message) == {"type", "data", "timestamp"}
        assert message["data"]["scrape_session_id"] == session
    last = [m for _, m in received if m["type"] == "session_stats"][-1]["data"]
    assert last["session_completed"] is True
    assert int(client.get(generation_key(project.user_id)) or 0) > 0
