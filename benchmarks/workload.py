"""The benchmark's workload: state set up through the API, then the requests wrk sends.

`set_up(base)` creates, over real HTTP on a running mock, what the seed operations act on
(SAP jobs with a fired schedule, NeMo jobs, BullMQ jobs taken by a worker with their lock
tokens, Intuned jobs with triggered runs, Nimble jobs) and returns their ids as a `State`.
`plan(state, prefix)` turns that state into the requests of every operation in the mix: the
seed operations of all five APIs, a few companions (reads and writes), and invalid requests
the server must refuse with a 4xx. Each operation has several variants (different ids,
paths and bodies), which wrk cycles through.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = ["API_NAMES", "Request", "State", "plan", "set_up"]

API_NAMES = ("sap", "nemo", "bullmq", "intuned", "nimble")
VARIANTS = 8  # ids per operation: requests touch several resources, not one
BEARER = {"Authorization": "Bearer jobmock"}
BASIC = {"Authorization": "Basic " + base64.b64encode(b"jobmock:jobmock").decode()}
API_KEY = {"x-api-key": "jobmock"}
WORKSPACE = "123e4567-e89b-12d3-a456-426614174000"
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Request:
    """One request of the workload: the operation it exercises and what is sent."""

    op: str
    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None
    expect: int = 200


@dataclass
class State:
    """Ids of what `set_up` created (Prism is stateless: it gets the same ids)."""

    sap_runs: list[tuple[str, str, str]] = field(default_factory=list)
    nemo_jobs: list[str] = field(default_factory=list)
    bullmq_jobs: list[tuple[str, str]] = field(default_factory=list)
    intuned_runs: list[tuple[str, str]] = field(default_factory=list)
    nimble_jobs: list[str] = field(default_factory=list)


def set_up(base: str) -> State:
    """Create the workload's resources on the mock at `base` (its server root)."""
    state = State()
    with requests.Session() as http:
        for index in range(VARIANTS):
            state.sap_runs.append(_sap_run(http, base, index))
            state.nemo_jobs.append(_nemo_job(http, base, index))
            state.bullmq_jobs.append(_bullmq_job(http, base, index))
            state.intuned_runs.append(_intuned_run(http, base, index))
            state.nimble_jobs.append(_nimble_job(http, base, index))
    return state


