"""results.json schema 1: the one definition of a run's records, catalogs and run-folder files.

The runner writes these records, the report and the gate read them. Everything a run
produces lives in its folder `reports/<run-id>/`:

- `results.json`: `Results` below (docs/design.md "results.json (schema 1)"), written with
  `dump_results` (atomically, so an interrupted run leaves the last complete state).
- optional `latencies/<optimization>-<variant>-<repeat>.json`: the per-request client
  latencies of one measured window, `{"metric": "api_p95_ms", "latencies_ms": [12.1, ...]}`
  (`LatencyFile`); the report draws latency CDFs from them.
- optional `timeseries/<optimization>-<variant>-<repeat>.json`: Prometheus series over one
  window, `{"series": [{"name": "api_p95_ms", "unit": "ms", "points": [[unix_s, value],
  ...]}]}` (`TimeseriesFile`); the report plots each window's latency, RPS and memory.

Samples must name a metric of `METRICS` in its unit and an optimization of
`OPTIMIZATIONS` (or `ALL` for the end-to-end mode): a typo fails loudly at load time.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NotRequired

import pydantic
from typing_extensions import TypedDict

from harness import catalog
from harness.errors import UserError
from harness.units import MEMORY_UNIT

SCHEMA_VERSION: Literal[2] = 2
# Schema 1 labelled memory "MB" (its values were already MiB): read it as schema 2.
READABLE_SCHEMAS = (1, SCHEMA_VERSION)
RESULTS_FILE = "results.json"
LATENCIES_DIR = "latencies"
TIMESERIES_DIR = "timeseries"

Side = Literal["before", "after"]
# A value the measurement could only bound from below: a ladder that stopped at its
# ceiling or at the load generator's limit rather than at its SLO. Absent means exact.
Bound = Literal["lower"]
LOWER: Bound = "lower"
Better = Literal["lower", "higher"]
Verdict = Literal["improved", "regressed", "no-change", "inconclusive", "broken"]
Mode = Literal["isolate", "ladder", "endtoend", "optimized"]

# The optimization ids (harness/catalog.py), and `all` for the end-to-end mode.
OPTIMIZATIONS: tuple[str, ...] = catalog.IDS
ALL = catalog.ALL


@dataclass(frozen=True)
class Claim:
    """What the report promises for a metric, in a form a measurement can be held to.

    `reduction`: after/before <= 1 - amount ("80% reduction" -> amount 0.8);
    `increase`: after/before >= amount ("5x increase" -> 5.0);
    `target`: after >= amount, for a capability the current stack lacks (cache hit rate 0 %).
    """

    kind: Literal["reduction", "increase", "target"]
    amount: float


@dataclass(frozen=True)
class Metric:
    """One metric: its unit, which direction is better, and the report's row for it."""

    id: str
    label: str
    unit: str
    better: Better
    definition: str
    # The report's "Expected Performance Improvements" strings; None when not a report row.
    current: str | None = None
    optimized: str | None = None
    improvement: str | None = None
    claim: Claim | None = None
    # A latency percentile (0.95 for a p95) the summary takes over the rounds' pooled
    # requests of the window's latency file rather than as a median of window values.
    pooled_quantile: float | None = None


def _m(*args: Any, **kwargs: Any) -> tuple[str, Metric]:
    metric = Metric(*args, **kwargs)
    return metric.id, metric


