"""Print the Markdown tables of benchmarks/README.md from a result file of `http_load.py`.

Run: `python benchmarks/table.py [benchmarks/results/http_load-latest.json]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LATEST = Path(__file__).resolve().parent / "results" / "http_load-latest.json"
COLUMNS = ("jobmock", "jobmock --no-validate", "prism")


def main() -> int:
    result = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else LATEST).read_text())
    print(_mix(result["mix"]))
    for group, title in (("per_api", "API alone"), ("per_op", "operation alone")):
        if result.get(group):
            print(f"\n{_groups(result[group], title)}")
    print("\n" + "\n".join(f"- {name}: {value}" for name, value in result["targets"].items()))
    return 0


def _mix(mix: dict[str, Any]) -> str:
    rows = ["| server (mix, 16 connections) | req/s | p50 ms | p99 ms | server CPU ms/request "
            "| 5xx |", "|---|---:|---:|---:|---:|---:|"]
    for label, run in mix.items():
        rows.append(f"| `{label}` | {run['rps']:.0f} | {run['p50_ms']:.1f} | "
                    f"{run['p99_ms']:.1f} | {run['server_cpu_per_1k_requests_ms'] / 1000:.2f} "
                    f"| {run['5xx']} |")
    return "\n".join(rows)


def _groups(groups: dict[str, Any], title: str) -> str:
    head = " | ".join(f"{c} req/s (p99 ms)" for c in COLUMNS)
    rows = [f"| {title} | {head} | jobmock / prism |", "|---|" + "---:|" * (len(COLUMNS) + 1)]
    for name, runs in groups.items():
        cells = " | ".join(f"{runs[c]['rps']:.0f} ({runs[c]['p99_ms']:.0f})" for c in COLUMNS)
        ratio = runs["jobmock"]["rps"] / runs["prism"]["rps"]
        rows.append(f"| {name} | {cells} | {ratio:.2f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
