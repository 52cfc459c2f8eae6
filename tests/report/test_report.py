"""`chrono-bench report` on synthetic runs: the files, the tables, and the page in Chromium."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image, ImageStat
from rich.console import Console
from typer.testing import CliRunner

from harness.cli import app
from harness.compare import summarize
from harness.metrics import METRICS, REPORT_METRICS
from harness.report import combined, write_report
from harness.report.dumbbell import NOTE_CHARS, NOTE_LINES, headline_rows, note_text
from harness.report.tables import expectation_verdict, fmt_change, optimization_sections
from harness.report.terminal import print_summary, summary_json, time_line
from harness.report.timeseries import _moving
from harness.results import load_results
from tests.report.synthetic import make_results, samples_for, spread, write_json, write_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
IMAGES_PROBE = """<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute('data-images', images.length + '/' + loaded);
});
</script></body>"""


def _run(tmp_path: Path) -> Path:
    samples = samples_for("all", "api_p95_ms", spread(500, 6), spread(80, 6))  # met
    samples += samples_for("all", "scrape_pages_per_min", spread(100, 6), spread(150, 6))  # missed
    samples += samples_for("all", "cache_hit_rate", [0.0] * 6, spread(0.8, 6))  # met (target)
    samples += samples_for(
        "stats_aggregate", "db_queries_per_request", spread(401, 6, 0), spread(1, 6, 0),
        invalid=[("before", 5)],
    )  # fmt: skip
    samples += samples_for("stats_aggregate", "api_p95_ms", spread(300, 6), spread(120, 6))
    verification = [
        {"optimization": "stats_aggregate", "passed": True, "detail": "40 requests equal"},
        {"optimization": "all", "passed": True, "detail": "40 requests equal"},
    ]
    run_dir = write_run(tmp_path / "reports", make_results(samples, verification))
    write_json(run_dir / "latencies" / "all-before-0.json",
               {"metric": "api_p95_ms", "latencies_ms": spread(300, 200, 0.8)})  # fmt: skip
    write_json(run_dir / "latencies" / "all-after-0.json",
               {"metric": "api_p95_ms", "latencies_ms": spread(60, 200, 0.8)})  # fmt: skip
    points = [[1764430200.0 + t, 50.0 + t % 7] for t in range(60)]
    flat = [[t, 0.0] for t, _ in points]
    write_json(run_dir / "timeseries" / "all-after-0.json",
               {"series": [{"name": "api_p95_ms", "unit": "ms", "points": points},
                           {"name": "api_rps", "unit": "req/s", "points": points},
                           {"name": "queue_length", "unit": "tasks", "points": flat}]})  # fmt: skip
    return run_dir


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run_dir = _run(tmp_path_factory.mktemp("run"))
    return run_dir, write_report(run_dir)


def _expected_rows(summary: str) -> dict[str, list[str]]:
    rows = {}
    for line in summary.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] in {METRICS[m].label for m in REPORT_METRICS}:
            rows.setdefault(cells[0], cells)
    return rows


def test_summary_has_every_report_row_with_verdicts(report):
    _, files = report
    summary = files.summary.read_text()
    rows = _expected_rows(summary)
    assert len(rows) == len(REPORT_METRICS) == 10
    assert rows["API Response Time (p95)"][1:4] == ["500ms", "100ms", "80% reduction"]
    assert rows["API Response Time (p95)"][-1] == "met"
    assert rows["Scraping Throughput"][-1].startswith("missed")
    assert rows["Cache Hit Rate"][-1] == "met"
    assert "isolated: stats_aggregate" in rows["Database Queries per Request"][-1]
    assert rows["Time to Interactive"][-1].startswith("not measured")
    assert "## stats_aggregate" in summary and "Verification: passed: 40 requests equal" in summary
    assert "load generator CPU 97% > 90%" in summary  # the invalid window, with its reason


def test_csv_is_tidy_one_sample_a_row(report):
    _, files = report
    frame = pd.read_csv(files.csv)
    assert len(frame) == 5 * 12
    assert {"optimization", "variant", "metric", "value", "unit", "valid"} <= set(frame.columns)
    assert (~frame["valid"]).sum() == 1


def test_pngs_are_real_images(report):
    _, files = report
    names = {p.name for p in files.images}
    assert files.images[0].name == "headline.png"  # the report's ten rows come first
    assert {"dumbbell-all.png", "dumbbell-stats_aggregate.png", "cdf-all.png",
            "timeseries-all.png", "budget.png"} <= names  # fmt: skip
    for path in files.images:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 200 and image.height > 100


def test_headline_rows_hold_before_after_promise_and_ci(report):
    run_dir, _ = report
    rows = {r.label: r for r in headline_rows(load_results(run_dir)["summary"])}
    assert len(rows) == 10
    p95 = rows["API Response Time (p95)"]
    assert p95.promise == pytest.approx(0.2 * p95.before)  # 80 % reduction of this before
    assert p95.after_ci is not None and p95.after_ci[0] <= p95.after <= p95.after_ci[1]
    assert rows["Cache Hit Rate"].promise == 0.75  # a target, as it is
    assert rows["Time to Interactive"].before is None  # not measured: drawn as a note


def test_series_that_never_moved_are_left_out():
    traces = {("after", 0): {"a": ("ms", [(0, 1.0), (1, 2.0)]),
                             "q": ("tasks", [(0, 0.0), (1, 0.0)]),
                             "rss": ("MiB", [(0, 191.9), (1, 192.0)])}}  # fmt: skip
    assert _moving(traces) == [("a", "ms")]


def test_html_is_self_contained(report):
    _, files = report
    html = files.html.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert html.count('src="data:image/png;base64,') == len(files.images)
    assert 'id="toc"' in html and "loadgen_max_rps: wrk" in html


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
def test_page_renders_tables_and_images_in_chromium(report, tmp_path):
    _, files = report
    probe = tmp_path / "probe.html"
    probe.write_text(files.html.read_text().replace("</body>", IMAGES_PROBE))
    profile = tempfile.mkdtemp(prefix="chrono-chromium-")
    try:
        base = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run(
            [*base, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
        shot = tmp_path / "shot.png"
        subprocess.run(
            [*base, f"--screenshot={shot}", "--window-size=1280,4000", files.html.as_uri()],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    count = len(files.images)
    assert f'data-images="{count}/{count}"' in dom  # every image decoded, natural width > 0
    assert 'id="expected-table"' in dom and dom.count("<tr>") >= 11
    with Image.open(shot) as image:
        stats = ImageStat.Stat(image.convert("L"))
    assert stats.stddev[0] > 10, "the screenshot is blank"


def test_report_command_on_latest(tmp_path, monkeypatch):
    run_dir = _run(tmp_path)
    (tmp_path / "reports" / "latest").symlink_to(run_dir.name)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["report", "latest"])
    assert result.exit_code == 0, result.output
    assert "index.html" in result.output
    assert (run_dir / "index.html").is_file() and (run_dir / "summary.md").is_file()


def test_a_session_s_runs_combine_into_one_report(report):
    run_dir, _ = report
    endtoend = load_results(run_dir)
    isolate = make_results(
        samples_for("redis_cache", "cache_hit_rate", [0.0] * 4, spread(0.9, 4)),
        [{"optimization": "redis_cache", "passed": True, "detail": "equal"}],
        run_id="20261129-153000-iso001",
    )
    merged = combined(endtoend, [isolate])
    assert merged["run_id"] == endtoend["run_id"]
    assert [s.optimization for s in optimization_sections(merged)] == [
        "all", "stats_aggregate", "redis_cache"
    ]  # fmt: skip
    assert len(merged["samples"]) == len(endtoend["samples"]) + len(isolate["samples"])


def test_summary_printed_to_a_pipe_is_a_markdown_table_and_json_is_json(report):
    run_dir, _ = report
    out = io.StringIO()
    print_summary(Console(file=out, width=80), load_results(run_dir))  # a file: no terminal
    lines = out.getvalue().splitlines()
    assert lines[2].startswith("| Optimization | Metric |")
    rows = [line for line in lines if line.startswith("| ")]
    assert len(rows) == 1 + len(load_results(run_dir)["summary"])  # one row a line
    assert max(len(line) for line in rows) > 80  # never wrapped to the console's width
    data = json.loads(summary_json(run_dir))
    assert {row["metric"] for row in data["summary"]} >= {"api_p95_ms", "cache_hit_rate"}


def test_the_summary_says_where_the_time_went() -> None:
    results = {
        "started_at": "2026-12-06T08:00:00+00:00",
        "finished_at": "2026-12-06T08:20:00+00:00",
        "environment": {"phase_seconds": {"measuring": 600.0, "switching": 300.0}},
    }
    assert time_line(results) == (
        "time: 20.0 min, of which measuring 10.0, switching 5.0, starting and other 5.0"
    )
    assert time_line({**results, "finished_at": None}) == ""  # an interrupted run
    busy = {**results["environment"], "busy_windows": {"measured_again": 3, "kept_invalid": 1}}
    assert time_line({**results, "environment": busy}).endswith(
        "; the machine's other jobs disturbed windows: 3 measured again, 1 kept as invalid"
    )


def test_a_rows_verdict_is_wrapped_beside_it_never_cut_mid_word() -> None:
    verdict = (
        "not measured conclusively (inconclusive: both ≥: two lower bounds say nothing "
        "of which side is higher)"
    )
    lines = note_text(verdict).split("\n")
    assert " ".join(lines) == verdict  # all of it, in whole words
    assert 1 < len(lines) <= NOTE_LINES and all(len(line) <= NOTE_CHARS for line in lines)
    assert note_text("met") == "met"
    cut = note_text("word " * 60).split("\n")
    assert len(cut) == NOTE_LINES and cut[-1].endswith("…")


@pytest.mark.parametrize(
    ("before", "reason"),
    [
        ([0.0, 0.0, 0.0, 1.0], "before median is 0"),
        # the demo's concurrent users before: median 0.5, but resamples of 0 have no ratio
        ([2.0, 1.0, 0.0, 0.0], "some of the before's windows are 0"),
    ],
)
def test_a_missing_interval_gives_its_own_reason(before, reason):
    samples = samples_for("all", "concurrent_users", before, [256.0, 256.0, 128.0, 256.0])
    row = next(r for r in summarize(samples, []) if r["metric"] == "concurrent_users")
    assert row["ci95"] is None
    verdict = expectation_verdict(METRICS["concurrent_users"], row)
    assert verdict.startswith(f"not measured: no confidence interval ({reason}")


@pytest.mark.parametrize(
    ("ratio", "ci", "text"),
    [
        (0.2, [0.1, 0.3], "80% reduction (95% CI 70% to 90% reduction)"),
        # the demo's backend memory at 754e922 read "(95% CI -2% to -1% reduction)"
        (1.016, [1.008, 1.023], "2% increase (95% CI 1% to 2% increase)"),
        (0.9, [0.8, 1.1], "10% reduction (95% CI 20% reduction to 10% increase)"),
    ],
)
def test_a_lower_is_better_change_states_each_ci_bound_in_its_direction(ratio, ci, text):
    row = {"ratio": ratio, "ci95": ci, "before_median": 100.0, "after_median": 100.0 * ratio}
    assert fmt_change(METRICS["backend_memory_mb"], row) == text  # type: ignore[arg-type]
