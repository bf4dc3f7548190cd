"""A BullMQ proxy worker written the way a user writes one: plain HTTP with `requests`.

No official client exists for taskforcesh/bullmq-proxy, so this is the code its README leads a
user to: add jobs with the static token, receive a job and its lock token, report progress and
logs with that token, and read the logs back page by page (`start` / `length`). The proxy hands
a job to a worker by POSTing `{...job, token}` to the worker's endpoint (the mock does that
dispatch too: tests/dispatch/); here the worker pulls instead, with the control action
`take-next`, which returns that same body, and finishes a job with the control action
`complete`.

Only `requests` (a dependency of jobmock) is needed: no setup, never skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mockserver.server import ServerThread

TOKEN = "jobmock"
QUEUE = "thumbnails"


@dataclass
class HeldJob:
    """A job a worker holds: what the proxy posts to the worker endpoint."""

    id: str
    name: str
    data: Any
    token: str


class ProxyClient:
    """The producer's and the worker's side of the proxy's HTTP API."""

    def __init__(self, base_url: str, token: str, http: requests.Session) -> None:
        self.base = base_url.rstrip("/")
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}"}

    def add_jobs(self, queue: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = self.http.post(f"{self.base}/queues/{queue}/jobs", json=jobs,
                                headers=self.auth, timeout=5)
        answer.raise_for_status()
        added: list[dict[str, Any]] = answer.json()
        return added

    def job(self, queue: str, job_id: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.base}/queues/{queue}/jobs/{job_id}", headers=self.auth,
                               timeout=5)
        answer.raise_for_status()
        job: dict[str, Any] = answer.json()
        return job

    def jobs(self, queue: str, statuses: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.base}/queues/{queue}/jobs", headers=self.auth,
                               params={"statuses": statuses}, timeout=5)
        answer.raise_for_status()
        listed: dict[str, Any] = answer.json()
        return listed

    def progress(self, queue: str, job: HeldJob, value: Any) -> requests.Response:
        return self.http.post(f"{self.base}/queues/{queue}/jobs/{job.id}/progress", json=value,
                              headers={"Authorization": f"Bearer {job.token}"}, timeout=5)

    def log(self, queue: str, job: HeldJob, line: str) -> requests.Response:
        return self.http.post(f"{self.base}/queues/{queue}/jobs/{job.id}/logs", json=line,
                              headers={"Authorization": f"Bearer {job.token}"}, timeout=5)

    def logs(self, queue: str, job_id: str, page_size: int) -> Iterator[tuple[int, list[str]]]:
        """Every page of a job's logs: (count, lines), `page_size` lines at a time."""
        start = 0
        while True:
            answer = self.http.get(f"{self.base}/queues/{queue}/jobs/{job_id}/logs",
                                   params={"start": start, "length": page_size},
                                   headers=self.auth, timeout=5)
            answer.raise_for_status()
            page = answer.json()
            yield page["count"], page["logs"]
            start += page_size
            if not page["logs"] or start >= page["count"]:
                return


class Dispatcher:
    """Stands in for the proxy's POST to the worker endpoint (the mock's control API)."""

    def __init__(self, server_url: str, http: requests.Session) -> None:
        self.actions = f"{server_url}/__jobmock/apis/bullmq/actions"
        self.http = http

    def take_next(self, queue: str) -> HeldJob:
        answer = self.http.post(f"{self.actions}/take-next", json={"queue": queue}, timeout=5)
        answer.raise_for_status()
        posted = answer.json()["job"]
        return HeldJob(posted["id"], posted["name"], posted["data"], posted["token"])

    def complete(self, queue: str, job: HeldJob, returnvalue: Any) -> dict[str, Any]:
        answer = self.http.post(f"{self.actions}/complete", timeout=5,
                                json={"queue": queue, "job_id": job.id,
                                      "returnvalue": returnvalue})
        answer.raise_for_status()
        done: dict[str, Any] = answer.json()
        return done


def make_thumbnails(proxy: ProxyClient, job: HeldJob) -> dict[str, Any]:
    """The user's processor: one log line per size, progress after each, a result."""
    sizes = job.data["sizes"]
    for done, size in enumerate(sizes, start=1):
        assert proxy.log(QUEUE, job, f"resized {job.data['image']} to {size}px").text == "OK"
        assert proxy.progress(QUEUE, job, {"done": done, "of": len(sizes)}).text == "OK"
    return {"thumbnails": [f"{job.data['image']}@{size}" for size in sizes]}


