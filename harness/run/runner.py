"""The before/after runner: verify, warm up, then measure the plan's interleaved windows.

Verification has parts, and a comparison (an optimization, or `all` end to end) failing
any of them is `broken` and measured no further: before and after must answer a fixed
request set identically (taken the first time each variant is applied, so it costs no
extra restarts); each time a variant is applied, before its windows, the probes of the
comparisons it belongs to must see the problem in the before and the fix in the after
(`harness.run.probes`); and the app's statement counter must agree with
pg_stat_statements. A comparison's samples are held back until its answers are compared,
and kept (marked broken by its verification) when a part fails. Windows follow
`harness.run.plan`: round after round, every variant once, so each optimization is measured
before, after, before, after, ... and slow drifts of the host hit both variants alike.
Samples are written to results.json at once: an interrupted run keeps what it measured.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from harness.collect import WindowCollector
from harness.collect.cpu import ForeignCpu, busy_reason
from harness.collect.series import has_prometheus, window_peaks, window_series
from harness.progress import Clock, RunProgress
from harness.results import (
    ALL,
    LATENCIES_DIR,
    OPTIMIZATIONS,
    SCRAPE_DIR,
    TIMESERIES_DIR,
    Expects,
    LatencyFile,
    ProbeRecord,
    Sample,
    Side,
    TimeseriesFile,
    VerificationPart,
    dump_window_file,
    window_file,
)
from harness.run.plan import WindowSet
from harness.run.probes import Prober
from harness.run.results_log import Measured, ResultsLog, to_samples
from harness.run.verify import Answer, HttpVerifier, compare_answers
from harness.runtime.target import Target
from harness.runtime.variants import Comparison, Variant
from harness.upstream.corpus import build_corpus
from scenarios.base import Scenario, WindowRecord
from scenarios.profiles import MeasureProfile, corpus_for
from scenarios.scrape import scrape_file

LOG = logging.getLogger(__name__)
# The scenario whose statement counts the counters' cross-check vouches for.
COUNTED_SCENARIO = "api"
PART_ORDER = ("answers", "problem reproduced", "fix in effect", "statement counters")
# The scenario whose warm-up (the report's request mix) runs after every variant switch.
WARM_UP_SCENARIO = "api"
# How often a window the machine's other jobs disturbed is measured again before it is
# kept as invalid (harness/collect/cpu.py says when a machine is busy).
BUSY_RETRIES = 2
# Runtimes whose whole stack is the harness's own process tree, so that CPU used outside
# it is another job's; a container's processes are not the harness's descendants.
FOREIGN_CPU_RUNTIMES = frozenset({"local"})


def busy_machine_reader(target: Target) -> Callable[[], WindowCollector] | None:
    """What tells a window's machine busy, when something can: on the local runtime the
    stack and the load generator are the harness's process tree, so CPU spent outside
    it is another job's. Not with locust workers on load hosts: one may share this
    machine (a network namespace, an inventory host at this address), and its workers,
    started over SSH, are outside the tree: their load would read as other jobs'."""
    if target.runtime in FOREIGN_CPU_RUNTIMES and not target.placement.load_hosts:
        return ForeignCpu
    return None


class Verifier(Protocol):
    """How the runner asks a stack for its answers to the fixed request set."""

    def request_set(self, target: Target) -> list[str]: ...

    def answers(self, target: Target, paths: Sequence[str]) -> dict[str, Answer]: ...