METRICS: dict[str, Metric] = dict(
    [
        # The report's ten rows, in its table's order.
        _m("api_p95_ms", "API Response Time (p95)", "ms", "lower",
           "client-side p95 of GET /api/v1/projects/ in the api scenario (the report's mix)",
           "500ms", "100ms", "80% reduction", Claim("reduction", 0.80), pooled_quantile=0.95),
        _m("db_queries_per_request", "Database Queries per Request", "count", "lower",
           "mean SQL statements per GET /api/v1/projects/",
           "10-50", "1-3", "90% reduction", Claim("reduction", 0.90)),
        _m("backend_memory_mb", "Memory Usage (Backend)", MEMORY_UNIT, "lower",
           "peak memory of the API (its processes' PSS, or its container's cgroup memory)"
           " over the soak: 100 dashboards, 10 % stalled, progress at a scrape's rate,"
           " and the api mix", "2GB", "800MB", "60% reduction", Claim("reduction", 0.60)),
        _m("worker_memory_mb", "Memory Usage (Celery)", MEMORY_UNIT, "lower",
           "peak PSS of all Celery processes during scrape, in MiB (2^20 bytes; shared "
           "pages counted once), or their container's cgroup memory under compose",
           "4GB", "2GB", "50% reduction", Claim("reduction", 0.50)),
        _m("ws_connections", "WebSocket Connections", "count", "higher",
           "dashboard connections held (a ladder from 10; 10 % stalled, never reading; every"
           " user's channel fed at one running scrape's rate, 4.3 messages/s) with the"
           " reading ones' delivery p99 < 1 s, none refused, the API within its memory",
           "100", "500", "5x increase", Claim("increase", 5.0)),
        _m("frontend_initial_kb", "Frontend Initial Load", "KB", "lower",
           "bytes transferred (compressed) before the first page is interactive",
           "1.2MB", "400KB", "67% reduction", Claim("reduction", 0.67)),
        _m("tti_ms", "Time to Interactive", "ms", "lower",
           "time to interactive in headless Chromium",
           "3.5s", "1.2s", "66% reduction", Claim("reduction", 0.66)),
        _m("scrape_pages_per_min", "Scraping Throughput", "pages/min", "higher",
           "steady-state pages indexed per minute in the scrape scenario, between the first "
           "and last indexing moment, against the Wayback profile at the run's time factor "
           "(as measured: divide by the factor for real time)",
           "100 pages/min", "300 pages/min", "3x increase", Claim("increase", 3.0)),
        _m("cache_hit_rate", "Cache Hit Rate", "ratio", "higher",
           "app cache hits / (hits + misses) over the api scenario",
           "0%", "75%", "New capability", Claim("target", 0.75)),
        _m("concurrent_users", "Concurrent Users", "users", "higher",
           "the report's logged-in users (list x3, stats x2, search x1, 1-3 s think time)"
           " on a ladder from 1: the last step with p95 < 500 ms and errors < 1%",
           "50", "200", "4x increase", Claim("increase", 4.0)),
        # Supporting metrics the collectors record; not rows of the report's table.
        _m("api_p50_ms", "API Response Time (p50)", "ms", "lower",
           "client-side median of GET /api/v1/projects/ in the api scenario",
           pooled_quantile=0.50),
        _m("api_p99_ms", "API Response Time (p99)", "ms", "lower",
           "client-side p99 of GET /api/v1/projects/ in the api scenario",
           pooled_quantile=0.99),
        _m("backend_memory_growth", "Backend Memory Growth", f"{MEMORY_UNIT}/min", "lower",
           "least-squares slope of the API's memory over the soak's hold"),
        _m("api_rps", "API Throughput", "req/s", "higher",
           "requests per second served in the api scenario"),
        _m("api_error_rate", "API Error Rate", "ratio", "lower",
           "failed requests / all requests in the api scenario"),
        _m("critical_task_wait_ms", "Critical Task Wait", "ms", "lower",
           "queue wait of a critical task submitted during the scrape backlog"),
        _m("scrape_pages_per_min_real", "Scraping Throughput (real time)", "pages/min",
           "higher", "scrape_pages_per_min divided by the scrape's time factor"),
        _m("scrape_domain_pages_per_min", "Scraping Throughput per Domain", "pages/min",
           "higher", "median over the domains of each one's steady-state pages/min (as "
           "measured, at the time factor)"),
        _m("worker_rss_sum_mb", "Memory Usage (Celery, RSS sum)", MEMORY_UNIT, "lower",
           "peak summed RSS of all Celery processes during scrape, in MiB: forked children's "
           "shared pages counted once per process"),
        _m("scrape_429s", "Upstream 429s", "count", "lower",
           "429 answers the stand-in gave the scraper in a scrape window"),
        _m("scrape_retry_after_ignored", "Retry-After Ignored", "count", "lower",
           "requests over the limit that came before the Retry-After the client was given"),
        _m("scrape_refused", "Upstream Refusals", "count", "lower",
           "connections the stand-in refused (a blocked client); any makes the window invalid"),
        _m("scrape_pages_lost", "Pages Lost", "count", "lower",
           "captures the CDX query yields that the window did not store"),
        _m("scrape_pages_duplicated", "Pages Duplicated", "count", "lower",
           "stored copies beyond the first of any capture"),
        _m("ws_delivery_p99_ms", "WebSocket Delivery (p99)", "ms", "lower",
           "p99 delay from publish to delivery over the held WebSocket connections"),
        _m("lcp_ms", "Largest Contentful Paint", "ms", "lower",
           "largest contentful paint of the cold projects page in headless Chromium"),
    ]
)  # fmt: skip
REPORT_METRICS: tuple[str, ...] = tuple(m.id for m in METRICS.values() if m.claim is not None)


