"""A bounded load test on loopback: normal clients keep succeeding while slow clients
(slowloris: request heads sent a byte at a time, never finished) and malformed clients
(every hostile request of test_hostile_requests) hit the same server.

Duration JOBMOCK_LOAD_SECONDS (5 by default), 4 normal, 16 slow and 2 malformed clients. Asserted:
every normal request got its expected answer, each normal client got answers all along, the
state afterwards is exactly what the successful requests created, no 5xx, no traceback.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import requests

from tests.security.conftest import Watched, send_raw
from tests.security.test_hostile_requests import CASES

SECONDS = float(os.environ.get("JOBMOCK_LOAD_SECONDS", "5"))
NORMAL, SLOW, MALFORMED = 4, 16, 2
BEARER = {"Authorization": "Bearer jobmock"}


@dataclass
class NormalClient:
    """Creates Nimble jobs and BullMQ jobs (its own queue), reading each one back."""

    number: int
    base: str
    jobs: list[str] = field(default_factory=list)
    queued: int = 0
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    answer_times: list[float] = field(default_factory=list)

    @property
    def queue(self) -> str:
        return f"queue-{self.number}"

    def run(self, until: float) -> None:
        n = 0
        while time.monotonic() < until:
            n += 1
            self._one(f"client{self.number}-job{n}")

    def _one(self, name: str) -> None:
        try:
            created = requests.post(f"{self.base}/nimble/v1/jobs", headers=BEARER, timeout=10,
                                    json={"name": name, "agent_name": "agent"})
            self._check(created.status_code == 201, f"create {name}: {created.status_code}")
            if created.status_code == 201:
                self.jobs.append(name)
                read = requests.get(f"{self.base}/nimble/v1/jobs/{created.json()['id']}",
                                    headers=BEARER, timeout=10)
                self._check(read.status_code == 200 and read.json()["name"] == name,
                            f"read {name}: {read.status_code}")
            added = requests.post(f"{self.base}/bullmq/queues/{self.queue}/jobs",
                                  headers=BEARER, json=[{"name": name, "data": {}}], timeout=10)
            self._check(added.status_code == 200, f"add {name}: {added.status_code}")
            self.queued += added.status_code == 200
        except requests.RequestException as error:
            self.failures.append(f"{name}: {error}")

    def _check(self, ok: bool, what: str) -> None:
        self.answered += 1
        self.answer_times.append(time.monotonic())
        if not ok:
            self.failures.append(what)


def _slowloris(port: int, until: float, stats: dict[str, int]) -> None:
    """Open a connection, send a request head one byte every 0.2 s, never finish it; when
    the server cuts the connection, open another."""
    head = b"POST /nimble/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nX-Slow: "
    while time.monotonic() < until:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                stats["opened"] += 1
                for byte in head + b"a" * 1000:
                    if time.monotonic() >= until:
                        return
                    sock.sendall(bytes([byte]))
                    time.sleep(0.2)
        except OSError:
            stats["cut"] += 1


def _malformed(port: int, until: float, stats: dict[str, int]) -> None:
    cases = list(CASES.values())
    i = 0
    while time.monotonic() < until:
        data, expected, _ = cases[i % len(cases)]
        i += 1
        answer = send_raw(port, data, timeout=10)
        stats["sent"] += 1
        stats["as_expected"] += answer.status == expected


def test_normal_clients_keep_succeeding_under_slow_and_malformed_ones(
        watched_server: Callable[..., Watched]) -> None:
    server = watched_server(request_timeout=1, max_body_bytes=8192)
    until = time.monotonic() + SECONDS
    normal = [NormalClient(n, server.url) for n in range(NORMAL)]
    slow_stats = {"opened": 0, "cut": 0}
    bad_stats = {"sent": 0, "as_expected": 0}
    threads = [threading.Thread(target=c.run, args=(until,)) for c in normal]
    threads += [threading.Thread(target=_slowloris, args=(server.port, until, slow_stats))
                for _ in range(SLOW)]
    threads += [threading.Thread(target=_malformed, args=(server.port, until, bad_stats))
                for _ in range(MALFORMED)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 30)
    assert not any(t.is_alive() for t in threads)

    answered = sum(c.answered for c in normal)
    failures = [f for c in normal for f in c.failures]
    print(f"load test {SECONDS:g} s: {answered} normal answers from {NORMAL} clients, "
          f"{len(failures)} failures; slow connections opened {slow_stats['opened']}, "
          f"cut by the server {slow_stats['cut']}; malformed requests {bad_stats['sent']} "
          f"({bad_stats['as_expected']} answered as expected); app statuses "
          f"{dict(sorted(server.statuses.items()))}")
    assert not failures, failures[:10]
    for client in normal:  # answers all along: no stall longer than the deadline and a bit
        times = [started, *client.answer_times, until]
        assert client.answered >= 3
        assert max(b - a for a, b in pairwise(times)) < 3.0
    assert slow_stats["opened"] > SLOW  # the server cut slow connections (they reopened)
    assert bad_stats["sent"] > 0 and bad_stats["as_expected"] == bad_stats["sent"]
    assert server.server_errors() == 0

    listed = requests.get(f"{server.url}/nimble/v1/jobs?per_page=100&page=1", headers=BEARER,
                          timeout=10).json()
    created = sorted(name for c in normal for name in c.jobs)
    assert listed["total"] == len(created)
    names = _all_nimble_names(server.url, listed["total"])
    assert names == created
    for client in normal:
        counts = requests.get(f"{server.url}/bullmq/queues/{client.queue}/jobs"
                              "?statuses=waiting", headers=BEARER, timeout=10).json()["counts"]
        assert counts["waiting"] == client.queued


def _all_nimble_names(base: str, total: int) -> list[str]:
    names: list[str] = []
    page = 1
    while len(names) < total:
        listed = requests.get(f"{base}/nimble/v1/jobs?per_page=100&page={page}",
                              headers=BEARER, timeout=10).json()
        names += [job["name"] for job in listed["items"]]
        page += 1
        assert page < 1000
    return sorted(names)
