"""Serving a build: precompressed files by Accept-Encoding, client routes, cache headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app.frontend_serve import (
    IMMUTABLE_CACHE,
    SHELL_CACHE,
    FrontendSettings,
    accepted_encodings,
    frontend_files,
)

SCRIPT = "chunks/vendor-abc123.js"
# Stand-ins for the compressed copies: the server sends them as they are, never decodes.
FILES = {
    "index.html": b"<!doctype html><script src='/entries/index-1.js'></script>",
    SCRIPT: b"export const x = 1;" * 100,
    f"{SCRIPT}.br": b"brotli bytes",
    f"{SCRIPT}.gz": b"gzip bytes",
    "chunks/small-def456.js": b"export {};",
}

ACCEPT_CASES = [
    ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
    ("gzip;q=0.5, br;q=1.0", {"gzip", "br"}),
    ("br;q=0, gzip", {"gzip"}),
    ("*", {"br", "gzip", "*"}),
    ("*, br;q=0", {"gzip", "*"}),
    ("identity", {"identity"}),
    ("", set()),
    (None, set()),
]


@pytest.mark.parametrize(("header", "expected"), ACCEPT_CASES)
def test_accepted_encodings(header, expected):
    assert accepted_encodings(header) == expected


def make_builds(root: Path) -> None:
    for build in ("build-eager", "build-split"):
        for name, body in FILES.items():
            path = root / build / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)


def client(root: Path, *, split: bool) -> TestClient:
    files = frontend_files(FrontendSettings(frontend_split=split, frontend_dir=root))
    assert files is not None
    app = Starlette()
    app.mount("/", files)
    return TestClient(app)


def raw_get(client: TestClient, path: str, accept: str) -> tuple[int, dict[str, str], bytes]:
    with client.stream("GET", path, headers={"Accept-Encoding": accept}) as response:
        return response.status_code, dict(response.headers), b"".join(response.iter_raw())


@pytest.mark.parametrize(
    ("split", "accept", "encoding", "body"),
    [
        (True, "gzip, deflate, br", "br", FILES[f"{SCRIPT}.br"]),
        (True, "gzip, deflate", "gzip", FILES[f"{SCRIPT}.gz"]),
        (True, "identity", None, FILES[SCRIPT]),
        # The report's "current" sends files as they are, whatever the browser accepts.
        (False, "gzip, deflate, br", None, FILES[SCRIPT]),
    ],
)
def test_precompressed_copies_go_out_only_when_accepted(tmp_path, split, accept, encoding, body):
    make_builds(tmp_path)
    status, headers, sent = raw_get(client(tmp_path, split=split), f"/{SCRIPT}", accept)

    assert status == 200
    assert headers.get("content-encoding") == encoding
    assert headers["content-type"].startswith("text/javascript")
    assert sent == body


def test_split_build_cache_headers(tmp_path):
    make_builds(tmp_path)
    c = client(tmp_path, split=True)

    assert raw_get(c, f"/{SCRIPT}", "br")[1]["cache-control"] == IMMUTABLE_CACHE
    assert raw_get(c, "/", "br")[1]["cache-control"] == SHELL_CACHE


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize(
    ("path", "status", "is_shell"),
    [
        ("/projects", 200, True),
        ("/projects/7", 200, True),
        ("/chunks/missing-000.js", 404, False),
        ("/api/v1/no-such-route", 404, False),
    ],
)
def test_client_routes_get_the_app_shell(tmp_path, split, path, status, is_shell):
    make_builds(tmp_path)
    response = client(tmp_path, split=split).get(path)

    assert response.status_code == status
    assert (response.content == FILES["index.html"]) == is_shell


def test_nothing_is_served_without_a_build(tmp_path):
    assert frontend_files(FrontendSettings(frontend_split=True, frontend_dir=tmp_path)) is None
