"""What the pytest `jobmock` fixture costs per test (its set-up and tear-down, reset included).

Run alone: `python benchmarks/fixture_cost.py`; `http_load.py` calls `measure()` too.
A throw-away test file of N tests, each using the fixture and writing state through the mock
(so that the next reset has something to forget), runs in a pytest subprocess; a hook records
each test's set-up and tear-down durations. The first test also starts the session server
and the last one stops it; they are reported apart.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["measure"]

TESTS = 100

_TEST_FILE = f'''
import pytest
import requests

@pytest.mark.parametrize("n", range({TESTS}))
def test_uses_the_mock(jobmock, n):
    base = jobmock.base_url("nimble")
    created = requests.post(f"{{base}}/v1/jobs", json={{"name": f"j{{n}}", "agent_name": "a"}},
                            headers={{"Authorization": "Bearer jobmock"}}, timeout=10)
    assert created.status_code == 201
'''

_CONFTEST = '''
import json, os

durations = {}

def pytest_runtest_logreport(report):
    if report.when in ("setup", "teardown"):
        durations.setdefault(report.nodeid, 0.0)
        durations[report.nodeid] += report.duration

def pytest_sessionfinish(session):
    with open(os.environ["JOBMOCK_FIXTURE_COST_OUT"], "w") as out:
        json.dump(list(durations.values()), out)
'''


def measure() -> dict[str, Any]:
    """Run the throw-away suite; per-test fixture cost in milliseconds."""
    with tempfile.TemporaryDirectory(prefix="jobmock-fixture-") as folder:
        root = Path(folder)
        (root / "test_fixture_cost.py").write_text(_TEST_FILE, encoding="utf-8")
        (root / "conftest.py").write_text(_CONFTEST, encoding="utf-8")
        out = root / "durations.json"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
             "-o", "addopts=", str(root)], cwd=root, capture_output=True, text=True, check=False,
            env={**__import__("os").environ, "JOBMOCK_FIXTURE_COST_OUT": str(out)})
        if done.returncode != 0:
            raise RuntimeError(f"fixture-cost suite failed:\n{done.stdout[-2000:]}")
        seconds = json.loads(out.read_text(encoding="utf-8"))
    first, last = seconds[0] * 1000, seconds[-1] * 1000
    rest = [s * 1000 for s in seconds[1:-1]]
    return {
        "tests": len(seconds),
        "first_test_ms (starts the session server)": round(first, 1),
        "last_test_ms (stops the session server)": round(last, 1),
        "per_test_ms_mean": round(statistics.mean(rest), 2),
        "per_test_ms_p95": round(sorted(rest)[int(len(rest) * 0.95) - 1], 2),
        "per_test_ms_max": round(max(rest), 2),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
