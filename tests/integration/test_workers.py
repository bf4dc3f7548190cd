"""`jobmock serve --workers N` over a shared store, driven by several client processes and
threads at once: appends, PATCH merges, id allocation and random ids stay exact."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from click.testing import CliRunner
from served import ServedMock

from mockserver.cli import main

if TYPE_CHECKING:
    from conftest import StoreUrls

AUTH = {"Authorization": "Bearer jobmock"}
CLIENT_PROCESSES, THREADS, ROUNDS = 2, 4, 12
PATCHED_FIELDS = ("description", "display_name")
NEMO_JOBS = "/nemo/apis/jobs/v2/workspaces/default/jobs"


@pytest.fixture
def served(store_urls: StoreUrls, tmp_path: Path) -> Iterator[ServedMock]:
    server = ServedMock(["--store", store_urls.new(), "--workers", "3", "--threads", "4",
                         "--random-seed", "11"], tmp_path / "serve.log").start()
    yield server
    assert server.stop() == 0


def _client(base: str, token: str, writer: int) -> dict[str, Any]:
    """One client thread: per round a log line, a PATCH of its field, a Nimble job, a NeMo
    job. Returns what the server answered."""
    seen: dict[str, Any] = {"logs": 0, "nimble": [], "nemo": [], "patches": 0}
    field = PATCHED_FIELDS[writer % len(PATCHED_FIELDS)]
    lock = {"Authorization": f"Bearer {token}"}
    with requests.Session() as http:
        for n in range(ROUNDS):
            logged = http.post(f"{base}/bullmq/queues/queue-1/jobs/1/logs", json=f"w{writer}-{n}",
                               headers=lock, timeout=30)
            seen["logs"] += logged.status_code == 200
            patched = http.patch(f"{base}/nimble/v1/jobs/job_1", json={field: f"w{writer}-{n}"},
                                 headers=AUTH, timeout=30)
            seen["patches"] += patched.status_code == 200
            created = http.post(f"{base}/nimble/v1/jobs", headers=AUTH, timeout=30,
                                json={"name": f"w{writer}-{n}", "agent_name": "a"})
            seen["nimble"].append(created.json()["id"])
            nemo = http.post(f"{base}{NEMO_JOBS}", timeout=30, json=_nemo_job(f"w{writer}-{n}"))
            seen["nemo"].append(nemo.json()["id"])
    return seen


def _client_process(base: str, token: str, first_writer: int) -> list[dict[str, Any]]:
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda w: _client(base, token, w),
                             range(first_writer, first_writer + THREADS)))


def _nemo_job(name: str) -> dict[str, Any]:
    return {"name": name, "spec": {}, "source": "load",
            "platform_spec": {"steps": [{"name": "step", "executor": {"provider": "cpu"}}]}}


def _prepare(base: str) -> str:
    """A BullMQ job taken by a worker (its lock token) and Nimble's job_1."""
    added = requests.post(f"{base}/bullmq/queues/queue-1/jobs", json=[{"name": "j", "data": {}}],
                          headers=AUTH, timeout=30)
    assert added.json()[0]["id"] == "1"
    taken = requests.post(f"{base}/__jobmock/apis/bullmq/actions/take-next",
                          json={"queue": "queue-1"}, timeout=30).json()
    created = requests.post(f"{base}/nimble/v1/jobs", json={"name": "target", "agent_name": "a"},
                            headers=AUTH, timeout=30)
    assert created.json()["id"] == "job_1"
    return str(taken["token"])


@pytest.mark.parametrize("store_kind", ["sqlite", "redis"], indirect=True)
def test_many_processes_and_threads_lose_no_write_and_share_no_id(served: ServedMock) -> None:
    base = served.url
    token = _prepare(base)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=context) as pool:
        batches = pool.map(_client_process, [base] * CLIENT_PROCESSES, [token] * CLIENT_PROCESSES,
                           range(0, CLIENT_PROCESSES * THREADS, THREADS))
        seen = [thread for batch in batches for thread in batch]
    writers, total = len(seen), len(seen) * ROUNDS
    assert sum(s["logs"] for s in seen) == total and sum(s["patches"] for s in seen) == total

    logs = requests.get(f"{base}/bullmq/queues/queue-1/jobs/1/logs",  # length 0: every line
                        params={"start": 0, "length": 0}, headers=AUTH, timeout=30).json()
    assert logs["count"] == total and len(logs["logs"]) == total
    for writer in range(writers):  # each writer's lines, in the order it sent them
        assert [line for line in logs["logs"] if line.startswith(f"w{writer}-")] == \
            [f"w{writer}-{n}" for n in range(ROUNDS)]

    nimble_ids = [job_id for s in seen for job_id in s["nimble"]]
    assert sorted(nimble_ids) == sorted(f"job_{n}" for n in range(2, total + 2))
    nemo_ids = [job_id for s in seen for job_id in s["nemo"]]
    assert len(set(nemo_ids)) == total  # random ids: seeded, yet unique across workers

    job = requests.get(f"{base}/nimble/v1/jobs/job_1", headers=AUTH, timeout=30).json()
    for field in PATCHED_FIELDS:  # the last PATCH of one of its writers, never an older one
        assert job[field] in {f"w{w}-{ROUNDS - 1}" for w in range(writers)
                              if PATCHED_FIELDS[w % len(PATCHED_FIELDS)] == field}


