"""How long the whole default contract suite takes against the local mock, per API.

Run: `python benchmarks/contract_suites.py` (writes benchmarks/results/contract_suites.json).
Each API's suites (stateless for every operation, then the state machine) run with the
default budget (`jobmock test` defaults) against the in-process mock. Wall and CPU seconds are
both written: on a shared machine the CPU time is the steadier figure (the load average at the
end is recorded beside them).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from contracts.runner import Options, run_suites
from contracts.targets import local_target
from mockserver.spec import API_NAMES

RESULTS = Path(__file__).parent / "results" / "contract_suites.json"


def main() -> int:
    options = Options()
    started, cpu_started = time.perf_counter(), time.process_time()
    per_api = {}
    ok = True
    for api in API_NAMES:
        begun, cpu_begun = time.perf_counter(), time.process_time()
        report = run_suites(local_target(api), options)
        per_api[api] = {"seconds": round(time.perf_counter() - begun, 2),
                        "cpu_seconds": round(time.process_time() - cpu_begun, 2),
                        "suites": len(report.outcomes), "failures": len(report.failures),
                        "requests": sum(report.coverage.values())}
        ok = ok and report.ok
        print(f"{api:<8} {per_api[api]}")
    total = round(time.perf_counter() - started, 2)
    cpu_total = round(time.process_time() - cpu_started, 2)
    result = {"benchmark": "default contract suites, all five APIs, in-process mock",
              "max_examples": options.max_examples, "total_seconds": total,
              "total_cpu_seconds": cpu_total, "load_average_1m": os.getloadavg()[0],
              "per_api": per_api, "python": sys.version.split()[0],
              "machine": platform.machine(), "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"total {total} s wall, {cpu_total} s CPU -> {RESULTS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
