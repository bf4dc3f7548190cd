"""Durability: under write load, `jobmock serve --workers 2` is SIGKILLed (master and workers at
once) at random moments, restarted on the same store, and every write it answered 2xx is
still there — for SQLite and for Redis."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from served import ServedMock

if TYPE_CHECKING:
    from conftest import StoreUrls

AUTH = {"Authorization": "Bearer jobmock"}
KILLS, WRITERS = 3, 4
LOAD_SECONDS = (0.3, 1.0)  # how long the load runs before each kill (random in this range)


class Acknowledged:
    """What the writers were told was written: log lines and Nimble jobs (id -> name)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines: list[str] = []
        self.jobs: dict[str, str] = {}
        self.failures = 0


class Load:
    """Writer threads posting to whatever `url` currently is; a refused or cut request is an
    unknown outcome (not counted), a 2xx is a promise."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.acknowledged = Acknowledged()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(w,)) for w in range(WRITERS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _write(self, writer: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                self._one_write(writer, n)
            except requests.RequestException:
                self.acknowledged.failures += 1
                time.sleep(0.05)

    def _one_write(self, writer: int, n: int) -> None:
        base, mark = self.url, f"w{writer}-{n}"
        if n % 2:
            reply = requests.post(f"{base}/bullmq/queues/queue-1/jobs/1/logs", json=mark,
                                  headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
            if reply.status_code == 200:
                with self.acknowledged.lock:
                    self.acknowledged.lines.append(mark)
            return
        reply = requests.post(f"{base}/nimble/v1/jobs", json={"name": mark, "agent_name": "a"},
                              headers=AUTH, timeout=10)
        if reply.status_code == 201:
            with self.acknowledged.lock:
                self.acknowledged.jobs[reply.json()["id"]] = mark


def _taken_job(base: str) -> str:
    requests.post(f"{base}/bullmq/queues/queue-1/jobs", json=[{"name": "j", "data": {}}],
                  headers=AUTH, timeout=30).raise_for_status()
    taken = requests.post(f"{base}/__jobmock/apis/bullmq/actions/take-next",
                          json={"queue": "queue-1"}, timeout=30)
    taken.raise_for_status()
    return str(taken.json()["token"])


@pytest.mark.parametrize("store_kind", ["sqlite", "redis"], indirect=True)
def test_sigkill_at_random_moments_loses_no_acknowledged_write(store_urls: StoreUrls,
                                                               tmp_path: Path) -> None:
    rng = random.Random(20261123)
    server = ServedMock(["--store", store_urls.new(), "--workers", "2",
                         "--api", "nimble", "--api", "bullmq"], tmp_path / "serve.log").start()
    load = Load(server.url, _taken_job(server.url))
    try:
        with load:
            for _ in range(KILLS):
                time.sleep(rng.uniform(*LOAD_SECONDS))
                server.kill()
                load.url = server.start().url
            time.sleep(rng.uniform(*LOAD_SECONDS))
        _check_everything_acknowledged_is_there(server.url, load.acknowledged)
    finally:
        server.kill()


def _check_everything_acknowledged_is_there(base: str, acknowledged: Acknowledged) -> None:
    assert acknowledged.lines and acknowledged.jobs, "the load wrote nothing"
    print(f"acknowledged: {len(acknowledged.lines)} log lines, {len(acknowledged.jobs)} jobs; "
          f"{acknowledged.failures} requests cut or refused by the kills")
    logs = requests.get(f"{base}/bullmq/queues/queue-1/jobs/1/logs",  # length 0: every line
                        params={"start": 0, "length": 0}, headers=AUTH, timeout=30).json()
    stored = set(logs["logs"])
    lost_lines = [line for line in acknowledged.lines if line not in stored]
    assert not lost_lines, f"{len(lost_lines)} acknowledged log lines lost: {lost_lines[:5]}"
    assert logs["count"] == len(logs["logs"]) >= len(acknowledged.lines)
    with requests.Session() as http:
        for job_id, name in acknowledged.jobs.items():
            job = http.get(f"{base}/nimble/v1/jobs/{job_id}", headers=AUTH, timeout=30)
            assert job.status_code == 200 and job.json()["name"] == name, job_id
