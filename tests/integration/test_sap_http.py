"""SAP over real HTTP: create a job whose `time: now` schedule fires, report the run's
outcome with the seed PUT (Update Job Run Log), and read the run log back."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import jwt
import requests
from jwt.warnings import InsecureKeyLengthWarning

from mockserver.server import ServerThread


def test_seed_flow_over_http(live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("sap",))
    base = f"{server.url}/sap/scheduler"
    now = int(time.time())
    with warnings.catch_warnings():  # the mock's default secret is shorter than 32 bytes
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = jwt.encode({"sub": "jobmock", "iat": now, "exp": now + 600}, "jobmock",
                           algorithm="HS256")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    created = session.post(f"{base}/jobs", timeout=5, json={
        "name": "processSalaries", "description": "long-running salary processing",
        "action": "https://payroll.example.com/jobs/salaries", "active": True,
        "httpMethod": "POST", "schedules": [{"time": "now", "active": True}]})
    assert created.status_code == 201
    job_id = created.json()["_id"]
    schedule_id = created.json()["schedules"][0]["scheduleId"]
    runs_url = f"{base}/jobs/{job_id}/schedules/{schedule_id}/runs"
    runs = session.get(runs_url, timeout=5).json()
    assert runs["total"] == 1
    run_id = runs["results"][0]["runId"]

    message = "Long running operation to process employee salaries succeeded"
    updated = session.put(f"{runs_url}/{run_id}", timeout=5,
                          json={"success": True, "message": message})
    assert (updated.status_code, updated.json()) == (200, {"success": True})

    run = session.get(f"{runs_url}/{run_id}", timeout=5).json()
    assert (run["runStatus"], run["runState"], run["runText"]) == ("COMPLETED", "SUCCESS",
                                                                   message)
    assert run["completionTimestamp"] is not None
