"""Intuned: runs finish by an outcome policy; the webhook sink gets each payload's result and
notification webhooks hear about terminal states. Real HTTP both ways."""

from __future__ import annotations

from typing import Any

import requests

from tests.dispatch.conftest import Receiver

WS = "123e4567-e89b-12d3-a456-426614174000"
KEY = {"x-api-key": "jobmock"}


def _jobs(jobmock: Any) -> str:
    return f"{jobmock.base_url('intuned')}/{WS}/projects/shop/jobs"


def _create(jobmock: Any, receiver: Receiver, job_id: str = "prices", **extra: Any) -> None:
    body = {"id": job_id, "configuration": {"retry": {"maximumAttempts": 1}},
            "payload": [{"apiName": "list", "parameters": {"page": 1}},
                        {"apiName": "detail", "parameters": {"id": 7}}],
            "sink": {"type": "webhook", "url": f"{receiver.url}/sink",
                     "headers": {"Authorization": "Bearer sink-secret"}},
            "notifications": [{"type": "webhook", "url": f"{receiver.url}/notify"}], **extra}
    answer = requests.post(_jobs(jobmock), json=body, headers=KEY, timeout=10)
    assert answer.status_code == 201, answer.text


def _trigger(jobmock: Any, job_id: str = "prices") -> str:
    answer = requests.post(f"{_jobs(jobmock)}/{job_id}/trigger", headers=KEY, timeout=10)
    assert answer.status_code == 200, answer.text
    run_id: str = answer.json()["jobRunId"]
    return run_id


def _run(jobmock: Any, run_id: str, job_id: str = "prices") -> dict[str, Any]:
    answer = requests.get(f"{_jobs(jobmock)}/{job_id}/runs/{run_id}", headers=KEY, timeout=10)
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()["jobRun"]
    return run


def test_sink_gets_each_payload_result_and_notification_the_end(jobmock: Any,
                                                                receiver: Receiver) -> None:
    _create(jobmock, receiver)
    jobmock.action("intuned", "set-outcome", workspace_id=WS, project_name="shop",
                   job_id="prices", outcomes=["success", "failure"],
                   results=[{"price": 10}, "blocked"], seconds=30)
    run_id = _trigger(jobmock)
    jobmock.advance(29)
    assert receiver.received == [] and _run(jobmock, run_id)["status"] == "PENDING"
    jobmock.advance(1)
    calls = receiver.wait_for(3)
    run = _run(jobmock, run_id)
    assert (run["status"], run["successful_runs"], run["failed_runs"]) == ("COMPLETED", 1, 1)
    assert run["end_time"] is not None
    sink = sorted((c for c in calls if c.path == "/sink"),
                  key=lambda c: c.json()["apiInfo"]["name"])
    assert [c.json()["apiInfo"]["result"] for c in sink] == [
        {"status": "failed", "error": "ApiRunFailed", "message": "blocked", "statusCode": 500},
        {"status": "completed", "result": {"price": 10}, "statusCode": 200}]
    assert sink[1].json()["apiInfo"]["parameters"] == {"page": 1}
    assert sink[0].headers["authorization"] == "Bearer sink-secret"
    assert sink[0].json()["projectJobRun"] == {"id": run_id}
    (note,) = [c for c in calls if c.path == "/notify"]
    assert note.json()["status"] == "COMPLETED" and note.json()["projectJobRun"]["id"] == run_id
    outbound = [e for e in jobmock.journal("intuned") if e["direction"] == "outbound"]
    assert sorted(e["operation"] for e in outbound) == ["notification", "sink", "sink"]
    assert all(e["request_headers"].get("authorization") in (None, "***") for e in outbound)


def test_skip_on_fail_and_apis_to_send_filter_the_sink(jobmock: Any,
                                                       receiver: Receiver) -> None:
    _create(jobmock, receiver, sink={"type": "webhook", "url": f"{receiver.url}/sink",
                                     "skipOnFail": True, "apisToSend": ["list"]},
            notifications=None)
    jobmock.action("intuned", "set-outcome", workspace_id=WS, project_name="shop",
                   job_id="prices", outcomes=["failure", "success"], seconds=1)
    _trigger(jobmock)
    jobmock.advance(1)
    assert receiver.received == []              # "list" failed (skipped), "detail" not sent


def test_pause_holds_a_running_run_and_resume_restarts_it(jobmock: Any,
                                                          receiver: Receiver) -> None:
    _create(jobmock, receiver)
    jobmock.action("intuned", "set-outcome", workspace_id=WS, project_name="shop",
                   job_id="prices", seconds=10)
    run_id = _trigger(jobmock)
    jobmock.advance(5)
    assert requests.post(f"{_jobs(jobmock)}/prices/pause", headers=KEY,
                         timeout=10).status_code == 200
    jobmock.advance(60)
    assert _run(jobmock, run_id)["status"] == "PAUSED" and receiver.received == []
    assert requests.post(f"{_jobs(jobmock)}/prices/resume", headers=KEY,
                         timeout=10).status_code == 200
    jobmock.advance(9)
    assert _run(jobmock, run_id)["status"] == "PENDING"
    jobmock.advance(1)
    assert _run(jobmock, run_id)["status"] == "SUCCESS"
    assert len(receiver.wait_for(3)) == 3


def test_terminate_notifies_without_sink_delivery(jobmock: Any, receiver: Receiver) -> None:
    _create(jobmock, receiver)
    run_id = _trigger(jobmock)                  # frozen: no policy, the run waits
    jobmock.advance(3600)
    assert _run(jobmock, run_id)["status"] == "PENDING"
    answer = requests.post(f"{_jobs(jobmock)}/prices/runs/{run_id}/terminate", headers=KEY,
                           timeout=10)
    assert answer.status_code == 200
    jobmock.advance(0)
    (note,) = receiver.wait_for(1)
    assert note.path == "/notify" and note.json()["status"] == "TERMINATED"
