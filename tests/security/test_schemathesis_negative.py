"""Schemathesis (dev extra, `schemathesis==4.32.5`) in negative mode against a watched server.

For each of the five APIs at once: `st run specs/<api>.yaml --mode negative --phases
coverage,fuzzing` with every check on (tests/sdk/schemathesis/schemathesis.toml and
hooks.py: settings and credentials), within JOBMOCK_ST_NEGATIVE_MAX_TIME seconds (15 by
default) per API. Schemathesis generates only invalid requests (wrong types, missing fields,
bad headers, out-of-range values...). The test asserts each run passed, then counts what the
server saw: the number of requests (printed, `pytest -rP`), zero 5xx, zero tracebacks.

Without schemathesis installed the test is skipped, or fails when `CI=true`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.security.conftest import Watched

ROOT = Path(__file__).resolve().parents[2]
ST_DIR = ROOT / "tests" / "sdk" / "schemathesis"
APIS = ("sap", "nemo", "bullmq", "intuned", "nimble")
BUDGET = int(os.environ.get("JOBMOCK_ST_NEGATIVE_MAX_TIME", "15"))


def _command(api: str, url: str) -> list[str]:
    return [sys.executable, "-m", "schemathesis.cli", "--config-file",
            str(ST_DIR / "schemathesis.toml"), "run", str(ROOT / "specs" / f"{api}.yaml"),
            "--url", f"{url}/{api}", "--mode", "negative", "--phases", "coverage,fuzzing",
            "--max-time", str(BUDGET), "--max-examples", "20"]


@pytest.fixture
def schemathesis_installed() -> None:
    if importlib.util.find_spec("schemathesis") is None:
        message = "schemathesis is not installed; run: pip install -e '.[dev]'"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_schemathesis_negative_mode_finds_no_server_error(
        schemathesis_installed: None, watched_server: Callable[..., Watched]) -> None:
    server = watched_server(apis=APIS)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(ST_DIR / "hooks.py"), "NO_COLOR": "1",
           "COLUMNS": "100"}
    runs = {api: subprocess.Popen(_command(api, server.url), cwd=ROOT, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for api in APIS}
    outputs = {api: run.communicate(timeout=BUDGET * 10)[0] for api, run in runs.items()}
    generated = {api: _generated(text) for api, text in outputs.items()}
    sent = sum(server.statuses.values())
    print(f"schemathesis negative mode: {sent} requests reached the mock; test cases "
          f"generated per API {generated}; statuses {dict(sorted(server.statuses.items()))}; "
          f"5xx: {server.server_errors()}; tracebacks: {len(server.log.tracebacks())}")
    failed = {api: outputs[api][-3000:] for api, run in runs.items() if run.returncode != 0}
    assert not failed, failed
    assert all(count > 0 for count in generated.values()), generated
    assert server.server_errors() == 0
    assert not server.log.tracebacks()


def _generated(output: str) -> int:
    found = re.search(r"(\d+) generated", output)
    return int(found.group(1)) if found else 0
