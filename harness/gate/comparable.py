"""Whether a baseline can be compared with a run at all: same host budget, profile, runtime.

Windows measured on another host's budget, at another profile's load or on another
runtime differ for reasons that are not the code under test; the gate refuses them
(exit 2) rather than report a regression or a pass that means nothing.
"""

from __future__ import annotations

from typing import Any

from harness.errors import UserError
from harness.results import Results


def _host_budget(results: Results) -> tuple[Any, Any]:
    host = results["budget"].get("host", {})
    return host.get("cpus"), host.get("memory_mb")


def incomparable(run: Results, baseline: Results) -> list[str]:
    """What differs between the run and the baseline, one phrase each (empty: comparable)."""
    reasons = []
    run_host, base_host = _host_budget(run), _host_budget(baseline)
    if run_host != base_host:
        reasons.append(
            f"host budget {base_host[0]} cpus / {base_host[1]} MB vs the run's "
            f"{run_host[0]} cpus / {run_host[1]} MB"
        )
    for key in ("profile", "runtime"):
        if run[key] != baseline[key]:
            reasons.append(f"{key} {baseline[key]!r} vs the run's {run[key]!r}")
    then = baseline["environment"].get("measure_profile")
    now = run["environment"].get("measure_profile")
    if run["profile"] == baseline["profile"] and then and now and then != now:
        changed = sorted(k for k in {*then, *now} if then.get(k) != now.get(k))
        reasons.append(
            f"profile {run['profile']!r} changed since the baseline ({', '.join(changed)})"
        )
    return reasons


def machine_notes(run: Results, baseline: Results) -> list[str]:
    """A warning for each run that shared the machine with other jobs: windows it measured
    again, or kept as invalid, because other processes took the CPU during them. (The
    load generator's ceiling on nginx, measured as each run starts, is no guide: on the
    quiet machine it read 175k and 111-115k req/s in turns.)"""
    notes = []
    for name, results in (("baseline", baseline), ("run", run)):
        busy = results["environment"].get("busy_windows", {})
        if busy.get("measured_again") or busy.get("kept_invalid"):
            notes.append(
                f"The {name} {results['run_id']} shared the machine with other jobs: "
                f"{busy['measured_again']} windows measured again, {busy['kept_invalid']} "
                "kept as invalid (their samples are left out)."
            )
    return notes


def require_comparable(run: Results, baseline: Results) -> None:
    reasons = incomparable(run, baseline)
    if reasons:
        raise UserError(
            f"gate: baseline {baseline['run_id']} is not comparable with run {run['run_id']}: "
            + "; ".join(reasons)
            + " (measure a baseline with the same host budget, profile and runtime)."
        )