class GitInfo(TypedDict):
    commit: str
    dirty: bool


@pydantic.with_config(pydantic.ConfigDict(extra="allow"))
class HostInfo(TypedDict):
    cpus: int
    memory_mb: int
    cpu_model: str
    os: str


class RuntimeEnvironment(TypedDict, total=False):
    """What a runtime records about itself (the compose runtime: its engine and images)."""

    engine: dict[str, Any]  # where the engine runs, its versions, the project, forwards
    images: dict[str, Any]  # image tag -> its id and whether it was built or reused
    search_backend: str
    loadgen_note: str  # why the load generator's figures need a caveat


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
class Environment(RuntimeEnvironment):
    versions: dict[str, str]
    # Highest RPS each load generator reached on a trivial endpoint (docs/design.md).
    loadgen_max_rps: dict[str, float]
    placement: NotRequired[dict[str, Any]]  # CPU pinning, load workers, listen address
    load_generator: NotRequired[dict[str, Any]]  # locust's mode, workers per host
    # locust's ceiling over the API's highest throughput (None: not measured)
    loadgen_ratio: NotRequired[float | None]
    not_measured: NotRequired[dict[str, str]]  # optimization -> why this run could not
    # the gate's self-test: the delay the app's canary added to its project list
    canary_delay_ms: NotRequired[float]
    # the measurement profile's settings (scenarios/profiles.py) when the run was made
    measure_profile: NotRequired[dict[str, Any]]
    # The stand-in's upstream profile, the time factor the scrape ran at, the polite
    # ceiling and each figure's source (harness/run/session.py, describe_upstream).
    upstream: NotRequired[dict[str, object]]


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
class Sample(TypedDict):
    optimization: str
    variant: Side
    scenario: str
    metric: str
    value: float
    unit: str
    repeat: int
    window: list[str]  # [start, end], ISO 8601
    valid: bool
    # Why a window is invalid, e.g. "load generator CPU 96% > 90%".
    invalid_reason: NotRequired[str]
    # The value is only a lower bound ("≥ value"), and why: "ceiling 5000",
    # "load-generator bound at 640 users".
    bound: NotRequired[Bound]
    bound_reason: NotRequired[str]
    # How many requests stand behind a latency percentile.
    requests: NotRequired[int]


VerificationPartName = Literal[
    "answers", "problem reproduced", "fix in effect", "statement counters"
]
Expects = Literal["problem reproduced", "fix in effect"]


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
class VerificationPart(TypedDict):
    """One of a comparison's checks: identical answers, the before's problem seen, the
    after's fix seen, the app's statement counter agreeing with pg_stat_statements."""

    part: VerificationPartName
    passed: bool
    detail: str


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
class Verification(TypedDict):
    optimization: str
    passed: bool  # every part passed
    detail: str
    parts: NotRequired[list[VerificationPart]]


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
class ProbeRecord(TypedDict):
    """One probe reading taken on the live stack before a variant's windows of a round."""

    optimization: str  # the comparison: an id, or `all`
    probe: str  # the optimization whose probe ran
    variant: Side  # the comparison's side the stack was in
    repeat: int
    expects: Expects
    passed: bool
    detail: str
    figures: dict[str, float | str]
    duration_s: float


class Expected(TypedDict):
    current: str
    optimized: str


