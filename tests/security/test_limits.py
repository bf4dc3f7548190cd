"""Each resource limit: stored items per tenant, journal size, body size, request deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from mockserver.app import runtime_of
from mockserver.validation import validate_response
from tests.security.conftest import WS, Watched, request_bytes, send_raw

BEARER = {"Authorization": "Bearer jobmock"}
BASIC = {"Authorization": "Basic am9ibW9jazpqb2Jtb2Nr"}
KEY = {"x-api-key": "jobmock"}
LIMIT = 3


def _sap_job(n: int) -> dict[str, Any]:
    return {"name": f"job-{n}", "description": "d", "action": "https://example.com/run",
            "active": True, "httpMethod": "POST",
            "schedules": [{"time": "now", "active": True}]}


def _nemo_job(n: int) -> dict[str, Any]:
    return {"name": f"job-{n}", "spec": {}, "source": "nemo-evaluator",
            "platform_spec": {"steps": [{"name": "step", "executor": {"provider": "gpu"}}]}}


# api: (path for tenant A, path for tenant B, headers, body of item n)
CREATES: dict[str, tuple[str, str, dict[str, str], Callable[[int], Any]]] = {
    "sap": ("/sap/scheduler/jobs", "", BASIC, _sap_job),
    "nemo": ("/nemo/apis/jobs/v2/workspaces/a/jobs", "/nemo/apis/jobs/v2/workspaces/b/jobs",
             {}, _nemo_job),
    "bullmq": ("/bullmq/queues/queue-a/jobs", "/bullmq/queues/queue-b/jobs", BEARER,
               lambda n: [{"name": f"j{n}", "data": {}}]),
    "intuned": (f"/intuned/{WS}/projects/a/jobs", f"/intuned/{WS}/projects/b/jobs", KEY,
                lambda n: {"id": f"job-{n}", "configuration": {},
                           "payload": [{"apiName": "x", "parameters": {}}]}),
    "nimble": ("/nimble/v1/jobs", "", BEARER, lambda n: {"name": f"j{n}", "agent_name": "a"}),
}
SHAPES = {"sap": lambda r: r.json["code"] == 429 and r.json["type"] == "Too Many Requests",
          "nemo": lambda r: "Too many items" in r.json["detail"],
          "bullmq": lambda r: r.get_data(as_text=True).startswith("Too many items"),
          "intuned": lambda r: r.json["category"] == "user" and "Too many" in r.json["message"],
          "nimble": lambda r: "Too many items" in r.json["detail"]}


@pytest.mark.parametrize("api", list(CREATES))
def test_items_per_tenant_are_bounded(make_client: Callable[..., FlaskClient], api: str) -> None:
    client = make_client(api, max_items=LIMIT)
    path, other, headers, body = CREATES[api]
    for n in range(LIMIT):
        assert client.post(path, headers=headers, json=body(n)).status_code in (200, 201)
    refused = client.post(path, headers=headers, json=body(LIMIT))
    assert refused.status_code == 429
    assert SHAPES[api](refused), refused.data
    op = next(o for o in runtime_of(client.application).apis[api].spec.operations
              if o.method == "POST" and path.endswith(o.path.rsplit("/", 1)[-1]))
    body_of = refused.json if refused.is_json else refused.get_data(as_text=True)
    assert not validate_response(op, 429, refused.content_type, body_of)  # documented
    if other:  # another tenant still has room
        assert client.post(other, headers=headers, json=body(0)).status_code in (200, 201)


def test_deleting_frees_room(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", max_items=1)
    created = client.post("/nimble/v1/jobs", headers=BEARER, json={"name": "a", "agent_name": "x"})
    assert client.post("/nimble/v1/jobs", headers=BEARER,
                       json={"name": "b", "agent_name": "x"}).status_code == 429
    assert client.delete(f"/nimble/v1/jobs/{created.json['id']}",
                         headers=BEARER).status_code in (200, 204)
    assert client.post("/nimble/v1/jobs", headers=BEARER,
                       json={"name": "b", "agent_name": "x"}).status_code == 201


def test_log_lines_per_job_are_bounded(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("bullmq", max_items=2)
    client.post("/bullmq/queues/queue-a/jobs", headers=BEARER, json=[{"name": "a", "data": {}}])
    lock = client.post("/__jobmock/apis/bullmq/actions/take-next",
                       json={"queue": "queue-a"}).json["token"]
    auth = {"Authorization": f"Bearer {lock}"}
    statuses = [client.post("/bullmq/queues/queue-a/jobs/1/logs", headers=auth,
                            json=f"line {n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_journal_is_bounded(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", journal_size=5)
    for _ in range(12):
        client.get("/nimble/v1/jobs", headers=BEARER)
    entries = client.get("/__jobmock/journal").json["entries"]
    assert len(entries) == 5
    assert [e["seq"] for e in entries] == list(range(8, 13))  # the newest are kept


def test_body_limit_answers_413_before_reading_on(watched_server: Callable[..., Watched]) -> None:
    server = watched_server(apis=("nimble",), max_body_bytes=1000)
    answer = send_raw(server.port, request_bytes(
        "POST", "/nimble/v1/jobs", {**BEARER, "Content-Type": "application/json"},
        b"[" * 50_000))
    assert answer.status == 413


def test_a_slow_request_is_cut_at_the_deadline(watched_server: Callable[..., Watched]) -> None:
    server = watched_server(apis=("nimble",), request_timeout=1)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(b"GET /nimble/v1/jobs HTTP/1.1\r\nHost: x\r\n")  # and never finishes
        for _ in range(3):  # a byte now and then keeps no deadline alive
            time.sleep(0.3)
            try:
                slow.sendall(b"X")
            except OSError:
                break
        answer = b""
        while chunk := slow.recv(4096):
            answer += chunk
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"detail":"Request Timeout' in answer  # in Nimble's shape
    assert 0.9 < elapsed < 5


def test_a_slow_body_is_cut_at_the_deadline(watched_server: Callable[..., Watched]) -> None:
    server = watched_server(apis=("nimble",), request_timeout=1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(request_bytes("POST", "/nimble/v1/jobs",
                                   {**BEARER, "Content-Type": "application/json",
                                    "Content-Length": "100"}) + b"{")
        started = time.monotonic()
        answer = b""
        while chunk := slow.recv(4096):
            answer += chunk
    assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert requests.get(f"{server.url}/nimble/v1/jobs", headers=BEARER,
                        timeout=5).json()["total"] == 0  # nothing half-created


def test_an_active_request_is_not_cut(watched_server: Callable[..., Watched]) -> None:
    """The deadline covers the arrival of the request, not the time the mock takes to answer
    (here: an injected latency longer than the deadline)."""
    server = watched_server(apis=("nimble",), request_timeout=1)
    requests.put(f"{server.url}/__jobmock/faults", json={"api": "nimble", "latency_ms": 1500},
                 timeout=5)
    answer = requests.get(f"{server.url}/nimble/v1/jobs", headers=BEARER, timeout=10)
    assert answer.status_code == 200
