"""Intuned over real HTTP: create a job, trigger it, finish the run, read it with the seed GET."""

from __future__ import annotations

from collections.abc import Callable

import requests

from mockserver.server import ServerThread

WS = "123e4567-e89b-12d3-a456-426614174000"
KEY = {"x-api-key": "jobmock"}


def test_seed_flow_over_http(live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("intuned",))
    jobs = f"{server.url}/intuned/{WS}/projects/shop/jobs"
    job = {"id": "nightly", "configuration": {"retry": {"maximumAttempts": 2}},
           "payload": [{"apiName": "scrape", "parameters": {"page": n}} for n in (1, 2, 3)],
           "sink": {"type": "webhook", "url": "https://example.com/hook"}}
    created = requests.post(jobs, json=job, headers=KEY, timeout=5)
    assert (created.status_code, created.json()) == (201, {"id": "nightly", "message": "created"})

    triggered = requests.post(f"{jobs}/nightly/trigger", headers=KEY, timeout=5)
    assert triggered.status_code == 200
    run_id = triggered.json()["jobRunId"]
    moved = requests.post(f"{server.url}/__jobmock/apis/intuned/actions/set-run-status",
                          json={"workspace_id": WS, "project_name": "shop",
                                "job_id": "nightly", "run_id": run_id, "status": "SUCCESS",
                                "failed_runs": 1}, timeout=5)
    assert moved.status_code == 200, moved.text

    seed = requests.get(f"{jobs}/nightly/runs/{run_id}", headers=KEY, timeout=5)
    assert seed.status_code == 200
    assert seed.headers["content-type"] == "application/json"
    run, results = seed.json()["jobRun"], seed.json()["results"]
    assert (run["id"], run["job_id"], run["type"], run["status"]) == (
        run_id, "nightly", "MANUAL", "SUCCESS")
    assert (run["payloads"], run["successful_runs"], run["failed_runs"]) == (3, 2, 1)
    assert run["end_time"] is not None and run["end_time"] > run["start_time"]
    assert run["job_configuration_snapshot"]["sink"] == job["sink"]
    assert (results["format"], results["key"]) == ("json", f"results/{run_id}.json")

    listed = requests.get(f"{jobs}/nightly/runs", headers=KEY, timeout=5).json()
    assert (listed["totalCount"], listed["jobRuns"]) == (1, [run])
    unauthorized = requests.get(f"{jobs}/nightly/runs/{run_id}", timeout=5)
    assert (unauthorized.status_code, unauthorized.json()["code"]) == (401, "unauthorized")
