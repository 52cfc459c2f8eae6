"""Serve the built web client (app/frontend) from the API's own origin.

The `frontend_split` switch picks the build: off serves build-eager/, the performance
report's "current" (one bundle, files sent as they are); on serves build-split/, its fix,
whose precompressed `.br`/`.gz` copies go out with the matching Content-Encoding when the
browser accepts it, and whose hashed file names may be cached for good. Any other path
that is not a file gets index.html, so that client-side routes survive a reload.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

log = logging.getLogger(__name__)

FRONTEND_DIR = Path(__file__).parent / "frontend"
EAGER_BUILD = "build-eager"
SPLIT_BUILD = "build-split"
CONFIG_PATH = "config.json"
# Preferred first: brotli is smaller than gzip at the same decoding cost.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
# Vite puts content-hashed files under these folders in the split build (vite.config.ts).
HASHED_FOLDERS = ("assets/", "chunks/", "entries/")
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
# The app shell must be revalidated, or a deploy would keep serving old chunk names.
SHELL_CACHE = "no-cache"
API_PREFIX = "api/"


class FrontendSettings(BaseSettings):
    """The frontend's part of the service settings (CHRONO_ environment variables)."""

    model_config = SettingsConfigDict(env_prefix="CHRONO_", extra="ignore", frozen=True)

    frontend_split: bool = False
    frontend_dir: Path = FRONTEND_DIR
    # A Meilisearch the browser may query directly, with a search-only key (never the
    # master key); without them the client searches through the API.
    meili_public_url: str | None = None
    meili_search_key: str | None = None

    @property
    def build_dir(self) -> Path:
        return self.frontend_dir / (SPLIT_BUILD if self.frontend_split else EAGER_BUILD)

    def client_config(self) -> dict[str, Any]:
        meili = None
        if self.meili_public_url and self.meili_search_key:
            meili = {"host": self.meili_public_url, "search_key": self.meili_search_key}
        return {"meilisearch": meili}


def accepted_encodings(header: str | None) -> set[str]:
    """Content codings the client accepts (RFC 9110 12.5.3): q=0 refuses one, and `*`
    stands for every coding the header does not name."""
    accepted: set[str] = set()
    refused: set[str] = set()
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name:
            (accepted if quality > 0 else refused).add(name)
    if "*" in accepted:
        accepted |= {coding for coding, _ in PRECOMPRESSED} - refused
    return accepted


class FrontendFiles(StaticFiles):
    """StaticFiles with an SPA fallback and, for the split build, precompressed assets."""

    def __init__(self, directory: Path, *, optimized: bool, client_config: dict[str, Any]):
        super().__init__(directory=directory, html=True)
        self.optimized = optimized
        self.client_config = client_config

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path == CONFIG_PATH:
            return JSONResponse(self.client_config, headers={"Cache-Control": SHELL_CACHE})
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            # A missing script or an API path is a real 404; anything else is a client route.
            is_file_like = "." in path.rsplit("/", 1)[-1]
            if exc.status_code != 404 or is_file_like or path.startswith(API_PREFIX):
                raise
            return await super().get_response("index.html", scope)

    def file_response(
        self,
        full_path: os.PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        if not self.optimized:
            return super().file_response(full_path, stat_result, scope, status_code)
        path = Path(full_path)
        relative = path.relative_to(Path(str(self.directory))).as_posix()
        hashed = relative.startswith(HASHED_FOLDERS)
        headers = {
            "Cache-Control": IMMUTABLE_CACHE if hashed else SHELL_CACHE,
            "Vary": "Accept-Encoding",
        }
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        request_headers = Headers(scope=scope)
        accepted = accepted_encodings(request_headers.get("accept-encoding"))
        response = FileResponse(
            path, status_code=status_code, media_type=media_type, headers=headers,
            stat_result=stat_result,
        )  # fmt: skip
        for coding, suffix in PRECOMPRESSED:
            compressed = path.with_name(path.name + suffix)
            if coding in accepted and compressed.is_file():
                response = FileResponse(
                    compressed,
                    status_code=status_code,
                    media_type=media_type,
                    headers={**headers, "Content-Encoding": coding},
                )
                break
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response


def frontend_files(settings: FrontendSettings | None = None) -> FrontendFiles | None:
    """The ASGI app serving the build the settings choose, or None when it is not built."""
    settings = settings or FrontendSettings()
    build = settings.build_dir
    if not (build / "index.html").is_file():
        log.warning("frontend not served: %s has no index.html (run `make frontend`)", build)
        return None
    return FrontendFiles(
        build, optimized=settings.frontend_split, client_config=settings.client_config()
    )
