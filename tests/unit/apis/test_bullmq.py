"""BullMQ proxy mock through the Flask test client: jobs, lock tokens, logs, workers, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.spec import load_spec

AUTH = {"Authorization": "Bearer jobmock"}
EPOCH_MS = 1767225600000  # the virtual clock's start, 2026-01-01T00:00:00Z
TEXT = "text/plain; charset=utf-8"
URL = "https://worker.example.com/jobs/emails"


Clients = Callable[..., FlaskClient]


@pytest.fixture
def clients(make_client: Callable[..., FlaskClient]) -> Clients:
    """`clients(**settings)`: a client of a fresh bullmq app (strict, seeded, virtual clock)."""
    return lambda **settings: make_client("bullmq", **settings)


@pytest.fixture
def client(clients: Clients) -> FlaskClient:
    return clients()


def add(client: FlaskClient, queue: str, *jobs: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/bullmq/queues/{queue}/jobs", json=list(jobs), headers=AUTH)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json
    return result


def job(name: str = "send", data: Any = None, **opts: Any) -> dict[str, Any]:
    new: dict[str, Any] = {"name": name, "data": data if data is not None else {"to": name}}
    if opts:
        new["opts"] = opts
    return new


def act(client: FlaskClient, name: str, **kwargs: Any) -> TestResponse:
    return client.post(f"/__jobmock/apis/bullmq/actions/{name}", json=kwargs)


def take(client: FlaskClient, queue: str) -> tuple[dict[str, Any], str]:
    response = act(client, "take-next", queue=queue)
    assert response.status_code == 200, response.text
    return response.json["job"], response.json["token"]


def get(client: FlaskClient, path: str, **query: Any) -> TestResponse:
    return client.get(f"/bullmq{path}", query_string=query, headers=AUTH)


def post_as(client: FlaskClient, token: str | None, path: str, body: Any) -> TestResponse:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.post(f"/bullmq{path}", json=body, headers=headers)


def assert_text(response: TestResponse, status: int, text: str) -> None:
    assert (response.status_code, response.text) == (status, text)
    assert response.content_type == TEXT


# -- adding and reading jobs ----------------------------------------------------------------------


def test_add_returns_jobs_as_bullmq_with_ids_per_queue(client: FlaskClient) -> None:
    first, second = add(client, "emails", job("a"), job("b", data="x"))
    assert first == {
        "id": "1", "name": "a", "data": {"to": "a"}, "opts": {"attempts": 0}, "progress": 0,
        "returnvalue": None, "stacktrace": None, "priority": 0, "timestamp": EPOCH_MS + 1,
        "attemptsStarted": 0, "attemptsMade": 0, "stalledCounter": 0,
        "queueQualifiedName": "bull:emails",
    }
    assert (second["id"], second["data"], second["timestamp"]) == ("2", "x", EPOCH_MS + 2)
    assert [j["id"] for j in add(client, "images", job("c"))] == ["1"]


def test_new_job_is_waiting_and_reads_back(client: FlaskClient) -> None:
    add(client, "emails", job("a", attempts=3, backoff=0))
    response = get(client, "/queues/emails/jobs/1")
    assert response.status_code == 200
    assert response.json == {
        "id": "1", "name": "a", "data": {"to": "a"},
        "opts": {"attempts": 3, "backoff": {"type": "fixed", "delay": 0}}, "progress": 0,
        "returnvalue": None, "stacktrace": [], "delay": 0, "priority": 0,
        "timestamp": EPOCH_MS + 1, "attemptsStarted": 0, "attemptsMade": 0,
        "stalledCounter": 0, "queueQualifiedName": "bull:emails",
    }
    counts = get(client, "/queues/emails/jobs").json["counts"]
    assert counts == {"waiting": 1, "active": 0, "completed": 0, "failed": 0, "paused": 0}


def test_custom_job_id_advances_the_counter_and_a_duplicate_adds_nothing(
    client: FlaskClient,
) -> None:
    added = add(client, "emails", job("a", jobId="digest-42"), job("b"))
    assert [j["id"] for j in added] == ["digest-42", "2"]
    again = add(client, "emails", job("other", jobId="digest-42"))
    assert again[0]["id"] == "digest-42"
    assert get(client, "/queues/emails/jobs/digest-42").json["name"] == "a"
    assert get(client, "/queues/emails/jobs").json["counts"]["waiting"] == 2


def test_deduplication_id_is_shown(client: FlaskClient) -> None:
    add(client, "emails", job("a", deduplication={"id": "d1", "ttl": 10}))
    assert get(client, "/queues/emails/jobs/1").json["deduplicationId"] == "d1"


def test_unknown_job_and_queue_isolation(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    assert_text(get(client, "/queues/images/jobs/1"), 404, "Job not found")
    assert_text(get(client, "/queues/emails/jobs/9"), 404, "Job not found")
    assert get(client, "/queues/images/jobs").json["counts"]["waiting"] == 0
    _, token = take(client, "emails")
    assert_text(post_as(client, token, "/queues/images/jobs/1/progress", 5), 401, "Unauthorized")


def test_queue_names_cannot_collide_in_the_store(client: FlaskClient) -> None:
    add(client, "a:jobs", job("a"))
    add(client, "abc", job("b"))
    assert get(client, "/queues/a:jobs/jobs/1").json["name"] == "a"
    assert get(client, "/queues/abc/jobs/1").json["name"] == "b"


# -- listing --------------------------------------------------------------------------------------


def test_get_jobs_counts_per_state_and_lists_newest_first(client: FlaskClient) -> None:
    add(client, "emails", job("a"), job("b"), job("c"), job("d"))
    taken, _ = take(client, "emails")
    assert taken["id"] == "1"
    act(client, "complete", queue="emails", job_id="1", returnvalue="done")
    take(client, "emails")
    body = get(client, "/queues/emails/jobs").json
    assert body["counts"] == {"waiting": 2, "active": 1, "completed": 1, "failed": 0,
                              "paused": 0}
    assert [j["id"] for j in body["jobs"]] == ["4", "3", "2", "1"]
    assert (body["start"], body["length"]) == (0, 10)


def test_get_jobs_filters_by_statuses_without_paused(client: FlaskClient) -> None:
    add(client, "emails", job("a"), job("b"))
    take(client, "emails")
    body = get(client, "/queues/emails/jobs", statuses="active,completed").json
    assert body["counts"] == {"active": 1, "completed": 0}
    assert [j["id"] for j in body["jobs"]] == ["1"]
    empty_items = get(client, "/queues/emails/jobs", statuses="waiting,,waiting").json
    assert empty_items["counts"] == {"waiting": 1, "paused": 0}


@pytest.mark.parametrize(("start", "length", "ids"), [
    (0, 2, ["5", "4"]), (2, 2, ["3", "2"]), (4, 10, ["1"]), (0, 0, ["5", "4", "3", "2", "1"]),
    (1, 0, []), (7, 3, []),
])
def test_get_jobs_slices_each_state_like_lrange(
    client: FlaskClient, start: int, length: int, ids: list[str],
) -> None:
    add(client, "emails", *[job(str(n)) for n in range(5)])
    body = get(client, "/queues/emails/jobs", start=start, length=length,
               statuses="waiting").json
    assert [j["id"] for j in body["jobs"]] == ids
    assert (body["counts"]["waiting"], body["start"], body["length"]) == (5, start, length)


def test_each_requested_state_is_sliced_separately(client: FlaskClient) -> None:
    add(client, "emails", job("a"), job("b"), job("c"))
    take(client, "emails")
    body = get(client, "/queues/emails/jobs", length=1, statuses="waiting,active").json
    assert [j["id"] for j in body["jobs"]] == ["3", "1"]


@pytest.mark.parametrize(("query", "message"), [
    ({"start": "abc"}, "Invalid start or length"),
    ({"length": "1.5"}, "Invalid start or length"),
    ({"start": "-1"}, "Start and length must be positive"),
    ({"length": "-5"}, "Start and length must be positive"),
    ({"length": "101"}, "Length must be less than or equal to 100"),
    ({"statuses": "waiting,paused"}, "Invalid status: paused"),
])
def test_get_jobs_refuses_bad_paging_and_states(
    client: FlaskClient, query: dict[str, str], message: str,
) -> None:
    assert_text(get(client, "/queues/emails/jobs", **query), 400, message)


@pytest.mark.parametrize(("path", "message"), [
    ("/queues/ab/jobs", "queue name must be at least 3 characters long"),
    (f"/queues/{'q' * 101}/jobs", "queue name must be at most 100 characters long"),
    ("/queues/ab/jobs/1", "queue name must be at least 3 characters long"),
    ("/queues/ab/jobs/1/logs", "queue name must be at least 3 characters long"),
])
def test_queue_name_length_is_checked(client: FlaskClient, path: str, message: str) -> None:
    assert_text(get(client, path), 400, message)


# -- delayed, lifo and prioritized jobs -----------------------------------------------------------


def test_delayed_job_waits_until_due(client: FlaskClient) -> None:
    added = add(client, "emails", job("a", delay=5000))
    assert added[0]["delay"] == 5000
    assert get(client, "/queues/emails/jobs", statuses="delayed").json["counts"] == {
        "delayed": 1}
    assert act(client, "take-next", queue="emails").status_code == 409
    assert client.post("/__jobmock/clock", json={"advance": 5}).status_code == 200
    counts = get(client, "/queues/emails/jobs", statuses="waiting,delayed").json["counts"]
    assert counts == {"waiting": 1, "delayed": 0, "paused": 0}
    assert take(client, "emails")[0]["id"] == "1"


def test_take_next_order_lifo_then_fifo_then_priority(client: FlaskClient) -> None:
    add(client, "emails", job("a"), job("b", priority=5), job("c", priority=1), job("d"),
        job("e", lifo=True), job("f", lifo=True))
    order = [take(client, "emails")[0]["name"] for _ in range(6)]
    assert order == ["f", "e", "a", "d", "c", "b"]


# -- taking, completing and failing (control API) -------------------------------------------------


def test_take_next_hands_out_job_and_lock_token(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    response = act(client, "take-next", queue="emails")
    assert response.status_code == 200
    handed, token = response.json["job"], response.json["token"]
    assert len(token) == 24
    assert handed["token"] == token
    assert (handed["id"], handed["attemptsStarted"], handed["processedOn"]) == (
        "1", 1, EPOCH_MS + 2)
    read = get(client, "/queues/emails/jobs/1").json
    assert "token" not in read
    assert read["processedOn"] == EPOCH_MS + 2


def test_complete_sets_returnvalue_and_timestamps(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    take(client, "emails")
    response = act(client, "complete", queue="emails", job_id="1",
                   returnvalue={"delivered": True})
    assert response.status_code == 200
    done = response.json
    assert done == get(client, "/queues/emails/jobs/1").json
    assert (done["returnvalue"], done["attemptsMade"], done["attemptsStarted"]) == (
        {"delivered": True}, 1, 1)
    assert done["timestamp"] < done["processedOn"] < done["finishedOn"]
    assert "failedReason" not in done
    counts = get(client, "/queues/emails/jobs").json["counts"]
    assert (counts["active"], counts["completed"]) == (0, 1)


def test_fail_sets_reason_and_stacktrace(client: FlaskClient) -> None:
    add(client, "emails", job("a", attempts=1))
    take(client, "emails")
    response = act(client, "fail", queue="emails", job_id=1, reason="Bad Request")
    assert response.status_code == 200
    failed = get(client, "/queues/emails/jobs/1").json
    assert failed == response.json
    assert (failed["failedReason"], failed["stacktrace"], failed["attemptsMade"]) == (
        "Bad Request", ["Error: Bad Request"], 1)
    assert failed["processedOn"] < failed["finishedOn"]
    assert failed["returnvalue"] is None
    assert get(client, "/queues/emails/jobs", statuses="failed").json["counts"] == {"failed": 1}


@pytest.mark.parametrize(("name", "kwargs", "status"), [
    ("take-next", {"queue": "emails"}, 409),
    ("complete", {"queue": "emails", "job_id": "1"}, 409),
    ("fail", {"queue": "emails", "job_id": "1", "reason": "x"}, 409),
    ("complete", {"queue": "emails", "job_id": "9"}, 404),
    ("fail", {"queue": "images", "job_id": "1", "reason": "x"}, 404),
    ("fail", {"queue": "emails", "job_id": "1"}, 400),
    ("fail", {"queue": "emails", "job_id": "1", "reason": 5}, 400),
    ("complete", {"queue": ["emails"], "job_id": "1"}, 400),
    ("take-next", {"queue": ""}, 400),
])
def test_illegal_control_moves_are_refused(
    client: FlaskClient, name: str, kwargs: dict[str, Any], status: int,
) -> None:
    add(client, "emails", job("a"))
    take(client, "emails")
    act(client, "complete", queue="emails", job_id="1")
    response = act(client, name, **kwargs)
    assert response.status_code == status
    assert response.json["error"]


def test_finished_job_cannot_move_again(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    take(client, "emails")
    assert act(client, "fail", queue="emails", job_id="1", reason="x").status_code == 200
    response = act(client, "complete", queue="emails", job_id="1")
    assert response.status_code == 409
    assert "is failed, not active" in response.json["error"]


def test_remove_on_complete_deletes_job_and_logs(client: FlaskClient) -> None:
    add(client, "emails", job("a", removeOnComplete=True))
    _, token = take(client, "emails")
    post_as(client, token, "/queues/emails/jobs/1/logs", "line")
    assert act(client, "complete", queue="emails", job_id="1").status_code == 200
    assert_text(get(client, "/queues/emails/jobs/1"), 404, "Job not found")
    assert get(client, "/queues/emails/jobs/1/logs").json == {"count": 0, "logs": []}


def test_actions_are_listed_with_docs(client: FlaskClient) -> None:
    listed = client.get("/__jobmock/apis/bullmq/actions").json["actions"]
    assert [a["name"] for a in listed] == ["complete", "fail", "take-next"]
    assert all(a["doc"] for a in listed)


# -- progress (seed) and the job lock token -------------------------------------------------------


@pytest.mark.parametrize("progress", [50, {"progress": 50, "stage": "rendering"}, "half", None])
def test_progress_with_lock_token_shows_on_get_job(client: FlaskClient, progress: Any) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    response = client.post("/bullmq/queues/emails/jobs/1/progress", data=json.dumps(progress),
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"})
    assert_text(response, 200, "OK")
    assert get(client, "/queues/emails/jobs/1").json["progress"] == progress


def test_progress_auth_failures(client: FlaskClient) -> None:
    add(client, "emails", job("a"), job("b"), job("c"))
    _, first = take(client, "emails")
    _, second = take(client, "emails")
    path = "/queues/emails/jobs/1/progress"
    refused = [
        post_as(client, None, path, 1),  # no token
        post_as(client, "jobmock", path, 1),  # a static token is not a lock token
        post_as(client, second, path, 1),  # another job's token
        post_as(client, first, "/queues/emails/jobs/3/progress", 1),  # a waiting job has no lock
        post_as(client, first, "/queues/emails/jobs/99/progress", 1),  # unknown job
        client.post(f"/bullmq{path}", json=1, headers={"Authorization": f"bearer {first}"}),
        client.post(f"/bullmq{path}", json=1, headers={"Authorization": first}),
    ]
    for response in refused:
        assert_text(response, 401, "Unauthorized")
    assert get(client, "/queues/emails/jobs/1").json["progress"] == 0


@pytest.mark.parametrize("finish", ["complete", "fail"])
def test_lock_token_is_void_once_the_job_finished(client: FlaskClient, finish: str) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    assert post_as(client, token, "/queues/emails/jobs/1/progress", 10).status_code == 200
    act(client, finish, queue="emails", job_id="1", reason="boom") if finish == "fail" else act(
        client, finish, queue="emails", job_id="1")
    assert_text(post_as(client, token, "/queues/emails/jobs/1/progress", 90), 401, "Unauthorized")
    assert_text(post_as(client, token, "/queues/emails/jobs/1/logs", "late"), 401, "Unauthorized")
    assert get(client, "/queues/emails/jobs/1").json["progress"] == 10


# -- logs (seed) ----------------------------------------------------------------------------------


def test_logs_keep_append_order_and_count_is_the_total(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    for line in ("log1", "log2", "log3"):
        assert_text(post_as(client, token, "/queues/emails/jobs/1/logs", line), 200, "OK")
    response = get(client, "/queues/emails/jobs/1/logs", start=0, length=2)
    assert response.status_code == 200
    assert response.json == {"count": 3, "logs": ["log1", "log2"]}
    assert get(client, "/queues/emails/jobs/1/logs").json == {
        "count": 3, "logs": ["log1", "log2", "log3"]}


@pytest.mark.parametrize(("start", "length", "logs"), [
    (1, 1, ["l1"]), (1, 10, ["l1", "l2"]), (0, 0, ["l0", "l1", "l2"]), (1, 0, []), (5, 2, []),
])
def test_get_logs_slices_like_lrange(
    client: FlaskClient, start: int, length: int, logs: list[str],
) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    for n in range(3):
        post_as(client, token, "/queues/emails/jobs/1/logs", f"l{n}")
    body = get(client, "/queues/emails/jobs/1/logs", start=start, length=length).json
    assert body == {"count": 3, "logs": logs}


def test_logs_of_unknown_job_are_empty(client: FlaskClient) -> None:
    assert get(client, "/queues/emails/jobs/42/logs").json == {"count": 0, "logs": []}


def test_get_logs_needs_a_static_token_not_the_lock(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    response = client.get("/bullmq/queues/emails/jobs/1/logs",
                          headers={"Authorization": f"Bearer {token}"})
    assert_text(response, 401, "Unauthorized")


@pytest.mark.parametrize(("query", "message"), [
    ({"start": "x"}, "Invalid start or length"),
    ({"start": "-2"}, "Start and length must be positive"),
    ({"length": "200"}, "Length must be less than or equal to 100"),
])
def test_get_logs_refuses_bad_paging(
    client: FlaskClient, query: dict[str, str], message: str,
) -> None:
    assert_text(get(client, "/queues/emails/jobs/1/logs", **query), 400, message)


def test_log_line_must_be_a_json_string(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    path = "/bullmq/queues/emails/jobs/1/logs"
    headers = {"Authorization": f"Bearer {token}"}
    assert_text(client.post(path, json={"msg": 1}, headers=headers), 400,
                "log must be a JSON-encoded string")
    plain = client.post(path, data="plain text", headers={**headers,
                                                          "Content-Type": "application/json"})
    assert plain.status_code == 400
    assert plain.text.startswith("JSON Parse error: ")
    assert get(client, "/queues/emails/jobs/1/logs").json == {"count": 0, "logs": []}


# -- workers --------------------------------------------------------------------------------------


def worker(queue: str = "emails", url: str = URL, **extra: Any) -> dict[str, Any]:
    return {"queue": queue, "endpoint": {"url": url, "method": "POST"}, **extra}


def test_workers_register_upsert_list_and_remove(client: FlaskClient) -> None:
    assert get(client, "/workers").json == {}
    assert_text(client.post("/bullmq/workers", json=worker(), headers=AUTH), 200, "OK")
    client.post("/bullmq/workers", json=worker("images", "http://w.example/i"), headers=AUTH)
    client.post("/bullmq/workers", json=worker(url="http://w.example/e2"), headers=AUTH)
    assert get(client, "/workers").json == {"emails": "http://w.example/e2",
                                            "images": "http://w.example/i"}
    assert_text(client.delete("/bullmq/workers/emails", headers=AUTH), 200, "OK")
    assert_text(client.delete("/bullmq/workers/emails", headers=AUTH), 404, "Worker not found")
    assert get(client, "/workers").json == {"images": "http://w.example/i"}


@pytest.mark.parametrize(("body", "message"), [
    ({"endpoint": {"url": URL, "method": "POST"}}, "queue is required"),
    ({"queue": "emails"}, "endpoint is required"),
    (worker("ab"), "queue name must be at least 3 characters long"),
    ({**worker(), "extra": 1}, "Invalid field: extra"),
    ({"queue": "emails", "endpoint": {"url": URL, "method": "GET"}}, "Invalid HTTP method GET"),
    ({"queue": "emails", "endpoint": {"url": "ftp://x.example", "method": "POST"}},
     "Invalid URL"),
    ({"queue": "emails", "endpoint": {"url": URL}}, "method is required"),
    ({"queue": "emails", "endpoint": {"url": URL, "method": "POST", "timeout": -1}},
     "Invalid timeout"),
    (worker(opts={"concurrency": 0}), "Invalid concurrency"),
    (worker(opts={"limiter": {"max": 1}}), "Invalid limiter.duration"),
    (worker(opts={"removeOnComplete": {"keep": 1}}), "Invalid field: removeOnComplete.keep"),
    (worker(opts={"foo": 1}), "Invalid field: foo"),
    ([1], "queue is required"),
])
def test_register_worker_validation_messages(
    client: FlaskClient, body: Any, message: str,
) -> None:
    assert_text(client.post("/bullmq/workers", json=body, headers=AUTH), 400, message)
    assert get(client, "/workers").json == {}


# -- add-jobs validation --------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "a", "data": 1}, "Body must be an array"),
    ([{"data": 1}], "name is required"),
    ([{"name": "a"}], "data is required"),
    ([{"name": "a", "data": False}], "data is required"),
    ([{"name": "", "data": 1}], "name is required"),
    ([{"name": 5, "data": 1}], "name must be a string"),
    (["job"], "name is required"),
    ([{"name": "a", "data": 1, "foo": 2}], "Unexpected field: foo"),
    ([job("a", foo=1)], "Unexpected field: opts.foo"),
    ([job("a", repeat={"every": 1})], "Unexpected field: opts.repeat"),
    ([job("a", priority=0)], "Invalid priority 0"),
    ([job("a", delay=-1)], "Invalid delay -1"),
    ([job("a", attempts=1.5)], "Invalid attempts 1.5"),
    ([job("a", lifo="yes")], "Invalid lifo yes, must be a boolean"),
    ([job("a", jobId=7)], "Invalid jobId 7, must be a string"),
    ([job("a", jobId="42")], "Custom Id cannot be integers"),
    ([job("a", jobId="a:b")], "Custom Id cannot contain :"),
    ([job("a", backoff={"type": "linear"})],
     "Invalid backoff [object Object], must be a number or an object"),
    ([job("a", deduplication={"ttl": 5})], "Invalid deduplication.id undefined, must be a string"),
    ([job("a", deduplication={"id": "d", "ttl": 0})],
     "Invalid deduplication.ttl 0, must be greater than 0"),
])
def test_add_jobs_validation_messages(client: FlaskClient, body: Any, message: str) -> None:
    response = client.post("/bullmq/queues/emails/jobs", json=body, headers=AUTH)
    assert_text(response, 400, message)
    assert get(client, "/queues/emails/jobs").json["counts"]["waiting"] == 0


# -- auth on static-token routes ------------------------------------------------------------------


BAD_AUTH = [
    {}, {"Authorization": "Bearer nope"}, {"Authorization": "bearer jobmock"},
    {"Authorization": "jobmock"}, {"Authorization": "Basic am9ibW9jazpqb2Jtb2Nr"},
    {"Authorization": "Bearer "},
]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/queues/emails/jobs"), ("POST", "/queues/emails/jobs"),
    ("GET", "/queues/emails/jobs/1"), ("GET", "/queues/emails/jobs/1/logs"),
    ("GET", "/workers"), ("POST", "/workers"), ("DELETE", "/workers/emails"),
])
def test_static_token_routes_refuse_missing_or_wrong_tokens(
    client: FlaskClient, method: str, path: str,
) -> None:
    for headers in BAD_AUTH:  # missing, unknown, lower-case scheme, no scheme, basic, empty
        response = client.open(f"/bullmq{path}", method=method, headers=headers,
                               json=[job("a")])
        assert_text(response, 401, "Unauthorized")


def test_configured_auth_tokens(clients: Clients) -> None:
    client = clients(auth_tokens=("alpha", "beta"))
    ok = client.get("/bullmq/workers", headers={"Authorization": "Bearer beta"})
    assert (ok.status_code, ok.json) == (200, {})
    assert_text(client.get("/bullmq/workers", headers=AUTH), 401, "Unauthorized")


def test_empty_auth_tokens_refuse_every_token_route(
    clients: Clients,
) -> None:
    client = clients(auth_tokens=())
    for headers in ({}, AUTH, {"Authorization": "Bearer "}):
        assert_text(client.get("/bullmq/workers", headers=headers), 401, "Unauthorized")


# -- error shapes of the transport ----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/nowhere"), ("GET", "/queues"), ("GET", "/queues/emails"),
    ("DELETE", "/queues/emails/jobs"), ("PUT", "/queues/emails/jobs/1"),
    ("GET", "/queues/emails/jobs/1/progress"), ("PATCH", "/workers"), ("GET", "/workers/emails"),
])
def test_unknown_routes_and_methods_are_404_not_found(
    client: FlaskClient, method: str, path: str,
) -> None:
    assert_text(client.open(f"/bullmq{path}", method=method, headers=AUTH), 404, "Not found")


@pytest.mark.parametrize("path", ["/queues/emails/jobs", "/workers"])
def test_malformed_json_is_a_400(client: FlaskClient, path: str) -> None:
    response = client.post(f"/bullmq{path}", data=b"[{", headers={
        **AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.content_type == TEXT
    assert response.text.startswith("JSON Parse error: ")


def test_malformed_progress_is_a_400(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    response = client.post("/bullmq/queues/emails/jobs/1/progress", data=b"{50", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.text.startswith("JSON Parse error: ")


def test_missing_body_is_a_400(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    response = client.post("/bullmq/queues/emails/jobs/1/progress",
                           headers={"Authorization": f"Bearer {token}"})
    assert_text(response, 400, "body is required")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_a_400(client: FlaskClient, content_type: str) -> None:
    response = client.post("/bullmq/queues/emails/jobs", data=b'[{"name":"a","data":1}]',
                           headers={**AUTH, "Content-Type": content_type})
    assert_text(response, 400,
                f"Unsupported content type {content_type}; send application/json")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/queues/emails/jobs"), ("POST", "/workers"), ("GET", "/queues/emails/jobs"),
    ("POST", "/queues/emails/jobs/1/progress"),
])
def test_oversize_body_is_a_413(
    clients: Clients, method: str, path: str,
) -> None:
    client = clients(max_body_bytes=64)
    body = b'["' + b"x" * 100 + b'"]'
    response = client.open(f"/bullmq{path}", method=method, data=body,
                           headers={**AUTH, "Content-Type": "application/json"})
    assert_text(response, 413, "Payload too large")


def test_reset_forgets_bullmq_state(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    client.post("/bullmq/workers", json=worker(), headers=AUTH)
    assert client.post("/__jobmock/reset", json={"api": "bullmq"}).status_code == 200
    assert_text(get(client, "/queues/emails/jobs/1"), 404, "Job not found")
    assert get(client, "/workers").json == {}
    assert add(client, "emails", job("b"))[0]["id"] == "1"


def test_malformed_input_to_every_operation_gets_a_plain_text_4xx(client: FlaskClient) -> None:
    add(client, "emails", job("a"))
    _, token = take(client, "emails")
    bad_inputs: list[dict[str, Any]] = [
        {"data": b"{not json", "content_type": "application/json"},
        {"data": b"[]", "content_type": "text/plain"},
        {"data": b"\xff\xfe", "content_type": "application/json"},
        {"json": {"unexpected": [None, 1.5]}, "query_string": {"start": "x", "length": "-1"}},
        {"json": None, "query_string": {"statuses": "nope", "length": "1000"}},
    ]
    for op in load_spec("bullmq").operations:
        path = op.path.replace("{queueName}", "ab").replace("{jobId}", "1")
        lock = op.security == (("jobToken",),)
        headers = {"Authorization": f"Bearer {token}"} if lock else AUTH
        for bad in bad_inputs:
            for queue_path in (path, path.replace("/ab", "/emails")):
                response = client.open(f"/bullmq{queue_path}", method=op.method,
                                       headers=headers, **bad)
                assert 400 <= response.status_code < 500 or response.status_code == 200, (
                    op.operation_id, bad, response.text)
                if response.status_code != 200:
                    assert response.content_type == TEXT
                    assert response.text
