"""Schemathesis (PyPI `schemathesis==4.32.5`), an independent tester, finds nothing in the mock.

For each of the five APIs, `st run specs/<api>.yaml --url <server>/<api>` against a live server:
every schemathesis check, positive and negative data, and all four phases. Each API gets two
runs, all ten at once: one with the examples and coverage phases, one with fuzzing and the
stateful phase (which follows the specs' `links`), each within a time budget
(JOBMOCK_ST_MAX_TIME, 30 s by default) that schemathesis shares out between the run's phases.
tests/sdk/schemathesis/ holds the settings (`schemathesis.toml`), the credentials and the
single documented behaviours a check gets wrong (`hooks.py`, each with its reason and source),
and the runner (`run.py`, which also runs against `jobmock serve`, with or without a limit).

The test asserts what schemathesis reports, run by run: exit status 0, each phase passed (none
skipped or errored), stateful scenarios run, test cases generated and none failed, and every
operation tested by one run or the other; the live server's make_app fixture asserts that no
handler crashed. The summaries are printed: `pytest -rA` (or `-s`) shows them
for a passing run, and a failing run shows them in its report.

Setup: `pip install 'schemathesis==4.32.5'` (to go into the dev extra). Without it the test is
skipped, or fails when `CI=true`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from mockserver.server import ServerThread

SETUP = "pip install 'schemathesis==4.32.5' (to be in the dev extra: pip install -e '.[dev]')"
RUNNER = Path(__file__).parent / "schemathesis" / "run.py"
PHASES = {"walk": ("Examples", "Coverage"), "generate": ("Fuzzing", "Stateful")}


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jobmock_schemathesis_run", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def runner() -> ModuleType:
    if importlib.util.find_spec("schemathesis") is None:
        message = f"schemathesis is not installed; run: {SETUP}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return _runner()


def _problems(part: str, output: str) -> list[str]:
    """What is wrong with one run, read from schemathesis' output."""
    if _tested(output) is None:
        return ["no SUMMARY section (schemathesis did not finish)"]
    problems = [f"phase {phase} did not pass (skipped, errored or failed)"
                for phase in PHASES[part] if not re.search(rf"✅ {phase}\b", output)]
    scenarios = re.search(r"Scenarios:\s+(\d+)", output)
    if "Stateful" in PHASES[part] and (scenarios is None or int(scenarios.group(1)) == 0):
        problems.append("no stateful scenario ran")
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    if cases is None or int(cases.group(1)) == 0:
        problems.append("no test case passed")
    elif cases.group(1) != cases.group(2):
        problems.append(f"{cases.group(1)} generated but only {cases.group(2)} passed")
    return problems


def _tested(output: str) -> tuple[int, int] | None:
    """(operations tested, operations in the spec), from the SUMMARY section."""
    found = re.search(r"Selected: \d+/(\d+)\s+Tested: (\d+)", output)
    return (int(found.group(2)), int(found.group(1))) if found else None


def test_schemathesis_finds_no_failure_in_any_api(
    runner: ModuleType, live_server: Callable[..., ServerThread]
) -> None:
    server = live_server(apis=runner.APIS)
    budget = int(os.environ.get("JOBMOCK_ST_MAX_TIME", "30"))
    outcomes = runner.run_all(server.url, max_time=budget)
    print(runner.report(outcomes))
    assert sorted((o.api, o.part) for o in outcomes) == sorted(
        (api, part) for api in runner.APIS for part in PHASES)
    problems = {o.label: ([f"exit status {o.returncode}"] if not o.ok else [])
                + _problems(o.part, o.output) for o in outcomes}
    for api in runner.APIS:  # every operation was sent requests, by one run or the other
        counts = [_tested(o.output) or (0, -1) for o in outcomes if o.api == api]
        tested, total = max(t for t, _ in counts), max(n for _, n in counts)
        if tested != total:
            problems[api] = [f"tested {tested} of {total} operations"]
    assert not any(problems.values()), {run: p for run, p in problems.items() if p}