@pytest.mark.parametrize("store_kind", ["sqlite", "redis"], indirect=True)
def test_the_control_api_acts_on_the_state_every_worker_serves(served: ServedMock) -> None:
    base = served.url
    for n in range(6):
        requests.post(f"{base}/nimble/v1/jobs", json={"name": f"j{n}", "agent_name": "a"},
                      headers=AUTH, timeout=30)
    dumped = requests.get(f"{base}/__jobmock/state", timeout=30).json()
    assert len(dumped["store"]["maps"]["nimble:jobs"]) == 6
    assert requests.post(f"{base}/__jobmock/reset", timeout=30).status_code == 200
    for _ in range(6):  # whichever worker answers, the state is gone
        listed = requests.get(f"{base}/nimble/v1/jobs", headers=AUTH, timeout=30).json()
        assert listed["total"] == 0
    assert requests.put(f"{base}/__jobmock/state", json=dumped, timeout=30).status_code == 200
    for _ in range(6):
        listed = requests.get(f"{base}/nimble/v1/jobs", headers=AUTH, timeout=30).json()
        assert listed["total"] == 6


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
def test_a_seed_fixture_is_loaded_once_not_by_every_worker(store_urls: StoreUrls,
                                                           tmp_path: Path) -> None:
    fixture = tmp_path / "seed.yaml"
    fixture.write_text("jobmock_state: 1\nstore:\n  maps:\n    nimble:jobs:\n      job_7: "
                       "{id: job_7, name: seeded}\n  counters: {'nimble:job': 7}\n")
    server = ServedMock(["--store", store_urls.new(), "--workers", "2", "--seed", str(fixture),
                         "--api", "nimble"], tmp_path / "serve.log").start()
    try:
        created = requests.post(f"{server.url}/nimble/v1/jobs", headers=AUTH, timeout=30,
                                json={"name": "next", "agent_name": "a"})
        assert created.json()["id"] == "job_8"
        for _ in range(4):  # a worker that loaded the fixture late would have wiped job_8
            assert requests.get(f"{server.url}/nimble/v1/jobs/job_8", headers=AUTH,
                                timeout=30).status_code == 200
    finally:
        assert server.stop() == 0


def test_several_workers_on_the_memory_store_are_refused_naming_the_shared_stores() -> None:
    result = CliRunner().invoke(main, ["serve", "--workers", "2", "--port", "0"])
    assert result.exit_code == 1
    assert "--store sqlite:PATH" in result.output and "--store redis://" in result.output


@pytest.mark.parametrize("store_kind", ["sqlite", "redis"], indirect=True)
def test_one_process_on_a_durable_store_finds_its_state_after_a_restart(
        store_urls: StoreUrls, tmp_path: Path) -> None:
    args = ["--store", store_urls.new(), "--api", "nimble"]
    first = ServedMock(args, tmp_path / "serve.log").start()
    try:
        created = requests.post(f"{first.url}/nimble/v1/jobs", headers=AUTH, timeout=30,
                                json={"name": "kept", "agent_name": "a"})
        assert created.status_code == 201
    finally:
        assert first.stop() == 0
    second = ServedMock(args, tmp_path / "serve.log").start()
    try:
        again = requests.get(f"{second.url}/nimble/v1/jobs/job_1", headers=AUTH, timeout=30)
        assert again.json() == created.json()
        following = requests.post(f"{second.url}/nimble/v1/jobs", headers=AUTH, timeout=30,
                                  json={"name": "next", "agent_name": "a"})
        assert following.json()["id"] == "job_2"
    finally:
        assert second.stop() == 0