def _ok(response: requests.Response, *statuses: int) -> Any:
    if response.status_code not in (statuses or (200,)):
        raise RuntimeError(f"set-up {response.request.method} {response.url}: "
                           f"{response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


def _sap_run(http: requests.Session, base: str, index: int) -> tuple[str, str, str]:
    jobs = f"{base}/sap/scheduler/jobs"
    job = _ok(http.post(jobs, headers=BASIC, timeout=10, json={
        "name": f"bench-{index}", "description": "benchmark job",
        "action": "https://example.com/run", "active": True,
        "httpMethod": "POST", "schedules": [{"time": "now", "active": True}]}), 201)
    job_id, schedule_id = job["_id"], job["schedules"][0]["scheduleId"]
    runs = _ok(http.get(f"{jobs}/{job_id}/schedules/{schedule_id}/runs", headers=BASIC,
                        timeout=10))
    return str(job_id), str(schedule_id), str(runs["results"][0]["runId"])


def _nemo_job(http: requests.Session, base: str, index: int) -> str:
    name = f"bench-{index}"
    _ok(http.post(f"{base}/nemo/apis/jobs/v2/workspaces/default/jobs", timeout=10, json={
        "name": name, "spec": {"model": "m"}, "source": "bench",
        "platform_spec": {"steps": [{"name": "run", "executor": {"provider": "cpu"}}]}}), 201)
    return name


def _bullmq_job(http: requests.Session, base: str, index: int) -> tuple[str, str]:
    queue = f"bench-{index}"
    added = _ok(http.post(f"{base}/bullmq/queues/{queue}/jobs", headers=BEARER, timeout=10,
                          json=[{"name": "bench", "data": {"n": index}}]))
    handed = _ok(http.post(f"{base}/__jobmock/apis/bullmq/actions/take-next", timeout=10,
                           json={"queue": queue}))
    return f"{queue}/jobs/{added[0]['id']}", str(handed["token"])


def _intuned_run(http: requests.Session, base: str, index: int) -> tuple[str, str]:
    jobs = f"{base}/intuned/{WORKSPACE}/projects/shop/jobs"
    job_id = f"bench-{index}"
    _ok(http.post(jobs, headers=API_KEY, timeout=10, json={
        "id": job_id, "configuration": {"retry": {"maximumAttempts": 2}},
        "payload": [{"apiName": "scrape", "parameters": {"page": index}}]}), 201)
    run = _ok(http.post(f"{jobs}/{job_id}/trigger", headers=API_KEY, timeout=10))
    return job_id, str(run["jobRunId"])


def _nimble_job(http: requests.Session, base: str, index: int) -> str:
    job = _ok(http.post(f"{base}/nimble/v1/jobs", headers=BEARER, timeout=10, json={
        "name": f"bench-{index}", "agent_name": "amazon_product_page"}), 201)
    return str(job["id"])


def plan(state: State, prefix: bool = True) -> dict[str, list[Request]]:
    """Every API's requests; paths start with the API's mount (`/nimble`) when `prefix`."""
    return {
        "sap": _sap(state, "/sap" if prefix else ""),
        "nemo": _nemo(state, "/nemo" if prefix else ""),
        "bullmq": _bullmq(state, "/bullmq" if prefix else ""),
        "intuned": _intuned(state, "/intuned" if prefix else ""),
        "nimble": _nimble(state, "/nimble" if prefix else ""),
    }


def _body(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _sap(state: State, mount: str) -> list[Request]:
    found: list[Request] = []
    for n, (job, schedule, run) in enumerate(state.sap_runs):
        url = f"{mount}/scheduler/jobs/{job}/schedules/{schedule}/runs/{run}"
        found += [
            Request("sap.updateJobRunLog", "PUT", url, {**BASIC, **JSON},
                    _body({"success": n % 2 == 0, "message": f"batch {n} processed"})),
            Request("sap.getJobRunLog", "GET", url, BASIC),
            Request("sap.invalid", "PUT", url, {**BASIC, **JSON}, _body({"success": "yes"}),
                    400),
        ]
    return found


def _nemo(state: State, mount: str) -> list[Request]:
    found: list[Request] = []
    for n, name in enumerate(state.nemo_jobs):
        job = f"{mount}/apis/jobs/v2/workspaces/default/jobs/{name}"
        found += [
            Request("nemo.updateStatusDetails", "PATCH", f"{job}/status-details", JSON,
                    _body({"progress": n * 10, "message": f"batch {n} of 10"})),
            Request("nemo.getJob", "GET", job, {}),
            Request("nemo.invalid", "GET", f"{mount}/apis/jobs/v2/workspaces/default/jobs"
                    f"?page=x{n}", {}, expect=422),
        ]
    return found


def _bullmq(state: State, mount: str) -> list[Request]:
    found: list[Request] = []
    for n, (job, token) in enumerate(state.bullmq_jobs):
        url = f"{mount}/queues/{job}"
        lock = {"Authorization": f"Bearer {token}", **JSON}
        found += [
            Request("bullmq.updateJobProgress", "POST", f"{url}/progress", lock, _body(n * 10)),
            Request("bullmq.getJobLogs", "GET", f"{url}/logs?start=0&length=10", BEARER),
            Request("bullmq.addJobLog", "POST", f"{url}/logs", lock, _body(f"line {n}")),
            Request("bullmq.invalid", "GET", f"{url}/logs?start=x{n}", BEARER, expect=400),
        ]
    return found


def _intuned(state: State, mount: str) -> list[Request]:
    jobs = f"{mount}/{WORKSPACE}/projects/shop/jobs"
    found: list[Request] = []
    for job, run in state.intuned_runs:
        found += [
            Request("intuned.getJobRun", "GET", f"{jobs}/{job}/runs/{run}", API_KEY),
            Request("intuned.getJob", "GET", f"{jobs}/{job}", API_KEY),
            Request("intuned.invalid", "GET", f"{jobs}/{job}/runs/{run}", {}, expect=401),
        ]
    return found


def _nimble(state: State, mount: str) -> list[Request]:
    found: list[Request] = []
    for n, job in enumerate(state.nimble_jobs):
        url = f"{mount}/v1/jobs/{job}"
        found += [
            Request("nimble.updateJob", "PATCH", url, {**BEARER, **JSON}, _body({
                "display_name": f"Prices {n}", "schedule": {"cron": "0 6 * * *",
                                                            "enabled": n % 2 == 0}})),
            Request("nimble.getJob", "GET", url, BEARER),
            Request("nimble.invalid", "PATCH", url, {**BEARER, **JSON},
                    _body({"schedule": n}), 422),
        ]
    return found
