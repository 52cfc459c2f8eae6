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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NotRequired

import pydantic
from typing_extensions import TypedDict

from harness import catalog
from harness.errors import UserError
from harness.metrics import METRICS
from harness.units import MEMORY_UNIT

SCHEMA_VERSION: Literal[2] = 2
# Schema 1 labelled memory "MB" (its values were already MiB): read it as schema 2.
READABLE_SCHEMAS = (1, SCHEMA_VERSION)
RESULTS_FILE = "results.json"
LATENCIES_DIR = "latencies"
TIMESERIES_DIR = "timeseries"
SCRAPE_DIR = "scrape"

Side = Literal["before", "after"]
# A value the measurement could only bound from below: a ladder that stopped at its
# ceiling or at the load generator's limit rather than at its SLO. Absent means exact.
Bound = Literal["lower"]
LOWER: Bound = "lower"
Verdict = Literal["improved", "regressed", "no-change", "inconclusive", "broken"]
Mode = Literal["isolate", "ladder", "endtoend", "optimized"]

# The optimization ids (harness/catalog.py), and `all` for the end-to-end mode.
OPTIMIZATIONS: tuple[str, ...] = catalog.IDS
ALL = catalog.ALL


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
    # ceiling and each figure's source (harness/run/results_log.py, describe_upstream).
    upstream: NotRequired[dict[str, object]]
    # Where the runner's time went, in seconds per phase (switching, probing, warming up,
    # measuring): what a shorter run must cut.
    phase_seconds: NotRequired[dict[str, float]]
    # Windows the machine's other jobs disturbed (harness/collect/cpu.py, local runtime):
    # how many were measured again, and how many were kept as invalid after the retries.
    busy_windows: NotRequired[dict[str, int]]


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
    # A ladder's first load that failed: the true limit lies in [value, failed_at). The
    # ratio's CI then spans each window's bracket (compare.stats.bracketed_ratio_interval).
    failed_at: NotRequired[float]
    # How many requests stand behind a latency percentile.
    requests: NotRequired[int]
    # What the value cannot say by itself, e.g. why a ladder held no step.
    note: NotRequired[str]


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
    # Why ci95 is null: "before median is 0", "fewer than two windows a side", ...
    ci_reason: NotRequired[str]
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
    # The samples' notes, per side ("before: the first step missed the SLO (...)").
    note: NotRequired[str]


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


class ScrapeFile(TypedDict):
    """What one scrape window saw beyond its metrics: per domain, its steady pages/min and
    when its first and last page became indexed; the stand-in's limit counts."""

    status: str
    stored: int
    time_factor: float
    pages_per_min_by_domain: dict[str, float | None]
    indexed_span_by_domain: dict[str, list[float]]
    upstream_limits: dict[str, int]


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
        if "failed_at" in sample and not sample["failed_at"] > sample["value"]:
            raise ValueError(f"{where}.failed_at: a first failing load must lie above the value")
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


def results_folder(path: Path) -> Path:
    """The folder of a run (or saved baseline) given it or its results.json: where its
    window files are."""
    return path if path.is_dir() else path.parent


def window_file(run_dir: Path, kind: str, optimization: str, variant: str, repeat: int) -> Path:
    """Where a window's side file lives: kind is LATENCIES_DIR, TIMESERIES_DIR or
    SCRAPE_DIR."""
    return run_dir / kind / f"{optimization}-{variant}-{repeat}.json"


def dump_window_file(path: Path, data: LatencyFile | TimeseriesFile | ScrapeFile) -> None:
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
