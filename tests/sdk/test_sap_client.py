"""The official SAP Job Scheduling client, npm `@sap/jobs-client` 1.9.1, against the mock.

`tests/sdk/sap/flow.js` uses the client as its users do; only the base URL (`<server>/sap`:
the client appends `/scheduler`) and the token differ from a real binding. The token is what
`jobmock token sap` prints: an HS256 JWT signed with the mock's secret, valid for an hour (the
client refuses to send a token that expires within five minutes). The script creates a job
whose `time: now` schedule fires, adds a second schedule, reads the job back, reads the run
logs, completes the run with `updateJobRunLog` (the seed operation) and reads it back as
COMPLETED; then it provokes errors, which must reach the caller with the mock's message.

Needs Node.js and `bash tests/sdk/sap/setup.sh` (npm ci). Without them the test is skipped,
or fails when CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from mockserver.cli import main as jobmock_cli
from mockserver.server import ServerThread

SAP_DIR = Path(__file__).parent / "sap"
SETUP = "tests/sdk/sap/setup.sh"
CLIENT_VERSION = "1.9.1"
RUN_MESSAGE = "Long running operation to process employee salaries succeeded"
MISSING_RUN = "00000000-0000-4000-8000-000000000000"


def _setup_missing(why: str) -> None:
    message = f"{why}; run `bash {SETUP}` first"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _setup_missing("Node.js (node) is not on PATH")
    assert node is not None
    manifest = SAP_DIR / "node_modules" / "@sap" / "jobs-client" / "package.json"
    if not manifest.is_file():
        _setup_missing("@sap/jobs-client is not installed in tests/sdk/sap/node_modules")
    installed = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    if installed != CLIENT_VERSION:
        _setup_missing(f"@sap/jobs-client {installed} is installed, the test pins "
                       f"{CLIENT_VERSION}")
    return node


def _token(*options: str) -> str:
    """What `jobmock token sap [options]` prints."""
    result = CliRunner().invoke(jobmock_cli, ["token", "sap", *options])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _run_flow(node: str, server: ServerThread) -> dict[str, Any]:
    token = _token()
    wrong = _token("--secret", "not-the-mock-secret")
    done = subprocess.run([node, "flow.js", server.url, token, wrong], cwd=SAP_DIR,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"flow.js failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _journal(server: ServerThread) -> list[dict[str, Any]]:
    reply = requests.get(f"{server.url}/__jobmock/journal", params={"api": "sap", "limit": 100},
                         timeout=5)
    reply.raise_for_status()
    entries: list[dict[str, Any]] = reply.json()["entries"]
    return sorted(entries, key=lambda entry: entry["seq"])


def test_official_client_runs_the_seed_flow(
        live_server: Callable[..., ServerThread]) -> None:
    node = _node()
    server = live_server(apis=("sap",))
    out = _run_flow(node, server)

    # createJob: the job and its schedule, `data` as a JSON string as SAP returns it.
    created = out["created"]
    job_id = created["_id"]
    assert isinstance(job_id, int)
    assert (created["name"], created["active"], created["httpMethod"]) == (
        "processSalaries", True, "POST")
    assert created["action"] == "https://payroll.example.com/jobs/salaries"
    [schedule] = created["schedules"]
    schedule_id = schedule["scheduleId"]
    assert (schedule["type"], schedule["active"], schedule["jobId"]) == ("one-time", True,
                                                                         job_id)
    assert json.loads(schedule["data"]) == {"month": "2024-05"}

    added = out["addedSchedule"]
    assert (added["type"], added["cron"], added["active"], added["jobId"]) == (
        "recurring", "* * * * * */10 0", False, job_id)
    assert added["scheduleId"] != schedule_id

    # fetchJob by id (with schedules, `data` now an object) and by name; fetchJobs.
    fetched = out["fetched"]
    assert (fetched["_id"], fetched["name"]) == (job_id, "processSalaries")
    by_id = {s["scheduleId"]: s for s in fetched["schedules"]}
    assert set(by_id) == {schedule_id, added["scheduleId"]}
    assert by_id[schedule_id]["data"] == {"month": "2024-05"}
    assert out["fetchedByName"]["_id"] == job_id
    assert "schedules" not in out["fetchedByName"]
    jobs = out["jobs"]
    assert jobs["total"] == 1
    assert [(j["jobId"], j["ACTIVECOUNT"], j["INACTIVECOUNT"]) for j in jobs["results"]] == [
        (job_id, 1, 1)]

    # The `time: now` schedule fired once: one run log, RUNNING/TRIGGERED.
    runs = out["runLogs"]
    assert runs["total"] == 1
    [run] = runs["results"]
    run_id = run["runId"]
    assert (run["runStatus"], run["runState"], run["completionTimestamp"]) == (
        "RUNNING", "TRIGGERED", None)
    assert out["runBefore"] == run

    # updateJobRunLog (the seed), then the run log reads back completed.
    assert out["updated"] == {"success": True}
    after = out["runAfter"]
    assert (after["runId"], after["runStatus"], after["runState"], after["runText"]) == (
        run_id, "COMPLETED", "SUCCESS", RUN_MESSAGE)
    assert after["completionTimestamp"] is not None
    assert after["executionTimestamp"] == run["executionTimestamp"]
    assert out["runLogsAfter"]["total"] == 1
    assert out["runLogsAfter"]["results"] == [after]
    assert out["deleted"] == {"success": True}

    # Errors reach the caller as the client's Error, with the status and the mock's message.
    errors = out["errors"]
    assert {name: (e["statusCode"], e["message"]) for name, e in errors.items()} == {
        "missingRun": (404, "Error while fetching run log: Run log not found"),
        "duplicateName": (400, "Error while creating job: job with name 'processSalaries' "
                               "already exists"),
        "invalidJob": (400, "Error while creating job: 'action' is a required property"),
        "wrongToken": (401, "Unauthorized"),
        "deletedJob": (404, "Error while fetching job details: Job not found"),
    }

    # What the mock saw: the paths and bodies the client sent, every exchange documented.
    journal = _journal(server)
    assert [(e["operation"], e["status"]) for e in journal] == [
        ("createJob", 201), ("createJobSchedule", 201), ("listJobs", 200), ("listJobs", 200),
        ("listJobs", 200), ("listJobRunLogs", 200), ("getJobRunLog", 200),
        ("updateJobRunLog", 200), ("getJobRunLog", 200), ("listJobRunLogs", 200),
        ("getJobRunLog", 404), ("createJob", 400), ("createJob", 400), ("listJobs", 401),
        ("deleteJob", 200), ("listJobs", 404)]
    assert all(not e["response_violations"] and e["fault"] is None for e in journal)
    assert all(not e["request_issues"] for e in journal if e["status"] < 400)
    [seed] = [e for e in journal if e["operation"] == "updateJobRunLog"]
    assert seed["method"] == "PUT"
    assert seed["path"] == f"/sap/scheduler/jobs/{job_id}/schedules/{schedule_id}/runs/{run_id}"
    assert json.loads(seed["request_body"]) == {"success": True, "message": RUN_MESSAGE}
    sent = [json.loads(e["response_body"])["message"] for e in journal if e["status"] >= 400]
    assert sent == [errors[name]["message"] for name in
                    ("missingRun", "duplicateName", "invalidJob", "wrongToken", "deletedJob")]
