"""BullMQ proxy mock over real HTTP: the worker flow of the proxy's own e2e test.

Add a job, register a worker, let the proxy hand the job out (control API `take-next`), report
progress and add logs with the lock token (the seed operations), finish it, and read it back.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from mockserver.server import ServerThread

AUTH = {"Authorization": "Bearer jobmock"}


def test_worker_flow_progress_and_logs_over_http(
    live_server: Callable[..., ServerThread],
) -> None:
    server = live_server(apis=("bullmq",))
    base = f"{server.url}/bullmq"
    with requests.Session() as http:
        added = http.post(f"{base}/queues/testQueue-e2e/jobs", headers=AUTH, timeout=5,
                          json=[{"name": "test-job", "data": "test"}])
        assert added.status_code == 200
        job_id = added.json()[0]["id"]
        worker = {"queue": "testQueue-e2e",
                  "endpoint": {"url": "http://127.0.0.1:9/worker", "method": "POST"}}
        assert http.post(f"{base}/workers", json=worker, headers=AUTH, timeout=5).text == "OK"

        handed = http.post(f"{server.url}/__jobmock/apis/bullmq/actions/take-next",
                           json={"queue": "testQueue-e2e"}, timeout=5).json()
        assert handed["job"]["id"] == job_id
        lock = {"Authorization": f"Bearer {handed['token']}"}
        job_url = f"{base}/queues/testQueue-e2e/jobs/{job_id}"
        progress = http.post(f"{job_url}/progress", json=100, headers=lock, timeout=5)
        assert (progress.status_code, progress.text) == (200, "OK")
        for line in ("log message", "second line"):
            assert http.post(f"{job_url}/logs", json=line, headers=lock, timeout=5).text == "OK"

        finished = http.post(f"{server.url}/__jobmock/apis/bullmq/actions/complete", timeout=5,
                             json={"queue": "testQueue-e2e", "job_id": job_id,
                                   "returnvalue": "foo bar"})
        assert finished.status_code == 200

        job = http.get(job_url, headers=AUTH, timeout=5).json()
        assert (job["progress"], job["returnvalue"], job["attemptsMade"]) == (100, "foo bar", 1)
        logs = http.get(f"{job_url}/logs", params={"start": 0, "length": 1}, headers=AUTH,
                        timeout=5)
        assert logs.json() == {"count": 2, "logs": ["log message"]}
        late = http.post(f"{job_url}/logs", json="late", headers=lock, timeout=5)
        assert (late.status_code, late.text) == (401, "Unauthorized")
