"""The stand-in's HTTP surface: the CDX search, `id_` replay, and a small admin API.

Routes:
- `GET /cdx/search/cdx`: the CDX server (see `cdx.py`); gzip when asked (`gzip=true`, or
  `Accept-Encoding: gzip` without `gzip=false`), as the real server does.
- `GET /web/<timestamp><flags>/<url>`: the capture's original bytes with `Memento-Datetime`,
  or a 302 to the nearest capture (no `Memento-Datetime`), or 404 for an unknown url. Every
  flag is answered like `id_`: the stand-in never rewrites bodies.
- `/_admin/health`, `/_admin/faults` (GET, POST to replace), `/_admin/stats`,
  `/_admin/served`, `POST /_admin/stats/clear` (also forgets every client's rate-limit
  history and block), `/_admin/corpus`: never limited, delayed or faulted.
"""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from harness.upstream.admission import AdmissionMiddleware
from harness.upstream.cdx import (
    DEFAULT_BLOCK_LINES,
    DEFAULT_MAX_PAGE_SIZE,
    QUERY_MAX_LINES,
    CdxParamError,
    CdxQuery,
    evaluate,
    num_pages,
    render,
)
from harness.upstream.content import CONTENT_TYPES
from harness.upstream.corpus import Capture, Corpus
from harness.upstream.faults import Conditions, FaultPlanner
from harness.upstream.limits import Limiter
from harness.upstream.middleware import ConditionsMiddleware
from harness.upstream.profiles import UpstreamProfile
from harness.upstream.replay import (
    exact,
    memento_datetime,
    nearest,
    parse_replay_path,
    target_timestamp,
)
from harness.upstream.stats import ServerStats

# Bodies up to this size are generated in the event loop in one piece (well under a
# millisecond); larger ones are generated chunk by chunk in a worker thread.
INLINE_BODY_MAX_BYTES = 1_000_000
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class CdxSettings:
    """Server-side CDX limits: zipnum block size, largest page, lines read per query."""

    block_lines: int = DEFAULT_BLOCK_LINES
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE
    query_max_lines: int = QUERY_MAX_LINES


def create_app(
    corpus: Corpus,
    conditions: Conditions | None = None,
    cdx: CdxSettings | None = None,
    profile: UpstreamProfile | None = None,
) -> ASGIApp:
    """The ASGI app serving `corpus`, wrapped in the latency and fault layer and, with a
    profile, in its rate limits, blocks and latency (already scaled by its time factor)."""
    settings = cdx or CdxSettings()
    index = corpus.index.with_block_lines(settings.block_lines)
    planner = FaultPlanner(conditions or Conditions())
    limiter = (
        Limiter({"cdx": profile.cdx_limit, "web": profile.memento_limit}, profile.blocking)
        if profile is not None
        else None
    )
    stats = ServerStats(limiter.counts if limiter is not None else None)

    async def cdx_search(request: Request) -> Response:
        try:
            query = CdxQuery.from_params(request.query_params.multi_items())
        except CdxParamError as error:
            return PlainTextResponse(str(error), status_code=400)
        if query.show_num_pages:
            body = f"{num_pages(index, query, settings.max_page_size)}\n".encode()
        else:
            result = await run_in_threadpool(
                evaluate, index, query, settings.max_page_size, settings.query_max_lines
            )
            body = render(result, query.output_json)
        media_type = "application/json" if query.output_json else "text/plain; charset=utf-8"
        headers = {}
        wants_gzip = "gzip" in request.headers.get("accept-encoding", "")
        if query.gzip or (query.gzip is None and wants_gzip):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)  # mtime=0: same bytes
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=media_type, headers=headers)

    async def replay(request: Request) -> Response:
        parsed = parse_replay_path(request.scope["path"], request.scope["query_string"].decode())
        if parsed is None:
            return PlainTextResponse("Not a replay address.", status_code=404)
        captures = corpus.captures_of(parsed.url)
        if not captures:
            return PlainTextResponse(f"{parsed.url} is not in the archive.", status_code=404)
        base = str(request.base_url).rstrip("/")
        capture = exact(captures, parsed.timestamp)
        if capture is None:
            closest = nearest(captures, target_timestamp(parsed.timestamp))
            location = f"{base}/web/{closest.timestamp}{parsed.flags}/{closest.original}"
            return Response(status_code=302, headers={"Location": location})
        content = corpus.contents[capture.content]
        headers = {
            "Content-Type": CONTENT_TYPES[content.spec.kind],
            "Content-Length": str(content.spec.size),
            "Memento-Datetime": memento_datetime(capture.timestamp),
            "Link": f'<{capture.original}>; rel="original"',
        }
        if content.location:
            headers["Location"] = f"{base}/web/{capture.timestamp}{parsed.flags}/{content.location}"
        if request.method == "HEAD":  # headers only, and nothing counted as served
            return Response(status_code=content.status, headers=headers)
        return StreamingResponse(
            _body(corpus, capture, stats), status_code=content.status, headers=headers
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "captures": len(corpus.captures)})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                planner.replace(Conditions.model_validate(await request.json()))
            except ValidationError as error:
                return JSONResponse({"detail": error.errors(include_url=False)}, status_code=422)
            except ValueError:
                return JSONResponse({"detail": "the body must be a JSON object"}, status_code=422)
        return JSONResponse(planner.conditions.model_dump(mode="json"))

    async def stats_view(request: Request) -> Response:
        return JSONResponse(stats.snapshot())

    async def served(request: Request) -> Response:
        return JSONResponse({"captures": [list(entry) for entry in stats.served()]})

    async def clear(request: Request) -> Response:
        stats.clear()
        if limiter is not None:
            limiter.reset()  # every client starts with an empty window and no block
        return JSONResponse(stats.snapshot())

    async def corpus_view(request: Request) -> Response:
        return JSONResponse(
            {
                "config": dataclasses.asdict(corpus.config),
                "domains": corpus.domain_names,
                "captures": len(corpus.captures),
            }
        )

    app = Starlette(
        routes=[
            Route("/cdx/search/cdx", cdx_search),
            Route("/web/{rest:path}", replay),
            Route("/_admin/health", health),
            Route("/_admin/faults", faults, methods=["GET", "POST"]),
            Route("/_admin/stats", stats_view),
            Route("/_admin/stats/clear", clear, methods=["POST"]),
            Route("/_admin/served", served),
            Route("/_admin/corpus", corpus_view),
        ]
    )
    # Outermost, so that a reset reaches the server's own transport.
    conditioned = ConditionsMiddleware(app, planner, stats)
    if profile is None or limiter is None:
        return conditioned
    return AdmissionMiddleware(conditioned, profile, limiter, seed=planner.conditions.fault_seed)


async def _body(corpus: Corpus, capture: Capture, stats: ServerStats) -> AsyncIterator[bytes]:
    """The capture's body; recorded as served once its last chunk went out."""
    content = corpus.contents[capture.content]
    if content.spec.size <= INLINE_BODY_MAX_BYTES:
        yield corpus.renderer.body(content.spec)
    else:
        async for chunk in iterate_in_threadpool(corpus.renderer.chunks(content.spec)):
            yield chunk
    stats.record_served(capture.timestamp, capture.original, content.status)