@pytest.fixture
def clients(live_server: Callable[..., ServerThread]) -> Iterator[tuple[ProxyClient, Dispatcher]]:
    server = live_server(apis=("bullmq",))
    with requests.Session() as http:
        yield ProxyClient(f"{server.url}/bullmq", TOKEN, http), Dispatcher(server.url, http)


def test_worker_processes_a_job_with_progress_and_paged_logs(
    clients: tuple[ProxyClient, Dispatcher],
) -> None:
    proxy, dispatcher = clients
    sizes = [32, 64, 128, 256, 512, 1024, 2048]
    added = proxy.add_jobs(QUEUE, [
        {"name": "resize", "data": {"image": "cat.png", "sizes": sizes}},
        {"name": "resize", "data": {"image": "dog.png", "sizes": [16]}},
        {"name": "resize", "data": {"image": "owl.png", "sizes": [16]},
         "opts": {"jobId": "owl"}},
    ])
    assert [(j["id"], j["name"], j["data"]["image"]) for j in added] == [
        ("1", "resize", "cat.png"), ("2", "resize", "dog.png"), ("owl", "resize", "owl.png")]
    assert proxy.jobs(QUEUE, "waiting")["counts"] == {"waiting": 3, "paused": 0}

    job = dispatcher.take_next(QUEUE)  # first in, first out
    assert (job.id, job.name, job.data["image"]) == ("1", "resize", "cat.png")
    assert job.token
    active = proxy.job(QUEUE, job.id)
    assert (active["attemptsStarted"], active["progress"]) == (1, 0)
    assert active["processedOn"] >= active["timestamp"]
    assert proxy.jobs(QUEUE, "waiting,active")["counts"] == {"waiting": 2, "active": 1,
                                                            "paused": 0}

    result = make_thumbnails(proxy, job)
    assert proxy.job(QUEUE, job.id)["progress"] == {"done": 7, "of": 7}

    pages = list(proxy.logs(QUEUE, job.id, page_size=3))
    assert [count for count, _ in pages] == [7, 7, 7]
    assert [len(lines) for _, lines in pages] == [3, 3, 1]
    assert [line for _, lines in pages for line in lines] == [
        f"resized cat.png to {size}px" for size in sizes]

    # The lock token is the job's own: it does not open another job.
    other = HeldJob("2", "resize", {}, job.token)
    refused = proxy.log(QUEUE, other, "not mine")
    assert (refused.status_code, refused.text) == (401, "Unauthorized")

    finished = dispatcher.complete(QUEUE, job, result)
    assert (finished["id"], finished["returnvalue"]) == ("1", result)
    back = proxy.job(QUEUE, job.id)
    assert back["returnvalue"] == {"thumbnails": [f"cat.png@{size}" for size in sizes]}
    assert (back["attemptsMade"], back["progress"]) == (1, {"done": 7, "of": 7})
    assert back["finishedOn"] >= back["processedOn"]
    assert "failedReason" not in back
    late = proxy.log(QUEUE, job, "after the lock was released")
    assert (late.status_code, late.text) == (401, "Unauthorized")
    assert [count for count, _ in proxy.logs(QUEUE, job.id, page_size=10)] == [7]

    counts = proxy.jobs(QUEUE, "waiting,active,completed")
    assert counts["counts"] == {"waiting": 2, "active": 0, "completed": 1, "paused": 0}
    assert [j["id"] for j in counts["jobs"]] == ["owl", "2", "1"]


def test_worker_drains_the_queue_in_order(clients: tuple[ProxyClient, Dispatcher]) -> None:
    proxy, dispatcher = clients
    proxy.add_jobs(QUEUE, [{"name": "resize", "data": {"image": f"{n}.png", "sizes": [8, 16]}}
                           for n in range(3)])
    seen = []
    for _ in range(3):
        job = dispatcher.take_next(QUEUE)
        seen.append(job.data["image"])
        dispatcher.complete(QUEUE, job, make_thumbnails(proxy, job))
    assert seen == ["0.png", "1.png", "2.png"]
    listed = proxy.jobs(QUEUE, "completed")
    assert listed["counts"] == {"completed": 3}
    assert sorted(j["returnvalue"]["thumbnails"][0] for j in listed["jobs"]) == [
        "0.png@8", "1.png@8", "2.png@8"]
    with pytest.raises(requests.HTTPError) as empty:
        dispatcher.take_next(QUEUE)
    assert empty.value.response.status_code == 409
