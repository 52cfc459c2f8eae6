"""Fetching archived captures (`/web/{timestamp}id_/{url}`), buffered or streamed.

`streaming_fetch` off reads the whole body into memory as the original did, however
large. On, the body is streamed in chunks into an anonymous temporary file inside a
private directory (mkdtemp, mode 0700) and abandoned past MAX_CAPTURE_BYTES: the report's
version wrote to predictable /tmp names that another local user could pre-create.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from app.scraper.retry import RetryPolicy, attempts, raise_for_retryable

MAX_CAPTURE_BYTES = 10 * 1024 * 1024
STREAM_CHUNK_BYTES = 64 * 1024
FETCH_TIMEOUT_S = 30.0
TEMP_DIR_PREFIX = "chrono-fetch-"


def sweep_orphan_dirs(root: Path | None = None) -> list[Path]:
    """Remove our private directories left by processes that no longer exist (a worker
    killed with SIGKILL cannot clean up; its files were anonymous, the directory is not)."""
    removed = []
    base = root or Path(tempfile.gettempdir())
    for path in base.glob(f"{TEMP_DIR_PREFIX}*-*"):
        pid_text = path.name[len(TEMP_DIR_PREFIX) :].split("-", 1)[0]
        try:
            owner = path.stat().st_uid
        except FileNotFoundError:  # its process removed it since the listing: not an orphan
            continue
        if not pid_text.isdigit() or owner != os.getuid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except PermissionError:
            continue  # alive, someone else's
    return removed


def wayback_path(timestamp: str, original_url: str) -> str:
    """The raw-bytes (`id_`) replay path of a capture."""
    return f"/web/{timestamp}id_/{original_url}"


@dataclass(frozen=True, slots=True)
class Fetched:
    """A capture's bytes, with what the pages table records about them."""

    body: bytes
    content_hash: str
    size_bytes: int
    fetch_s: float


@dataclass(frozen=True, slots=True)
class Skipped:
    """A capture deliberately not processed, and why (recorded on its scrape_pages row)."""

    reason: str
    size_bytes: int | None


class CaptureFetcher:
    """Fetches captures through one HTTP client; use as an async context manager."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        streaming: bool,
        policy: RetryPolicy | None = None,
        max_bytes: int = MAX_CAPTURE_BYTES,
    ) -> None:
        self._client = client
        self._streaming = streaming
        self._policy = policy or RetryPolicy()
        self._max_bytes = max_bytes
        self._temp_dir: Path | None = None

    async def __aenter__(self) -> Self:
        if self._streaming:
            sweep_orphan_dirs()
            # mkdtemp creates the directory 0700 with an unpredictable name; the pid in it
            # lets a later process remove it if this one is killed before its cleanup.
            self._temp_dir = Path(tempfile.mkdtemp(prefix=f"{TEMP_DIR_PREFIX}{os.getpid()}-"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    async def fetch(self, timestamp: str, original_url: str) -> Fetched | Skipped:
        """The capture, retried on transient failures; the last failure is raised."""
        path = wayback_path(timestamp, original_url)
        async for attempt in attempts(self._policy):
            with attempt:
                if self._streaming:
                    return await self._fetch_streamed(path)
                return await self._fetch_buffered(path)
        raise AssertionError("unreachable: the retry loop returns or raises")

    async def _fetch_buffered(self, path: str) -> Fetched:
        started = time.perf_counter()
        response = await self._client.get(path, timeout=FETCH_TIMEOUT_S, follow_redirects=True)
        raise_for_retryable(response)
        response.raise_for_status()
        body = response.content
        return Fetched(
            body=body,
            content_hash=hashlib.sha256(body).hexdigest(),
            size_bytes=len(body),
            fetch_s=time.perf_counter() - started,
        )

    async def _fetch_streamed(self, path: str) -> Fetched | Skipped:
        if self._temp_dir is None:
            raise RuntimeError("CaptureFetcher must be entered before fetching")
        started = time.perf_counter()
        request = self._client.build_request("GET", path, timeout=FETCH_TIMEOUT_S)
        response = await self._client.send(request, stream=True, follow_redirects=True)
        try:
            raise_for_retryable(response)
            response.raise_for_status()
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                return Skipped(_too_large(int(declared), self._max_bytes), int(declared))
            hasher = hashlib.sha256()
            size = 0
            # An anonymous file: unlinked from the start, so nothing is left even if the
            # worker is killed; the private directory is removed on exit. Writes are small
            # page-cache writes, not worth a thread hop.
            with tempfile.TemporaryFile(dir=self._temp_dir) as spool:
                async for chunk in response.aiter_bytes(STREAM_CHUNK_BYTES):
                    size += len(chunk)
                    if size > self._max_bytes:
                        return Skipped(_too_large(size, self._max_bytes), None)
                    hasher.update(chunk)
                    spool.write(chunk)
                spool.seek(0)
                body = spool.read()
        finally:
            await response.aclose()
        return Fetched(
            body=body,
            content_hash=hasher.hexdigest(),
            size_bytes=size,
            fetch_s=time.perf_counter() - started,
        )


def _too_large(size: int, limit: int) -> str:
    return f"capture larger than {limit} bytes (at least {size})"
