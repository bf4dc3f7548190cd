"""`jobmock test` against a mock started as a separate process, over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mockserver.cli import main


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start `jobmock serve --port 0 ...` as a process; returns the server root URL."""
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--api", "nimble",
             "--random-seed", "1", *args], stdout=subprocess.PIPE, text=True)
        processes.append(process)
        assert process.stdout is not None
        first = process.stdout.readline()
        process.stdout.readline()  # the control line
        return first.split()[1].rsplit("/", 1)[0]

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["test", *args])
    return result.exit_code, result.output


def test_contracts_hold_against_a_served_mock(serve: Callable[..., str],
                                              tmp_path: Path) -> None:
    root = serve()
    junit = tmp_path / "junit.xml"
    code, output = run("--api", "nimble", "--base-url", f"{root}/nimble", "--max-examples", "5",
                       "--seed", "3", "--junit-xml", str(junit))
    assert code == 0, output
    assert f"nimble: testing {root}/nimble\n" in output
    assert "ok   nimble stateful" in output
    assert "PATCH  /v1/jobs/{job_id}" in output
    assert "nimble: 37 passed, 0 failed" in output
    assert 'failures="0"' in junit.read_text(encoding="utf-8")


def test_readonly_sends_only_safe_methods(serve: Callable[..., str]) -> None:
    root = serve()
    code, output = run("--api", "nimble", "--base-url", f"{root}/nimble", "--max-examples", "5",
                       "--readonly")
    assert code == 0, output
    assert "read-only run" in output
    entries = requests.get(f"{root}/__jobmock/journal", timeout=10).json()["entries"]
    assert entries and {e["method"] for e in entries} == {"GET"}


def test_a_broken_contract_exits_1_with_a_reproduction(serve: Callable[..., str]) -> None:
    root = serve("--token", "another-secret")
    code, output = run("--api", "nimble", "--base-url", f"{root}/nimble", "--max-examples", "5",
                       "--no-stateful", "--operations", "list_jobs*")
    assert code == 1
    assert "[valid-credentials-accepted] list_jobs_v1_jobs_get" in output
    assert "Reproduce with:\n  curl -sS -X GET" in output


def test_base_url_needs_exactly_one_api() -> None:
    code, output = run("--base-url", "http://127.0.0.1:9/nimble")
    assert code == 2 and "exactly one --api" in output
