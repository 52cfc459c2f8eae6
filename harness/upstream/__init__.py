"""A faithful, deterministic local stand-in for the Wayback Machine (CDX server and `id_` replay).

Modules, in the order a request meets them: `server` (process launcher), `app` (routes),
`middleware` + `faults` (latency and injected faults), `cdx` (query engine) over
`corpus` (the archive model: `records` made by `generate`) with `urlkeys` (SURT ranges),
`replay` (which capture a `/web/` address means) and `content` (bodies from `words`).
"""

from harness.upstream.app import CdxSettings, create_app
from harness.upstream.corpus import Capture, Corpus, CorpusConfig, build_corpus
from harness.upstream.faults import Conditions, FaultKind
from harness.upstream.server import UpstreamServer

__all__ = [
    "Capture",
    "CdxSettings",
    "Conditions",
    "Corpus",
    "CorpusConfig",
    "FaultKind",
    "UpstreamServer",
    "build_corpus",
    "create_app",
]
