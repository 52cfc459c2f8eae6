"""The gate's outputs: junit.xml (one testcase per check), a Markdown summary, JSON, and
the summary in CI job pages.

GitHub Actions shows Markdown appended to the file `$GITHUB_STEP_SUMMARY` on the job's
page. GitLab has no such file: its job page shows the log, so there the summary is
printed in a collapsible log section, and the junit file, declared as
`artifacts:reports:junit`, shows each check in the merge request.
"""

from __future__ import annotations

import json
import math
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, TextIO

from harness.gate.rules import Check, GateResult

JUNIT_FILE = "junit.xml"
SUMMARY_FILE = "gate-summary.md"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
GITLAB_ENV = "GITLAB_CI"
GITLAB_SECTION = "chrono_bench_gate"
STATUS_MARK = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn", "skip": "⏭️ skipped"}
ORDER = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}


def junit_xml(result: GateResult, suite_name: str) -> str:
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(result.checks)),
        failures=str(len(result.failed)),
        skipped=str(sum(c.status == "skip" for c in result.checks)),
        errors="0",
    )
    for check in result.checks:
        case = ET.SubElement(suite, "testcase", classname=f"gate.{check.kind}", name=check.name)
        if check.status == "fail":
            ET.SubElement(case, "failure", message=check.message).text = check.message
        elif check.status == "skip":
            ET.SubElement(case, "skipped", message=check.message)
        else:
            ET.SubElement(case, "system-out").text = f"{check.status}: {check.message}"
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _detectable(check: Check) -> str:
    if check.detectable is None:
        return ""
    return "none" if math.isinf(check.detectable) else f"{check.detectable:.0%}"


def _row(check: Check) -> str:
    allowed = "" if check.allowed is None else f"{check.allowed:.0%}"
    cells = [STATUS_MARK[check.status], check.kind, check.optimization, check.metric or "",
             _detectable(check), allowed, check.message]  # fmt: skip
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def counts(result: GateResult) -> dict[str, int]:
    return {s: sum(c.status == s for c in result.checks) for s in ("pass", "fail", "warn", "skip")}


def headline(result: GateResult, run_id: str) -> str:
    n = counts(result)
    verdict = "failed" if result.failed else "passed"
    return (
        f"gate {verdict}: run {run_id} against {result.reference}: {n['pass']} passed, "
        f"{n['fail']} failed, {n['warn']} warnings, {n['skip']} skipped (inconclusive)"
    )


def markdown_summary(result: GateResult, run_id: str) -> str:
    verdict = "❌ **failed**" if result.failed else "✅ **passed**"
    n = counts(result)
    lines = [
        f"## Performance gate: {verdict}",
        "",
        f"Run `{run_id}` against {result.reference}: {n['pass']} passed, {n['fail']} failed, "
        f"{n['warn']} warnings, {n['skip']} skipped (inconclusive).",
        *(f"\n{note}" for note in result.notes),
        "",
        "*Detectable*: the smallest regression the check would catch with the policy's power "
        "at its window counts and the windows' own noise.",
        "",
        "| Result | Check | Optimization | Metric | Detectable | Allowed | Detail |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_row(c) for c in sorted(result.checks, key=lambda c: ORDER[c.status])]
    return "\n".join(lines) + "\n"


def gate_json(result: GateResult, run_id: str) -> dict[str, Any]:
    """The gate's result as JSON (`--format json`); inf detectable becomes null."""
    return {
        "run_id": run_id,
        "reference": result.reference,
        "passed": not result.failed,
        "exit_code": result.exit_code,
        "counts": counts(result),
        "notes": result.notes,
        "checks": [
            {
                "kind": c.kind,
                "optimization": c.optimization,
                "metric": c.metric,
                "status": c.status,
                "message": c.message,
                "detectable_regression": (
                    None if c.detectable is None or math.isinf(c.detectable) else c.detectable
                ),
                "max_regression": c.allowed,
            }
            for c in result.checks
        ],
    }


def write_gate_outputs(
    result: GateResult, run_dir: Path, run_id: str, junit_path: Path | None = None
) -> tuple[Path, Path]:
    """Write junit.xml (into the run folder, or junit_path) and the Markdown summary."""
    junit_path = junit_path or run_dir / JUNIT_FILE
    junit_path.parent.mkdir(parents=True, exist_ok=True)
    junit_path.write_text(junit_xml(result, f"chrono-bench gate {run_id}"), encoding="utf-8")
    summary_path = run_dir / SUMMARY_FILE
    summary_path.write_text(markdown_summary(result, run_id), encoding="utf-8")
    return junit_path, summary_path


def publish_summary(summary: str, out: TextIO) -> list[str]:
    """Put the summary where the CI job's page shows it; returns where it went."""
    where = []
    step_summary = os.environ.get(STEP_SUMMARY_ENV)
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
        where.append(f"${STEP_SUMMARY_ENV}")
    if os.environ.get(GITLAB_ENV):
        now = int(time.time())
        out.write(f"\x1b[0Ksection_start:{now}:{GITLAB_SECTION}[collapsed=false]"
                  f"\r\x1b[0KPerformance gate summary\n{summary}"
                  f"\x1b[0Ksection_end:{now}:{GITLAB_SECTION}\r\x1b[0K\n")  # fmt: skip
        where.append("the GitLab job log")
    return where


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, allow_nan=False) + "\n"
