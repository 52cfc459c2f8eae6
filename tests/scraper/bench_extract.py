"""Measure the main-text extractors on the stand-in's pages: time per page and word F1.

    .venv/bin/python -m tests.scraper.bench_extract [--pages 300] [--seed 1]

The truth is the main text the stand-in generated: the <article>'s heading, paragraphs
and subheadings, without the byline. Scores are word-multiset precision, recall and F1.
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import time
from collections import Counter
from random import Random

from app.scraper.extract import EXTRACTORS
from harness.upstream.content import BodyKind, BodySpec, Renderer
from harness.upstream.words import LANGUAGES

MEDIAN_BYTES = 20_000
MIN_BYTES, MAX_BYTES = 5_000, 80_000
ARTICLE = re.compile(rb"<article>(.*)</article>", re.S)
BYLINE = re.compile(rb'<p class="byline">.*?</p>', re.S)
TAG = re.compile(rb"<[^>]+>")


def truth_words(body: bytes) -> list[str]:
    match = ARTICLE.search(body)
    assert match is not None
    inner = TAG.sub(b" ", BYLINE.sub(b" ", match.group(1)))
    return html.unescape(inner.decode()).split()


def f1(extracted: list[str], truth: list[str]) -> tuple[float, float, float]:
    overlap = sum((Counter(extracted) & Counter(truth)).values())
    precision = overlap / len(extracted) if extracted else 0.0
    recall = overlap / len(truth) if truth else 0.0
    score = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, score


def pages(count: int, seed: int) -> list[bytes]:
    rng = Random(seed)
    renderer = Renderer(seed)
    bodies = []
    for number in range(count):
        size = int(min(MAX_BYTES, max(MIN_BYTES, rng.lognormvariate(0, 0.6) * MEDIAN_BYTES)))
        spec = BodySpec(
            key=f"bench|{number}",
            kind=BodyKind.HTML,
            language=LANGUAGES[number % len(LANGUAGES)],
            site="example-site.org",
            path=f"/news/page-{number}",
            size=size,
            title_key=f"bench|{number}",
        )
        bodies.append(renderer.body(spec))
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    bodies = pages(args.pages, args.seed)
    truths = [truth_words(body) for body in bodies]
    for name, extractor in EXTRACTORS.items():
        extractor(bodies[0])  # warm-up: imports, lazy tables
        times, scores = [], []
        for body, truth in zip(bodies, truths, strict=True):
            started = time.perf_counter()
            result = extractor(body)
            times.append(time.perf_counter() - started)
            scores.append(f1(result.text.split(), truth))
        precision, recall, score = (statistics.mean(s[i] for s in scores) for i in range(3))
        print(
            f"{name:12s} mean {statistics.mean(times) * 1000:6.2f} ms/page"
            f"  p95 {sorted(times)[int(0.95 * len(times))] * 1000:6.2f} ms"
            f"  precision {precision:.3f} recall {recall:.3f} F1 {score:.3f}"
        )


if __name__ == "__main__":
    main()
