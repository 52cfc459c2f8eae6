"""The scraper's pure parts: CDX answers, digest dedup, Retry-After, the batch buffer."""

from __future__ import annotations

import email.utils
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.scraper.cdx import CDX_FIELDS, CdxRecord, dedup_digests, parse_rows
from app.scraper.fetch import TEMP_DIR_PREFIX, sweep_orphan_dirs
from app.scraper.indexing import BatchBuffer
from app.scraper.retry import is_retryable_status, retry_after_s

HEADER = list(CDX_FIELDS)


def row(ts: str, url: str, digest: str) -> list[str]:
    return [ts, url, "text/html", "200", digest, "1234"]


def test_parse_rows_reads_fields_in_header_order_and_the_resume_trailer() -> None:
    reordered = ["digest", "original", "timestamp", "length", "statuscode", "mimetype"]
    rows = [reordered, ["D1", "http://a.org/", "20200101000000", "99", "200", "text/html"]]
    records, key = parse_rows([*rows, [], ["a.org%2F+20200101000000%21"]])
    assert records == [CdxRecord("20200101000000", "http://a.org/", "text/html", "200", "D1", 99)]
    assert key == "a.org%2F+20200101000000%21"


@pytest.mark.parametrize(
    ("answer", "count", "key"),
    [
        ([], 0, None),
        ([HEADER], 0, None),
        ([HEADER, row("1", "u", "d")], 1, None),
        ([HEADER, [], ["k"]], 0, "k"),
    ],
)
def test_parse_rows_edge_cases(answer: list[list[str]], count: int, key: str | None) -> None:
    records, resume = parse_rows(answer)
    assert (len(records), resume) == (count, key)


def test_dedup_keeps_the_first_capture_of_each_digest() -> None:
    records, _ = parse_rows(
        [
            HEADER,
            row("20200101000000", "http://a.org/x", "A"),
            row("20200201000000", "https://www.a.org/x", "A"),  # same content, other form
            row("20200301000000", "http://a.org/x", "B"),
            row("20200401000000", "http://a.org/x", "A"),  # a revert: not adjacent
        ]
    )
    assert [(r.timestamp, r.digest) for r in dedup_digests(records)] == [
        ("20200101000000", "A"),
        ("20200301000000", "B"),
    ]


@pytest.mark.parametrize(
    ("status", "retry"),
    [(200, False), (404, False), (413, True), (421, True), (429, True), (500, True), (503, True)],
)
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry


def test_retry_after_in_seconds_and_as_a_date() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/")
    assert retry_after_s(httpx.Response(429, headers={"Retry-After": "7"}, request=request)) == 7
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    waited = retry_after_s(httpx.Response(429, headers={"Retry-After": later}, request=request))
    assert waited is not None and 25 < waited <= 30
    assert retry_after_s(httpx.Response(429, request=request)) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_batch_buffer_flushes_full_batches_then_stale_ones() -> None:
    sent: list[list[int]] = []
    clock = Clock()
    buffer = BatchBuffer(sent.append, size=3, interval_s=2.0, clock=clock)
    buffer.add([1, 2])
    assert sent == []
    buffer.add([3, 4, 5, 6, 7])
    assert sent == [[1, 2, 3], [4, 5, 6]]
    clock.now = 1.0
    buffer.add([])
    assert sent == [[1, 2, 3], [4, 5, 6]]
    clock.now = 2.5
    buffer.add([])  # the timer is checked even when nothing new arrives
    assert sent[-1] == [7]
    buffer.add([8])
    buffer.flush()
    assert sent[-1] == [8]


def test_batch_buffer_survives_a_failing_hand_over() -> None:
    def broken(ids: list[int]) -> None:
        raise ConnectionError("broker down")

    buffer = BatchBuffer(broken, size=2, interval_s=1.0)
    buffer.add([1, 2, 3])  # logged, not raised: the pages stay unindexed for the reconciler
    buffer.flush()


def test_sweep_removes_only_directories_of_dead_processes(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / f"{TEMP_DIR_PREFIX}{dead.pid}-abc"
    mine = tmp_path / f"{TEMP_DIR_PREFIX}{os.getpid()}-def"
    unrelated = tmp_path / "chrono-other-1-x"
    for path in (orphan, mine, unrelated):
        path.mkdir()
    assert sweep_orphan_dirs(tmp_path) == [orphan]
    assert mine.exists() and unrelated.exists() and not orphan.exists()


def test_sweep_skips_a_directory_its_process_removed_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several workers sweep while others finish: a listed directory may be gone already."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / f"{TEMP_DIR_PREFIX}{dead.pid}-abc"
    orphan.mkdir()
    vanished = tmp_path / f"{TEMP_DIR_PREFIX}{os.getpid()}-gone"  # listed, then removed
    listing = [vanished, orphan]
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter(listing))
    assert sweep_orphan_dirs(tmp_path) == [orphan]
