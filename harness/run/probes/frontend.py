"""frontend_split: what the app shell loads before the page can run, and how it is sent."""

from __future__ import annotations

import re

import httpx

from harness.run.probes.base import REQUEST_TIMEOUT_S, ProbeContext, ProbeError, Reading

SCRIPT = re.compile(r'<script[^>]*\bsrc="([^"]+\.js)"')
PRELOAD = re.compile(r'<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"')
ACCEPT_ENCODING = "gzip"


def frontend_split(context: ProbeContext, on: bool) -> Reading:
    """Off: index.html loads one eager bundle, sent uncompressed; on: an entry and split
    chunks, sent compressed."""
    with httpx.Client(base_url=context.target.api_url, timeout=REQUEST_TIMEOUT_S) as client:
        shell = client.get("/")
        if shell.status_code != 200:
            raise ProbeError(f"GET / answered {shell.status_code}")
        scripts = SCRIPT.findall(shell.text)
        preloads = PRELOAD.findall(shell.text)
        if not scripts:
            raise ProbeError("index.html loads no script")
        entry = client.get(scripts[0], headers={"Accept-Encoding": ACCEPT_ENCODING})
    encoding = entry.headers.get("Content-Encoding", "identity")
    sent = float(entry.headers.get("Content-Length", len(entry.content)))
    files = len(scripts) + len(preloads)
    figures: dict[str, float | str] = {
        "initial_js_files": float(files),
        "entry_bytes_sent": sent,
        "entry_encoding": encoding,
    }
    detail = f"{files} JS file(s) in the shell, entry {sent / 1024:.0f} KiB sent as {encoding}"
    if on:
        return Reading(files > 1 and encoding != "identity", detail, figures)
    return Reading(files == 1 and encoding == "identity", detail, figures)