@pydantic.with_config(pydantic.ConfigDict(extra="forbid"))
class SummaryRow(TypedDict):
    optimization: str
    metric: str
    before_median: float | None
    after_median: float | None
    ratio: float | None  # after_median / before_median
    ci95: list[float] | None  # bootstrap 95 % CI of ratio, [low, high]
    p_value: float | None  # two-sided Mann-Whitney U
    verdict: Verdict
    expected: Expected | None
    n_before: NotRequired[int]  # valid samples used
    n_after: NotRequired[int]
    reason: NotRequired[str]  # why inconclusive or broken
    # Present when a side's median is only a lower bound: which sides, and why.
    bound: NotRequired[Bound]
    bound_sides: NotRequired[list[Side]]
    bound_reason: NotRequired[str]
    # Percentiles pooled over the windows' requests: how many requests stand behind each side.
    requests_before: NotRequired[int]
    requests_after: NotRequired[int]


class Results(TypedDict):
    schema: Literal[2]
    run_id: str
    started_at: str
    finished_at: str | None  # None while running or after an interruption
    git: GitInfo
    host: HostInfo
    runtime: str
    profile: str
    mode: Mode
    # The allocation in the shape of `chrono-bench budget --format json`.
    budget: dict[str, Any]
    environment: Environment
    samples: list[Sample]
    verification: list[Verification]
    summary: list[SummaryRow]
    # Absent in runs made before probes existed.
    probes: NotRequired[list[ProbeRecord]]


class LatencyFile(TypedDict):
    metric: str
    latencies_ms: list[float]


class Series(TypedDict):
    name: str
    unit: str
    points: list[tuple[float, float]]  # [unix seconds, value]


class TimeseriesFile(TypedDict):
    series: list[Series]


_RESULTS_ADAPTER = pydantic.TypeAdapter(Results)
_LATENCY_ADAPTER = pydantic.TypeAdapter(LatencyFile)
_TIMESERIES_ADAPTER = pydantic.TypeAdapter(TimeseriesFile)