class Runner:
    """Measures the runs' comparisons on one running stack; see the module docstring."""

    def __init__(
        self,
        target: Target,
        scenarios: Mapping[str, Scenario],
        profile: MeasureProfile,
        work_dir: Path,
        *,
        progress: RunProgress | None = None,
        clock: Clock = time.time,
        verifier: Verifier | None = None,
        prober: Prober | None = None,
        machine: Callable[[], WindowCollector] | None = None,
    ) -> None:
        self.target = target
        self.scenarios = scenarios
        self.profile = profile
        self.work_dir = work_dir
        self.progress = progress
        self.clock = clock
        self.verifier: Verifier = verifier or HttpVerifier()
        self.prober = prober or Prober(corpus=build_corpus(corpus_for(profile)))
        self._answers: dict[Variant, dict[str, Answer]] = {}
        # each comparison's parts so far; a failed part stays failed
        self._parts: dict[tuple[int, str], dict[str, VerificationPart]] = defaultdict(dict)
        self._paths: list[str] = []
        # (run, optimization) -> passed; absent while undecided
        self._comparisons: dict[tuple[int, str], Comparison] = {}
        self._verdicts: dict[tuple[int, str], bool] = {}
        self._pending: dict[tuple[int, str], list[Sample]] = defaultdict(list)
        # Stand-in targets (tests) have no Prometheus to ask for window series and peaks.
        self._prometheus = has_prometheus(target.prometheus_url)
        # seconds per phase of the run, and the phase under way (name, started at)
        self.phase_seconds: dict[str, float] = defaultdict(float)
        self._phase: tuple[str, float] | None = None
        # windows measured again because the machine was busy, and those kept as invalid
        self.busy_windows = {"measured_again": 0, "kept_invalid": 0}
        # what tells a busy machine over a window (None: nothing can, on this runtime)
        self.machine = machine if machine is not None else busy_machine_reader(target)

    def run(
        self,
        logs: Sequence[ResultsLog],
        runs: Sequence[Sequence[Comparison]],
        plan: list[WindowSet],
    ) -> None:
        """Measure every window set of `plan`; each log gets its run's samples and summary."""
        self._paths = self.verifier.request_set(self.target)
        planned = {(d.run, d.optimization) for w in plan for d in w.destinations}
        self._comparisons = {
            (i, c.optimization): c
            for i, pairs in enumerate(runs)
            for c in pairs
            if (i, c.optimization) in planned
        }
        needed = {s for window_set in plan for s in window_set.scenarios()}
        if plan and WARM_UP_SCENARIO in self.scenarios:
            needed.add(WARM_UP_SCENARIO)  # its mix warms every variant up
        self._show("preparing", "", ", ".join(sorted(needed)))
        for name in needed:
            self.scenarios[name].prepare(self.target, self.profile)
        for window_set in plan:
            self._measure(logs, window_set)
        self._end_phase()
        for log in logs:
            log.results["environment"]["phase_seconds"] = {
                phase: round(seconds, 1) for phase, seconds in self.phase_seconds.items()
            }
            log.results["environment"]["busy_windows"] = dict(self.busy_windows)
            log.finish(self.clock)

    def _end_phase(self) -> None:
        """Add the time since the current phase began to its total."""
        if self._phase is not None:
            phase, started = self._phase
            self.phase_seconds[phase] += self.clock() - started
            self._phase = None

    def _live(self) -> set[tuple[int, str]]:
        return {key for key in self._comparisons if self._verdicts.get(key, True)}

    def _warm_up(self, window_set: WindowSet, names: Sequence[str]) -> None:
        """Unmeasured load after every variant switch (each restarts processes): the same
        for every variant and round, so no window starts colder than another. The api
        scenario's mix fills PostgreSQL's buffers, the OS cache and the app's pools; beside
        it each scenario adds its own (a page load, say). They run side by side: none is
        measured, and one after another they added a page load's seconds to every switch."""
        self._show("warming up", _variant_dir(window_set.variant), f"round {window_set.repeat + 1}")
        where = self._dir("warm-up", f"round-{window_set.repeat}", _variant_dir(window_set.variant))
        warming = [name for name in names if name != WARM_UP_SCENARIO]
        if WARM_UP_SCENARIO in self.scenarios:
            warming.insert(0, WARM_UP_SCENARIO)
        if not warming:
            return
        with ThreadPoolExecutor(len(warming), thread_name_prefix="warm-up") as pool:
            done = [
                pool.submit(self.scenarios[name].warm_up, self.target, self.profile, where / name)
                for name in warming
            ]
            for future in done:
                future.result()  # a warm-up's failure is the run's, as before

    def _measure(self, logs: Sequence[ResultsLog], window_set: WindowSet) -> None:
        live = self._live()
        names = window_set.scenarios(live)
        if not names:
            return
        label = _label(window_set, live)
        self._show("switching", label, f"round {window_set.repeat + 1}")
        self.target.apply(window_set.variant)
        self._show("probing", label, f"round {window_set.repeat + 1}")
        first = window_set.variant not in self._answers
        if first:
            self._answers[window_set.variant] = self.verifier.answers(self.target, self._paths)
            self._decide(logs)
        self._probe(logs, window_set, cross_check=first)
        names = window_set.scenarios(self._live())
        if names:
            self._warm_up(window_set, names)
        measured: Measured = []
        for name in names:
            self._show("measuring", label, f"{name} · round {window_set.repeat + 1}")
            scenario = self.scenarios[name]
            window_dir = self._dir(f"round-{window_set.repeat}", _variant_dir(window_set.variant))
            record = self._window(scenario, window_dir, label)
            self._end_phase()
            self._phase = ("collecting", self.clock())
            if self._prometheus:
                peaks = window_peaks(self.target.prometheus_url, *_span([record]))
                LOG.info("%s window peaks: %s", name, peaks)
                record.readings.update(peaks)
            measured.append((record, scenario.collect(self.target, record)))
            if self.progress is not None:
                self.progress.window_done()
        self._write_window_files(logs, window_set, measured)
        for destination in window_set.destinations:
            key = (destination.run, destination.optimization)
            samples = to_samples(destination, window_set.repeat, measured)
            verdict = self._verdicts.get(key)
            if verdict is None:
                self._pending[key].extend(samples)
            elif verdict:
                logs[destination.run].add_samples(samples)

    def _window(self, scenario: Scenario, window_dir: Path, label: str) -> WindowRecord:
        """One window of a scenario, measured again while the machine's other jobs took
        CPU during it (at most BUSY_RETRIES times; then kept, marked invalid)."""
        if self.machine is None:
            return scenario.run(self.target, self.profile, window_dir)
        for attempt in range(BUSY_RETRIES + 1):
            machine = self.machine()
            machine.begin()
            record = scenario.run(self.target, self.profile, window_dir)
            record.readings.update(machine.end())
            busy = busy_reason(record.readings)
            _keep_machine_readings(window_dir / f"{scenario.name}.machine.jsonl", record, busy)
            if busy is None:
                return record
            LOG.warning("%s window of %s: %s", scenario.name, label, busy)
            if attempt < BUSY_RETRIES:
                self.busy_windows["measured_again"] += 1
                self._show("measuring again", label, f"{scenario.name}: the machine was busy")
        self.busy_windows["kept_invalid"] += 1
        record.invalid_reason = record.invalid_reason or busy
        return record

    def _write_window_files(
        self, logs: Sequence[ResultsLog], window_set: WindowSet, measured: Measured
    ) -> None:
        """Each destination's side files: the window set's Prometheus series, and the
        per-request latencies of its scenario that recorded them."""
        if not measured:
            return
        series: TimeseriesFile = {"series": []}
        if self._prometheus:
            span = _span([record for record, _ in measured])
            series = window_series(self.target.prometheus_url, *span)
        for d in window_set.destinations:
            records = [record for record, _ in measured if record.scenario in d.scenarios]
            if not records:
                continue
            run_dir = logs[d.run].path.parent
            where = (d.optimization, d.variant, window_set.repeat)
            if series["series"]:
                dump_window_file(window_file(run_dir, TIMESERIES_DIR, *where), series)
            for record in records:
                latencies: LatencyFile | None = record.data.get("latencies")
                if latencies is not None:
                    dump_window_file(window_file(run_dir, LATENCIES_DIR, *where), latencies)
                if record.scenario == "scrape":
                    dump_window_file(window_file(run_dir, SCRAPE_DIR, *where), scrape_file(record))

    def _probe(
        self, logs: Sequence[ResultsLog], window_set: WindowSet, *, cross_check: bool
    ) -> None:
        """Each live comparison of this variant: its probes (every optimization of the
        after for `all`), and, the first time the variant runs, the statement counters
        of those that measure the api scenario (where db_queries_per_request comes from)."""
        variant = window_set.variant
        measured_by = {(d.run, d.optimization): d.scenarios for d in window_set.destinations}
        self.prober.begin(self.target)
        records: dict[int, list[ProbeRecord]] = defaultdict(list)
        for key in sorted(self._live()):
            pair = self._comparisons[key]
            if variant not in (pair.before, pair.after):
                continue
            run, optimization = key
            side: Side = "after" if variant == pair.after else "before"
            probed = [optimization] if optimization != ALL else [
                o for o in OPTIMIZATIONS if o in pair.after
            ]  # fmt: skip
            for name in (n for n in probed if self.prober.due(n, window_set.repeat)):
                on = name in variant
                timed = self.prober.reading(name, on)
                expects: Expects = "fix in effect" if on else "problem reproduced"
                records[run].append({
                    "optimization": optimization, "probe": name, "variant": side,
                    "repeat": window_set.repeat, "expects": expects,
                    "passed": timed.reading.passed, "detail": timed.reading.detail,
                    "figures": dict(timed.reading.figures),
                    "duration_s": round(timed.duration_s, 3),
                })  # fmt: skip
                where = f"{name} {side} round {window_set.repeat + 1}"
                self._note(logs, key, expects, timed.reading.passed,
                           f"{where}: {timed.reading.detail}")  # fmt: skip
            if cross_check and COUNTED_SCENARIO in measured_by.get(key, ()):
                timed = self.prober.cross_check()
                self._note(logs, key, "statement counters", timed.reading.passed,
                           f"{side}: {timed.reading.detail}")  # fmt: skip
        for run, found in records.items():
            logs[run].add_probes(found)

    def _note(
        self, logs: Sequence[ResultsLog], key: tuple[int, str], part: str, passed: bool,
        detail: str,
    ) -> None:  # fmt: skip
        """Record one part's outcome; the first failure of a part is the one kept."""
        parts = self._parts[key]
        current = parts.get(part)
        if current is not None and not current["passed"]:
            return
        if current is not None and passed:
            detail = f"{current['detail']}; {detail}"
        parts[part] = {"part": part, "passed": passed, "detail": detail}  # type: ignore[typeddict-item]
        if key in self._verdicts or not passed:
            self._record(logs, key)

    def _decide(self, logs: Sequence[ResultsLog]) -> None:
        """Verify every comparison whose two variants have now both answered."""
        for key, pair in self._comparisons.items():
            if key in self._verdicts:
                continue
            before, after = self._answers.get(pair.before), self._answers.get(pair.after)
            if before is None or after is None:
                continue
            check = compare_answers(before, after)
            self._parts[key]["answers"] = {
                "part": "answers",
                "passed": check.passed,
                "detail": check.detail,
            }
            self._record(logs, key)

    def _record(self, logs: Sequence[ResultsLog], key: tuple[int, str]) -> None:
        """Write a comparison's verification; on its first failure release its samples
        (its summary rows say `broken`) and stop measuring it."""
        run, optimization = key
        parts = [self._parts[key][name] for name in PART_ORDER if name in self._parts[key]]
        passed = all(part["passed"] for part in parts)
        failed = [part for part in parts if not part["passed"]]
        detail = "; ".join(f"{part['part']}: {part['detail']}" for part in (failed or parts))
        logs[run].set_verification(
            {"optimization": optimization, "passed": passed, "detail": detail, "parts": parts}
        )
        was = self._verdicts.get(key)
        self._verdicts[key] = passed
        if was is None or (was and not passed):
            logs[run].add_samples(self._pending.pop(key, []))
        if not passed and was is not False:
            LOG.warning("%s is broken, measured no further: %s", optimization, detail)

    def _dir(self, *parts: str) -> Path:
        return self.work_dir.joinpath("windows", *parts)

    def _show(self, phase: str, optimization: str = "", detail: str = "") -> None:
        LOG.info("%s %s %s", phase, optimization, detail)
        self._end_phase()
        self._phase = (phase, self.clock())
        if self.progress is not None:
            self.progress.step(phase, optimization, detail)


def _keep_machine_readings(path: Path, record: WindowRecord, busy: str | None) -> None:
    """One line per attempt at a window: what the machine's other jobs did during it."""
    line: dict[str, float | str | None] = {
        key: round(value, 1) for key, value in record.readings.items() if key.startswith("machine.")
    }
    line |= {"started_at": record.started_at, "finished_at": record.finished_at, "busy": busy}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(json.dumps(line) + "\n")


def _span(records: Sequence[WindowRecord]) -> tuple[float, float]:
    """From the first record's start to the last one's end."""
    return min(r.started_at for r in records), max(r.finished_at for r in records)


def _variant_dir(variant: Variant) -> str:
    return "+".join(sorted(variant)) or "baseline"


def _label(window_set: WindowSet, live: set[tuple[int, str]]) -> str:
    """What the window set measures, for the progress display."""
    names = sorted(
        {f"{d.optimization} {d.variant}" for d in window_set.destinations
         if (d.run, d.optimization) in live}
    )  # fmt: skip
    return ", ".join(names) if len(names) <= 2 else f"{names[0]} and {len(names) - 1} more"
