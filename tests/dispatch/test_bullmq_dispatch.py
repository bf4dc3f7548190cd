"""BullMQ: a registered worker endpoint gets each waiting job, as the proxy posts it.

Real HTTP both ways: the mock (the `jobmock` fixture, virtual clock) calls the receiver, and
the receiver calls the mock back with the job's lock token.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.dispatch.conftest import Received, Receiver

AUTH = {"Authorization": "Bearer jobmock"}


def _register(base: str, queue: str, url: str, **extra: Any) -> None:
    endpoint = {"url": url, "method": "POST", **extra.pop("endpoint", {})}
    answer = requests.post(f"{base}/workers", json={"queue": queue, "endpoint": endpoint,
                                                     **extra}, headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text


def _add(base: str, queue: str, count: int = 1, **opts: Any) -> list[str]:
    jobs = [{"name": f"job{i}", "data": {"n": i}, "opts": opts} for i in range(count)]
    answer = requests.post(f"{base}/queues/{queue}/jobs", json=jobs, headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    return [job["id"] for job in answer.json()]


def _job(base: str, queue: str, job_id: str) -> dict[str, Any]:
    answer = requests.get(f"{base}/queues/{queue}/jobs/{job_id}", headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_worker_reports_progress_and_logs_with_its_token_then_completes(
        jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("bullmq")

    def work(received: Received) -> tuple[int, Any]:
        body = received.json()
        job, token = body["job"], body["token"]
        worker_auth = {"Authorization": f"Bearer {token}"}
        url = f"{base}/queues/emails/jobs/{job['id']}"
        assert requests.post(f"{url}/progress", json=50, headers=worker_auth,
                             timeout=10).status_code == 200
        assert requests.post(f"{url}/logs", json="sending", headers=worker_auth,
                             timeout=10).status_code == 200
        return 200, {"sent": job["data"]["n"]}

    receiver.answer = work
    _register(base, "emails", f"{receiver.url}/work",
              endpoint={"headers": {"X-Worker": "w1"}})
    (job_id,) = _add(base, "emails")
    jobmock.advance(0)

    (call,) = receiver.wait_for(1)
    assert call.method == "POST" and call.path == "/work"
    assert call.headers["x-worker"] == "w1"
    assert call.json()["job"]["id"] == job_id and call.json()["job"]["data"] == {"n": 0}
    job = _job(base, "emails", job_id)
    assert job["returnvalue"] == {"sent": 0}
    assert job["progress"] == 50 and job["attemptsMade"] == 1 and "finishedOn" in job
    logs = requests.get(f"{base}/queues/emails/jobs/{job_id}/logs", headers=AUTH, timeout=10)
    assert logs.json() == {"count": 1, "logs": ["sending"]}
    # The lock is released with the job: the token no longer works.
    late = requests.post(f"{base}/queues/emails/jobs/{job_id}/progress", json=99, timeout=10,
                         headers={"Authorization": f"Bearer {call.json()['token']}"})
    assert late.status_code == 401
    outbound = [e for e in jobmock.journal("bullmq") if e["direction"] == "outbound"]
    assert [(e["operation"], e["status"], e["outcome"]) for e in outbound] == [
        ("worker", 200, "ok")]


def test_text_answer_is_the_returnvalue(jobmock: Any, receiver: Receiver) -> None:
    from werkzeug.wrappers import Response

    base = jobmock.base_url("bullmq")
    receiver.answer = lambda received: Response("done", 200, content_type="text/plain")
    _register(base, "texts", receiver.url)
    (job_id,) = _add(base, "texts")
    jobmock.advance(0)
    assert _job(base, "texts", job_id)["returnvalue"] == "done"


def test_failures_are_retried_after_an_exponential_backoff(jobmock: Any,
                                                            receiver: Receiver) -> None:
    base = jobmock.base_url("bullmq")
    receiver.answer = lambda received: (500, {"error": "boom"})
    _register(base, "flaky", receiver.url)
    (job_id,) = _add(base, "flaky", attempts=3, backoff={"type": "exponential", "delay": 1000})

    jobmock.advance(0)
    assert len(receiver.received) == 1
    job = _job(base, "flaky", job_id)
    assert job["attemptsMade"] == 1 and job["failedReason"] == "INTERNAL SERVER ERROR"
    states = requests.get(f"{base}/queues/flaky/jobs?statuses=delayed", headers=AUTH,
                          timeout=10).json()
    assert states["counts"]["delayed"] == 1
    # (Each reading of the virtual clock adds a millisecond, hence the margins.)
    jobmock.advance(0.9)
    assert len(receiver.received) == 1          # the first backoff is 1 s
    jobmock.advance(0.1)
    assert len(receiver.received) == 2          # then 2 s
    jobmock.advance(1.9)
    assert len(receiver.received) == 2
    jobmock.advance(0.1)
    assert len(receiver.received) == 3
    job = _job(base, "flaky", job_id)
    assert job["attemptsMade"] == 3 and len(job["stacktrace"]) == 3
    failed = requests.get(f"{base}/queues/flaky/jobs?statuses=failed", headers=AUTH,
                          timeout=10).json()
    assert [j["id"] for j in failed["jobs"]] == [job_id]
    jobmock.advance(60)
    assert len(receiver.received) == 3          # no attempts left


def test_a_worker_that_does_not_answer_in_time_fails_the_attempt(
        jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("bullmq")
    release = threading.Event()
    receiver.answer = lambda received: (release.wait(10), (200, {"late": True}))[1]
    _register(base, "slow", receiver.url)   # no timeout given: the proxy's 3000 ms
    (job_id,) = _add(base, "slow")
    try:
        jobmock.advance(0, settle=0)
        token = receiver.wait_for(1)[0].json()["token"]
        jobmock.advance(2.9, settle=0)
        assert "failedReason" not in _job(base, "slow", job_id)
        jobmock.advance(0.1, settle=0)
        job = _job(base, "slow", job_id)
        assert job["failedReason"] == "The operation was aborted."
        assert job["attemptsMade"] == 1 and "returnvalue" in job and job["returnvalue"] is None
    finally:
        release.set()
    jobmock.advance(0)                          # the late answer changes nothing
    assert _job(base, "slow", job_id)["returnvalue"] is None
    progress = requests.post(f"{base}/queues/slow/jobs/{job_id}/progress", json=1, timeout=10,
                             headers={"Authorization": f"Bearer {token}"})
    assert progress.status_code == 401


def test_concurrency_limits_jobs_in_flight(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("bullmq")
    release = threading.Event()
    receiver.answer = lambda received: (release.wait(10), (200, {}))[1]
    _register(base, "wide", receiver.url, endpoint={"timeout": 60_000},
              opts={"concurrency": 2})
    _add(base, "wide", count=3)
    try:
        jobmock.advance(0, settle=0)
        receiver.wait_for(2)
        jobmock.advance(1, settle=0)
        assert len(receiver.received) == 2
        active = requests.get(f"{base}/queues/wide/jobs?statuses=active,waiting", headers=AUTH,
                              timeout=10).json()["counts"]
        assert active["active"] == 2 and active["waiting"] == 1
    finally:
        release.set()
    jobmock.advance(0)
    receiver.wait_for(3)


def test_the_limiter_spaces_job_starts(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("bullmq")
    _register(base, "limited", receiver.url, opts={"concurrency": 5,
                                                   "limiter": {"max": 1, "duration": 1000}})
    _add(base, "limited", count=3)
    jobmock.advance(0)
    assert len(receiver.received) == 1
    jobmock.advance(0.9)
    assert len(receiver.received) == 1
    jobmock.advance(0.1)
    assert len(receiver.received) == 2
    jobmock.advance(1)
    assert len(receiver.received) == 3


def test_removing_the_worker_stops_dispatch(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("bullmq")
    _register(base, "gone", receiver.url)
    _add(base, "gone")
    jobmock.advance(0)
    assert requests.delete(f"{base}/workers/gone", headers=AUTH, timeout=10).status_code == 200
    (job_id,) = _add(base, "gone")
    jobmock.advance(10)
    assert len(receiver.received) == 1
    assert "processedOn" not in _job(base, "gone", job_id)


def test_an_unreachable_worker_fails_the_job(jobmock: Any, receiver: Receiver) -> None:
    base = jobmock.base_url("bullmq")
    url = receiver.url
    receiver.stop()
    _register(base, "nowhere", url)
    (job_id,) = _add(base, "nowhere")
    jobmock.advance(0)
    job = _job(base, "nowhere", job_id)
    assert job["failedReason"] == "Unable to connect. Is the computer able to access the url?"
    (entry,) = [e for e in jobmock.journal("bullmq") if e["direction"] == "outbound"]
    assert entry["outcome"].startswith("unreachable") and entry["status"] == 0
