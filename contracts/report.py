"""Render reports: a progress line per suite, failures with reproductions, a coverage table,
and JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from contracts.runner import Outcome, Report
from mockserver.spec import load_spec

__all__ = ["coverage_table", "failure_text", "progress_line", "summary", "write_junit"]


def progress_line(api: str, outcome: Outcome) -> str:
    mark = "ok  " if outcome.passed else "FAIL"
    return f"  {mark} {api} {outcome.suite:<19} {outcome.operation}  ({outcome.seconds:.1f}s)"


def failure_text(api: str, outcome: Outcome) -> str:
    header = f"--- {api} {outcome.suite} {outcome.operation}"
    if outcome.failure is not None:
        return f"{header}\n{outcome.failure}"
    return f"{header}\nsuite error: {outcome.error}"


def coverage_table(report: Report) -> str:
    """Operations by the status codes they answered during the run."""
    seen: dict[str, dict[int, int]] = defaultdict(dict)
    for (operation, status), count in report.coverage.items():
        seen[operation][status] = count
    rows = []
    for op in load_spec(report.api).operations:
        statuses = seen.get(op.operation_id, {})
        cells = " ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
        documented = ",".join(op.responses)
        rows.append(f"  {op.method:<6} {op.path:<70} {cells or '-':<32} documented {documented}")
    return "\n".join([f"{report.api}: operations and the statuses they answered", *rows])


def summary(reports: Sequence[Report]) -> str:
    lines = []
    for report in reports:
        passed = sum(o.passed for o in report.outcomes)
        lines.append(f"{report.api}: {passed} passed, {len(report.failures)} failed")
        lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)


def write_junit(reports: Sequence[Report], path: Path) -> None:
    root = ET.Element("testsuites")
    for report in reports:
        suite = ET.SubElement(root, "testsuite", name=f"jobmock.{report.api}",
                              tests=str(len(report.outcomes)),
                              failures=str(len(report.failures)))
        for outcome in report.outcomes:
            case = ET.SubElement(suite, "testcase", classname=f"{report.api}.{outcome.suite}",
                                 name=outcome.operation, time=f"{outcome.seconds:.3f}")
            if not outcome.passed:
                text = failure_text(report.api, outcome)
                rule = outcome.failure.rule if outcome.failure else "suite-error"
                ET.SubElement(case, "failure", message=rule).text = text
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