def _first_error(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    location = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    return f"{location.lstrip('.') or 'top level'}: {first['msg']}"


def _check_semantics(results: Results) -> None:
    """What types cannot say: catalog ids, units, finite values, known optimizations."""
    known_optimizations = {*OPTIMIZATIONS, ALL}
    for index, sample in enumerate(results["samples"]):
        where = f"samples[{index}]"
        metric = METRICS.get(sample["metric"])
        if metric is None:
            raise ValueError(f"{where}.metric: unknown metric {sample['metric']!r}")
        if sample["unit"] != metric.unit:
            raise ValueError(
                f"{where}.unit: {sample['metric']} is in {metric.unit!r}, not {sample['unit']!r}"
            )
        if sample["optimization"] not in known_optimizations:
            raise ValueError(f"{where}.optimization: unknown {sample['optimization']!r}")
        if len(sample["window"]) != 2:
            raise ValueError(f"{where}.window: needs [start, end]")
        if sample["valid"] and not math.isfinite(sample["value"]):
            raise ValueError(f"{where}.value: a valid sample needs a finite value")
        if "bound" in sample and not sample.get("bound_reason"):
            raise ValueError(f"{where}.bound_reason: a lower bound needs its reason")
    for index, row in enumerate(results["summary"]):
        if row["metric"] not in METRICS:
            raise ValueError(f"summary[{index}].metric: unknown metric {row['metric']!r}")


def record_runtime(environment: Environment, runtime: RuntimeEnvironment) -> None:
    """Copy what a runtime recorded about itself into a run's environment."""
    if "engine" in runtime:
        environment["engine"] = runtime["engine"]
    if "images" in runtime:
        environment["images"] = runtime["images"]
    if "search_backend" in runtime:
        environment["search_backend"] = runtime["search_backend"]
    if "loadgen_note" in runtime:
        environment["loadgen_note"] = runtime["loadgen_note"]


def _from_schema_1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A schema-1 document as schema 2: memory samples labelled MiB (their values were
    MiB already); environment keys schema 1 allowed untyped are kept when schema 2 has
    them and dropped otherwise."""
    upgraded = dict(data, schema=SCHEMA_VERSION)
    upgraded["samples"] = [
        {**sample, "unit": MEMORY_UNIT} if sample.get("unit") == "MB" else sample
        for sample in data.get("samples", [])
    ]
    environment = data.get("environment")
    if isinstance(environment, Mapping):
        known = Environment.__annotations__.keys() | RuntimeEnvironment.__annotations__.keys()
        upgraded["environment"] = {k: v for k, v in environment.items() if k in known}
    return upgraded


def validate_results(data: object, *, source: str = "results") -> Results:
    """Check a decoded results document against schema 2 (reading schema 1 too);
    UserError names the first fault."""
    if not isinstance(data, Mapping):
        raise UserError(f"{source}: expected a JSON object, found {type(data).__name__}.")
    version = data.get("schema")
    if version not in READABLE_SCHEMAS:
        readable = " and ".join(map(str, READABLE_SCHEMAS))
        raise UserError(
            f"{source}: schema version {version!r} is not supported "
            f"(this chrono-bench reads schemas {readable})."
        )
    if version == 1:
        data = _from_schema_1(data)
    try:
        results = _RESULTS_ADAPTER.validate_python(data, strict=False)
        _check_semantics(results)
    except pydantic.ValidationError as error:
        raise UserError(f"{source}: invalid results, {_first_error(error)}.") from None
    except ValueError as error:
        raise UserError(f"{source}: invalid results, {error}.") from None
    return results


def _read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file.") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read it ({error.__class__.__name__}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error}).") from None


def load_results(path: Path) -> Results:
    """Read and validate a results.json (or a run folder holding one)."""
    if path.is_dir():
        path = path / RESULTS_FILE
    return validate_results(_read_json(path), source=str(path))


def dump_results(results: Results, path: Path) -> None:
    """Validate, then write atomically: readers never see a half-written file."""
    validate_results(results, source=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def window_file(run_dir: Path, kind: str, optimization: str, variant: str, repeat: int) -> Path:
    """Where a window's side file lives: kind is LATENCIES_DIR or TIMESERIES_DIR."""
    return run_dir / kind / f"{optimization}-{variant}-{repeat}.json"


def dump_window_file(path: Path, data: LatencyFile | TimeseriesFile) -> None:
    """Write a window's side file (see `window_file`), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, allow_nan=False) + "\n", encoding="utf-8")


def load_latencies(path: Path) -> LatencyFile:
    try:
        return _LATENCY_ADAPTER.validate_python(_read_json(path))
    except pydantic.ValidationError as error:
        raise UserError(f"{path}: invalid latency file, {_first_error(error)}.") from None


def pooled_latencies(
    run_dir: Path, samples: list[Sample]
) -> dict[tuple[str, str], dict[str, list[list[float]]]]:
    """Per (optimization, metric) and side, the request latencies of each valid window of a
    pooled percentile (a metric with `pooled_quantile`) whose latency file exists."""
    pooled: dict[tuple[str, str], dict[str, list[list[float]]]] = {}
    for sample in samples:
        metric = METRICS[sample["metric"]]
        if metric.pooled_quantile is None or not sample["valid"]:
            continue
        where = (sample["optimization"], sample["variant"], sample["repeat"])
        path = window_file(run_dir, LATENCIES_DIR, *where)
        if not path.exists():
            continue
        latencies = load_latencies(path)["latencies_ms"]
        if latencies:
            sides = pooled.setdefault((sample["optimization"], sample["metric"]), {})
            sides.setdefault(sample["variant"], []).append(latencies)
    return pooled


def load_timeseries(path: Path) -> TimeseriesFile:
    try:
        return _TIMESERIES_ADAPTER.validate_python(_read_json(path))
    except pydantic.ValidationError as error:
        raise UserError(f"{path}: invalid time-series file, {_first_error(error)}.") from None


REPORTS_DIR = Path("reports")
LATEST = "latest"


def resolve_run(run: str, reports_dir: Path = REPORTS_DIR) -> Path:
    """A run folder from `latest` (the reports/latest link), a path, or a run id."""
    candidates = [reports_dir / LATEST] if run == LATEST else [Path(run), reports_dir / run]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise UserError(f"run {run!r}: no such run folder (looked in {reports_dir}/ and the path).")


def iso(moment: float) -> str:
    """A moment (seconds since the epoch) as results.json writes times."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
