"""SAP Job Scheduling: schedules fire on the virtual clock and call the job's action URL.

Real HTTP both ways: the mock calls the receiver (the application), and an asynchronous
application reports back with the seed PUT.
"""

from __future__ import annotations

from typing import Any

import requests
from werkzeug.wrappers import Response

from tests.dispatch.conftest import Receiver

AUTH = ("jobmock", "jobmock")


def _create(base: str, action: str, schedule: dict[str, Any], **job: Any) -> dict[str, Any]:
    body = {"name": job.pop("name", "nightly"), "description": "d", "action": action,
            "active": job.pop("active", True), "httpMethod": job.pop("httpMethod", "POST"),
            "schedules": [{"active": True, **schedule}], **job}
    answer = requests.post(f"{base}/scheduler/jobs", json=body, auth=AUTH, timeout=10)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _runs(base: str, job: dict[str, Any]) -> list[dict[str, Any]]:
    schedule_id = job["schedules"][0]["scheduleId"]
    answer = requests.get(f"{base}/scheduler/jobs/{job['_id']}/schedules/{schedule_id}/runs",
                          auth=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    runs: list[dict[str, Any]] = answer.json()["results"]
    return runs


def _states(base: str, job: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["runStatus"], r["runState"]) for r in _runs(base, job)]


def test_sync_action_success(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    job = _create(base, f"{receiver.url}/salaries", {"time": "now", "data": {"month": 1}})
    jobmock.advance(0)
    (call,) = receiver.wait_for(1)
    (run,) = _runs(base, job)
    assert call.method == "POST" and call.path == "/salaries" and call.json() == {"month": 1}
    assert call.headers["x-sap-job-id"] == str(job["_id"])
    assert call.headers["x-sap-job-schedule-id"] == job["schedules"][0]["scheduleId"]
    assert call.headers["x-sap-job-run-id"] == run["runId"]
    assert call.headers["x-sap-scheduler-host"]
    assert (run["runStatus"], run["runState"], run["httpStatus"]) == (
        "COMPLETED", "SUCCESS", 200)
    assert run["completionTimestamp"] is not None
    (entry,) = [e for e in jobmock.journal("sap") if e["direction"] == "outbound"]
    assert (entry["operation"], entry["outcome"], entry["path"]) == (
        "action", "ok", f"{receiver.url}/salaries")


def test_get_action_gets_the_data_as_query(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    _create(base, f"{receiver.url}/check", {"time": "now", "data": {"region": "eu"}},
            httpMethod="GET")
    jobmock.advance(0)
    (call,) = receiver.wait_for(1)
    assert (call.method, call.path, call.query, call.text) == ("GET", "/check", "region=eu", "")
    assert call.headers.get("content-type") is None


def test_async_action_completes_with_the_seed_put(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    receiver.answer = lambda received: Response("", 202)
    job = _create(base, receiver.url, {"time": "now"}, httpMethod="PUT")
    jobmock.advance(0)
    call = receiver.wait_for(1)[0]
    assert call.method == "PUT"
    assert _states(base, job) == [("RUNNING", "ACK_RECVD")]
    jobmock.advance(600)
    url = (f"{base}/scheduler/jobs/{call.headers['x-sap-job-id']}/schedules/"
           f"{call.headers['x-sap-job-schedule-id']}/runs/{call.headers['x-sap-job-run-id']}")
    put = requests.put(url, json={"success": True, "message": "paid"}, auth=AUTH, timeout=10)
    assert put.status_code == 200
    (run,) = _runs(base, job)
    assert (run["runStatus"], run["runState"], run["runText"], run["httpStatus"]) == (
        "COMPLETED", "SUCCESS", "paid", 202)
    jobmock.advance(3600)                       # the async timeout no longer applies
    assert _states(base, job) == [("COMPLETED", "SUCCESS")]


def test_async_action_without_the_seed_put_ends_unknown(jobmock: Any,
                                                        receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    receiver.answer = lambda received: Response("", 202)
    job = _create(base, receiver.url, {"time": "now"})
    jobmock.advance(0)
    jobmock.advance(1799)                       # sap_async_timeout: 1800 s
    assert _states(base, job) == [("RUNNING", "ACK_RECVD")]
    jobmock.advance(2)
    assert _states(base, job) == [("COMPLETED", "UNKNOWN")]


def test_error_status_and_unreachable_action(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    receiver.answer = lambda received: (500, {"error": "db down"})
    failing = _create(base, receiver.url, {"time": "now"}, name="failing")
    jobmock.advance(0)
    (run,) = _runs(base, failing)
    assert (run["runStatus"], run["runState"], run["httpStatus"]) == ("COMPLETED", "ERROR", 500)
    assert "db down" in run["runText"]

    receiver.stop()
    gone = _create(base, receiver.url, {"time": "now"}, name="gone")
    jobmock.advance(0)
    (run,) = _runs(base, gone)
    assert (run["runStatus"], run["runState"], run["httpStatus"]) == (
        "COMPLETED", "REQUEST_ERROR", None)


def test_client_error_status_is_a_request_error(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    receiver.answer = lambda received: (404, {"error": "no route"})
    job = _create(base, receiver.url, {"time": "now"})
    jobmock.advance(0)
    assert _states(base, job) == [("COMPLETED", "REQUEST_ERROR")]


def test_cron_schedule_fires_at_each_match(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    job = _create(base, receiver.url, {"cron": "* * * * * */10 0"})   # every 10 minutes
    jobmock.advance(9 * 60)
    assert receiver.received == []
    jobmock.advance(3600)
    calls = receiver.wait_for(6)
    assert len(calls) == 6 and len(_runs(base, job)) == 6
    assert {c.headers["x-sap-job-run-id"] for c in calls} == {r["runId"] for r in _runs(base, job)}
    schedule_times = sorted(r["scheduleTimestamp"] for r in _runs(base, job))
    assert schedule_times[:2] == ["2026-01-01T00:10:00", "2026-01-01T00:20:00"]


def test_repeat_interval_and_repeat_at(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    every = _create(base, receiver.url, {"repeatInterval": "2 hours"}, name="every")
    daily = _create(base, receiver.url, {"repeatAt": "6.30am"}, name="daily")
    jobmock.advance(24 * 3600)
    assert len(_runs(base, every)) == 12
    (run,) = _runs(base, daily)
    assert run["scheduleTimestamp"] == "2026-01-01T06:30:00"


def test_inactive_jobs_and_schedules_and_end_time(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    off = _create(base, receiver.url, {"repeatInterval": "1 minutes"}, name="off",
                  active=False)
    paused = _create(base, receiver.url, {"repeatInterval": "1 minutes", "active": False},
                     name="paused")
    ending = _create(base, receiver.url, {"repeatInterval": "1 minutes",
                                          "endTime": "2026-01-01 00:05:30"}, name="ending")
    jobmock.advance(3600)
    assert _runs(base, off) == [] and _runs(base, paused) == []
    assert len(_runs(base, ending)) == 5
    details = requests.get(f"{base}/scheduler/jobs/{ending['_id']}?displaySchedules=true",
                           auth=AUTH, timeout=10).json()
    assert details["schedules"][0]["active"] is False


def test_actions_on_hosts_outside_call_hosts_are_not_called(jobmock: Any,
                                                            receiver: Receiver) -> None:
    base = jobmock.base_url("sap")
    job = _create(base, "https://payroll.example.com/run", {"time": "now"})
    jobmock.advance(60)
    assert _states(base, job) == [("RUNNING", "TRIGGERED")]
    assert not [e for e in jobmock.journal("sap") if e["direction"] == "outbound"]


