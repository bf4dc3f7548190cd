"""The whole default suite of every API (stateless for each operation, then the state
machine), as `jobmock test` runs it, passes against the in-process mock.

Seeded, so that CI runs the same examples every time; `jobmock test` without `--seed` draws
new ones on each run.
"""

from __future__ import annotations

import pytest

from contracts.runner import Options, run_suites
from contracts.targets import local_target
from mockserver.spec import API_NAMES, load_spec


@pytest.mark.parametrize("api", API_NAMES)
def test_default_suite_passes_and_reaches_every_operation(api: str) -> None:
    report = run_suites(local_target(api), Options(seed=20261123))

    assert report.ok, "\n\n".join(str(o.failure or o.error) for o in report.failures)
    answered = {operation for (operation, status) in report.coverage if 200 <= status < 300}
    every = {op.operation_id for op in load_spec(api).operations}
    assert every - answered == set(), "operations never answered with a 2xx"
    print(f"{api}: {len(report.outcomes)} suites, {sum(report.coverage.values())} requests")
