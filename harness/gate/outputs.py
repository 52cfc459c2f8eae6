"""The gate's outputs: junit.xml (one testcase per check) and a Markdown job summary."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.gate.rules import Check, GateResult

JUNIT_FILE = "junit.xml"
SUMMARY_FILE = "gate-summary.md"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
STATUS_MARK = {"pass": "✅ pass", "fail": "❌ fail", "skip": "⚠️ skipped"}


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
            ET.SubElement(case, "system-out").text = check.message
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(check: Check) -> str:
    cells = [STATUS_MARK[check.status], check.kind, check.optimization, check.metric or "",
             check.message]  # fmt: skip
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown_summary(result: GateResult, run_id: str) -> str:
    verdict = "❌ **failed**" if result.failed else "✅ **passed**"
    counts = {s: sum(c.status == s for c in result.checks) for s in ("pass", "fail", "skip")}
    lines = [
        f"## Performance gate: {verdict}",
        "",
        f"Run `{run_id}` against {result.reference}: {counts['pass']} passed, "
        f"{counts['fail']} failed, {counts['skip']} skipped (inconclusive).",
        "",
        "| Result | Check | Optimization | Metric | Detail |",
        "|---|---|---|---|---|",
    ]
    order = {"fail": 0, "skip": 1, "pass": 2}
    lines += [_row(c) for c in sorted(result.checks, key=lambda c: order[c.status])]
    return "\n".join(lines) + "\n"


def write_gate_outputs(result: GateResult, run_dir: Path, run_id: str) -> tuple[Path, Path]:
    """Write junit.xml and the Markdown summary into the run folder; append the summary to
    $GITHUB_STEP_SUMMARY when CI sets it."""
    junit_path = run_dir / JUNIT_FILE
    junit_path.write_text(junit_xml(result, f"chrono-bench gate {run_id}"), encoding="utf-8")
    summary = markdown_summary(result, run_id)
    summary_path = run_dir / SUMMARY_FILE
    summary_path.write_text(summary, encoding="utf-8")
    step_summary = os.environ.get(STEP_SUMMARY_ENV)
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
    return junit_path, summary_path
