"""`jobmock serve` on a real clock: runs finish by themselves, workers get jobs, and
`--freeze` turns automatic progress off. These wait in real time (bounded polling)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.dispatch.conftest import Receiver

AUTH = {"Authorization": "Bearer jobmock"}


def _until(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start `jobmock serve --port 0 ARGS...`; returns its base URL."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--api", "nimble",
             "--api", "bullmq", "--api", "nemo", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(process)
        assert process.stdout is not None
        first = process.stdout.readline()      # "nimble   http://127.0.0.1:PORT/nimble ..."
        return first.split()[1].rsplit("/", 1)[0]

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _nimble_run(base: str) -> tuple[str, Callable[[], str]]:
    job = requests.post(f"{base}/nimble/v1/jobs", json={"name": "n", "agent_name": "a"},
                        headers=AUTH, timeout=10).json()
    run = requests.post(f"{base}/nimble/v1/jobs/{job['id']}/runs", headers=AUTH,
                        timeout=10).json()

    def status() -> str:
        return str(requests.get(f"{base}/nimble/v1/jobs/runs/{run['id']}", headers=AUTH,
                                timeout=10).json()["status"])

    return run["id"], status


def test_serve_finishes_runs_by_itself(serve: Callable[..., str]) -> None:
    base = serve("--run-seconds", "0.3")
    _, status = _nimble_run(base)
    assert _until(lambda: status() == "SUCCESS")
    job = requests.post(f"{base}/nemo/apis/jobs/v2/workspaces/default/jobs", timeout=10,
                        json={"source": "s", "spec": {}, "platform_spec": {
                            "steps": [{"name": "train", "executor": {"provider": "cpu"}}]}})
    assert job.status_code == 201, job.text
    url = f"{base}/nemo/apis/jobs/v2/workspaces/default/jobs/{job.json()['name']}"
    assert _until(lambda: requests.get(url, timeout=10).json()["status"] == "completed")


def test_freeze_leaves_runs_where_they_are(serve: Callable[..., str]) -> None:
    base = serve("--freeze", "--run-seconds", "0.1")
    _, status = _nimble_run(base)
    assert not _until(lambda: status() != "PENDING", seconds=1.0)


def test_serve_posts_jobs_to_a_registered_worker(serve: Callable[..., str],
                                                 receiver: Receiver) -> None:
    base = serve()
    requests.post(f"{base}/bullmq/workers", headers=AUTH, timeout=10, json={
        "queue": "emails", "endpoint": {"url": receiver.url, "method": "POST"}})
    added: Any = requests.post(f"{base}/bullmq/queues/emails/jobs", headers=AUTH, timeout=10,
                               json=[{"name": "n", "data": {"x": 1}}]).json()
    receiver.wait_for(1)
    job_url = f"{base}/bullmq/queues/emails/jobs/{added[0]['id']}"
    assert _until(lambda: requests.get(job_url, headers=AUTH, timeout=10).json().get(
        "returnvalue") == {"ok": True})
