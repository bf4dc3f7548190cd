"""Intuned mock through the Flask test client: jobs, pause/resume, JobRuns, errors, tenants."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.app import create_app, runtime_of

if TYPE_CHECKING:
    from conftest import StoreUrls

WS = "123e4567-e89b-12d3-a456-426614174000"
OTHER_WS = "0f0e0d0c-0b0a-4908-8706-050403020100"
KEY = {"x-api-key": "jobmock"}
ACTIONS = "/__jobmock/apis/intuned/actions"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RUN_ID = re.compile(r"^jr_[a-z0-9]{21}$")
JOB_BODY: dict[str, Any] = {
    "id": "nightly",
    "payload": [{"apiName": "scrape", "parameters": {"page": 1}},
                {"apiName": "scrape", "parameters": {"page": 2}, "requestTimeout": 30}],
    "configuration": {"retry": {"maximumAttempts": 2}, "maxConcurrentRequests": 5},
    "sink": {"type": "webhook", "url": "https://example.com/hook"},
    "proxy": "http://proxy.example.com:8080",
    "auth_session": {"id": "session-1", "checkAttempts": 3},
    "notifications": [{"type": "webhook", "url": "https://example.com/done"}],
    "schedule": {"intervals": [{"every": "1h"}]},
}


def jobs_url(ws: str = WS, project: str = "shop") -> str:
    return f"/intuned/{ws}/projects/{project}/jobs"


@pytest.fixture(scope="module")
def shared_app(module_store_urls: StoreUrls) -> Iterator[Flask]:
    """One strict, seeded app for the module (per store backend): building one costs ~1 s
    (the control spec is parsed and checked per app), so each test starts from
    `POST /__jobmock/reset` instead."""
    app = create_app({"random_seed": 7, "apis": ("intuned",), "store": module_store_urls.new()})
    app.testing = True
    yield app
    runtime_of(app).store.close()


@pytest.fixture
def client(shared_app: Flask) -> Iterator[FlaskClient]:
    """A client on fresh state (reset: store, clock and ids); fails the test if a handler
    crashed."""
    test_client = shared_app.test_client()
    assert test_client.post("/__jobmock/reset").status_code == 200
    yield test_client
    bugs = runtime_of(shared_app).bugs
    assert not bugs, f"handler crashed: {bugs[0].trace}"


def create(client: FlaskClient, body: dict[str, Any] | None = None, ws: str = WS,
           project: str = "shop") -> TestResponse:
    return client.post(jobs_url(ws, project), json=body or JOB_BODY, headers=KEY)


def trigger(client: FlaskClient, job: str = "nightly", ws: str = WS) -> str:
    reply = client.post(f"{jobs_url(ws)}/{job}/trigger", headers=KEY)
    assert reply.status_code == 200, reply.json
    run_id: str = reply.json["jobRunId"]
    return run_id


def get_run(client: FlaskClient, run_id: str, job: str = "nightly") -> dict[str, Any]:
    reply = client.get(f"{jobs_url()}/{job}/runs/{run_id}", headers=KEY)
    assert reply.status_code == 200, reply.json
    body: dict[str, Any] = reply.json
    return body


def set_status(client: FlaskClient, run_id: str, status: str, **extra: Any) -> TestResponse:
    body = {"workspace_id": WS, "project_name": "shop", "job_id": "nightly", "run_id": run_id,
            "status": status, **extra}
    return client.post(f"{ACTIONS}/set-run-status", json=body)


def assert_error(reply: TestResponse, status: int, code: str, message: str | None = None) -> None:
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.content_type == "application/json"
    body = reply.json
    assert set(body) - {"details"} == {"code", "category", "message", "retirable",
                                       "correlationId"}
    assert (body["code"], body["category"], body["retirable"]) == (code, "user", False)
    assert UUID.match(body["correlationId"])
    if message is not None:
        assert body["message"] == message


# -- jobs -------------------------------------------------------------------------------------


def test_create_job_answers_201_and_lists_the_job_shape(client: FlaskClient) -> None:
    reply = create(client)
    assert (reply.status_code, reply.json) == (201, {"id": "nightly", "message": "created"})
    [job] = client.get(jobs_url(), headers=KEY).json
    assert job["workspace_id"] == WS and UUID.match(job["project_id"])
    assert job["proxy"] == {"version": "v1", "url": "http://proxy.example.com:8080"}
    assert {k: job[k] for k in ("id", "payload", "configuration", "sink", "schedule",
                                "auth_session", "notifications")} == {
        k: JOB_BODY[k] for k in ("id", "payload", "configuration", "sink", "schedule",
                                 "auth_session", "notifications")}
    assert (job["state"], job["reason"], job["source"], job["schedule_id"]) == (
        "ACTIVE", None, "API", None)
    assert (job["next_run_time"], job["last_run_time"]) == (None, None)
    assert job["created_at"].startswith("2026-01-01T00:00:00.")


def test_get_job_has_the_job_details_shape(client: FlaskClient) -> None:
    create(client)
    listed = client.get(jobs_url(), headers=KEY).json[0]
    job = client.get(f"{jobs_url()}/nightly", headers=KEY).json
    assert set(job) == {"id", "configuration", "sink", "created_at", "next_run_time",
                        "last_run_time", "state", "payload", "schedule", "projectId",
                        "auth_session", "proxy"}
    assert job["projectId"] == listed["project_id"]
    assert job["proxy"] == "http://proxy.example.com:8080"
    assert (job["created_at"], job["state"]) == (listed["created_at"], "ACTIVE")


def test_projects_of_one_workspace_get_distinct_ids(client: FlaskClient) -> None:
    create(client)
    create(client, project="other")
    create(client, {**JOB_BODY, "id": "second"})
    shop = client.get(jobs_url(), headers=KEY).json
    other = client.get(jobs_url(project="other"), headers=KEY).json
    assert [j["id"] for j in shop] == ["nightly", "second"]
    assert shop[0]["project_id"] == shop[1]["project_id"] != other[0]["project_id"]


def test_duplicate_job_id_is_400(client: FlaskClient) -> None:
    create(client)
    assert_error(create(client), 400, "bad-request",
                 "Job with id nightly already exists in project shop")
    assert len(client.get(jobs_url(), headers=KEY).json) == 1


def test_put_replaces_the_whole_definition(client: FlaskClient) -> None:
    create(client)
    before = client.get(f"{jobs_url()}/nightly", headers=KEY).json
    new = {"payload": [{"apiName": "other", "parameters": {}}], "configuration": {"retry": {}}}
    reply = client.put(f"{jobs_url()}/nightly", json=new, headers=KEY)
    assert (reply.status_code, reply.json) == (
        200, {"id": "nightly", "message": "updated job successfully"})
    after = client.get(f"{jobs_url()}/nightly", headers=KEY).json
    assert after == {**before, **new, "sink": None, "schedule": None, "auth_session": None,
                     "proxy": None}
    assert client.get(jobs_url(), headers=KEY).json[0]["notifications"] is None


def test_put_unknown_job_is_404(client: FlaskClient) -> None:
    new = {"payload": [], "configuration": {}}
    assert_error(client.put(f"{jobs_url()}/ghost", json=new, headers=KEY), 404, "not-found",
                 "Job ghost not found")


def test_delete_job_is_204_and_forgets_it_and_its_runs(client: FlaskClient) -> None:
    create(client)
    trigger(client)
    reply = client.delete(f"{jobs_url()}/nightly", headers=KEY)
    assert (reply.status_code, reply.data) == (204, b"")
    assert_error(client.get(f"{jobs_url()}/nightly", headers=KEY), 404, "not-found")
    assert_error(client.delete(f"{jobs_url()}/nightly", headers=KEY), 404, "not-found",
                 "Job nightly not found")
    create(client)
    runs = client.get(f"{jobs_url()}/nightly/runs", headers=KEY).json
    assert runs == {"jobRuns": [], "totalCount": 0}


# -- pause / resume / trigger ------------------------------------------------------------------


def test_pause_and_resume_move_the_job_and_its_running_runs(client: FlaskClient) -> None:
    create(client)
    running, done = trigger(client), trigger(client)
    set_status(client, done, "SUCCESS")
    reply = client.post(f"{jobs_url()}/nightly/pause", headers=KEY)
    assert (reply.status_code, reply.json) == (200, {"message": "Paused"})
    job = client.get(jobs_url(), headers=KEY).json[0]
    assert job["state"] == "PAUSED"
    assert (job["reason"]["type"], job["reason"]["message"]) == ("paused", "Paused by user")
    paused = get_run(client, running)["jobRun"]
    assert (paused["status"], paused["reason"]) == (
        "PAUSED", {"type": "user-request", "message": "Paused by user"})
    assert get_run(client, done)["jobRun"]["status"] == "SUCCESS"
    reply = client.post(f"{jobs_url()}/nightly/resume", headers=KEY)
    assert (reply.status_code, reply.json) == (200, {"message": "Resumed"})
    job = client.get(jobs_url(), headers=KEY).json[0]
    assert (job["state"], job["reason"]) == ("ACTIVE", None)
    resumed = get_run(client, running)["jobRun"]
    assert (resumed["status"], resumed["reason"], resumed["end_time"]) == ("PENDING", None, None)


def test_pause_and_resume_twice_are_harmless(client: FlaskClient) -> None:
    create(client)
    for _ in range(2):
        assert client.post(f"{jobs_url()}/nightly/pause", headers=KEY).json == {
            "message": "Paused"}
    assert client.get(f"{jobs_url()}/nightly", headers=KEY).json["state"] == "PAUSED"
    for _ in range(2):
        assert client.post(f"{jobs_url()}/nightly/resume", headers=KEY).json == {
            "message": "Resumed"}
    assert client.get(f"{jobs_url()}/nightly", headers=KEY).json["state"] == "ACTIVE"


@pytest.mark.parametrize("verb", ["pause", "resume", "trigger"])
def test_lifecycle_verbs_on_unknown_job_are_404(client: FlaskClient, verb: str) -> None:
    assert_error(client.post(f"{jobs_url()}/ghost/{verb}", headers=KEY), 404, "not-found",
                 "Job ghost not found")


def test_trigger_creates_a_pending_manual_run(client: FlaskClient) -> None:
    create(client)
    reply = client.post(f"{jobs_url()}/nightly/trigger", headers=KEY)
    assert reply.status_code == 200
    assert reply.json["message"] == "Job triggered successfully"
    run_id = reply.json["jobRunId"]
    assert RUN_ID.match(run_id)
    body = get_run(client, run_id)
    assert set(body) == {"jobRun"}
    run = body["jobRun"]
    job = client.get(jobs_url(), headers=KEY).json[0]
    assert run == {
        "id": run_id, "start_time": run["start_time"], "end_time": None, "workspace_id": WS,
        "project_id": job["project_id"], "job_id": "nightly",
        "created_at": run["start_time"], "updated_at": run["start_time"], "type": "MANUAL",
        "status": "PENDING", "payloads": 2, "successful_runs": 0, "failed_runs": 0,
        "error": None, "reason": None,
        "job_configuration_snapshot": {
            "configuration": JOB_BODY["configuration"], "sink": JOB_BODY["sink"],
            "auth_session": JOB_BODY["auth_session"],
            "proxy": {"version": "v1", "url": "http://proxy.example.com:8080"},
            "notifications": JOB_BODY["notifications"]},
    }
    assert job["last_run_time"] == run["start_time"]


def test_snapshot_is_taken_when_the_run_starts(client: FlaskClient) -> None:
    create(client)
    first = trigger(client)
    new = {"payload": [{"apiName": "x", "parameters": {}}], "configuration": {"maxRuns": 4}}
    client.put(f"{jobs_url()}/nightly", json=new, headers=KEY)
    second = trigger(client)
    old_run, new_run = get_run(client, first)["jobRun"], get_run(client, second)["jobRun"]
    assert old_run["job_configuration_snapshot"]["configuration"] == JOB_BODY["configuration"]
    assert old_run["payloads"] == 2
    assert new_run["job_configuration_snapshot"] == {
        "configuration": {"maxRuns": 4}, "sink": None, "auth_session": None, "proxy": None,
        "notifications": None}
    assert new_run["payloads"] == 1


def test_trigger_on_a_paused_job_is_400_and_starts_nothing(client: FlaskClient) -> None:
    create(client)
    client.post(f"{jobs_url()}/nightly/pause", headers=KEY)
    reply = client.post(f"{jobs_url()}/nightly/trigger", headers=KEY)
    assert_error(reply, 400, "bad-request", "Job nightly is paused; resume it before triggering")
    assert client.get(f"{jobs_url()}/nightly/runs", headers=KEY).json["totalCount"] == 0
    client.post(f"{jobs_url()}/nightly/resume", headers=KEY)
    assert RUN_ID.match(trigger(client))


# -- runs ---------------------------------------------------------------------------------------


def test_list_runs_pages_newest_first_with_total(client: FlaskClient) -> None:
    create(client)
    ids = [trigger(client) for _ in range(3)]
    url = f"{jobs_url()}/nightly/runs"
    first = client.get(url, query_string={"pageSize": 2, "pageNumber": 0}, headers=KEY).json
    second = client.get(url, query_string={"pageSize": 2, "pageNumber": 1}, headers=KEY).json
    assert [r["id"] for r in first["jobRuns"]] == [ids[2], ids[1]]
    assert [r["id"] for r in second["jobRuns"]] == [ids[0]]
    assert first["totalCount"] == second["totalCount"] == 3
    beyond = client.get(url, query_string={"pageSize": 2, "pageNumber": 5}, headers=KEY).json
    assert beyond == {"jobRuns": [], "totalCount": 3}
    default = client.get(url, headers=KEY).json
    assert [r["id"] for r in default["jobRuns"]] == ids[::-1]


def test_list_runs_sorts_by_the_given_field(client: FlaskClient) -> None:
    create(client)
    ids = [trigger(client) for _ in range(3)]
    set_status(client, ids[1], "SUCCESS")
    url = f"{jobs_url()}/nightly/runs"
    ascending = client.get(url, query_string={"sortBy": "start_time,asc"}, headers=KEY).json
    assert [r["id"] for r in ascending["jobRuns"]] == ids
    by_status = client.get(url, query_string={"sortBy": "status,asc"}, headers=KEY).json
    assert [r["status"] for r in by_status["jobRuns"]] == ["PENDING", "PENDING", "SUCCESS"]


@pytest.mark.parametrize(("query", "message"), [
    ({"sortBy": "color,asc"}, "Cannot sort by color; sortable: created_at, end_time, "
     "failed_runs, id, payloads, start_time, status, successful_runs, type, updated_at"),
    ({"sortBy": "start_time"}, None),
    ({"pageSize": "0"}, None),
    ({"pageSize": "ten"}, None),
    ({"pageNumber": "-1"}, None),
])
def test_bad_list_runs_queries_are_400(client: FlaskClient, query: dict[str, str],
                                       message: str | None) -> None:
    create(client)
    reply = client.get(f"{jobs_url()}/nightly/runs", query_string=query, headers=KEY)
    assert_error(reply, 400, "bad-request", message)
    if message is None:
        [name] = query
        assert [d["field"] for d in reply.json["details"]] == [name]


def test_list_runs_of_unknown_job_is_404(client: FlaskClient) -> None:
    assert_error(client.get(f"{jobs_url()}/ghost/runs", headers=KEY), 404, "not-found",
                 "Job ghost not found")


def test_seed_get_gives_results_once_the_run_succeeded(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    assert "results" not in get_run(client, run_id)
    set_status(client, run_id, "SUCCESS")
    body = get_run(client, run_id)
    run, results = body["jobRun"], body["results"]
    assert (run["status"], run["successful_runs"], run["failed_runs"]) == ("SUCCESS", 2, 0)
    assert results["format"] == "json"
    assert results["key"] == f"results/{run_id}.json"
    assert results["signed_url"] == (
        f"https://results.intuned.io/results/{run_id}.json?X-Amz-Signature=jobmock")
    assert results["signed_url_expiration"][:19] == "2026-01-01T01:00:00"


def test_seed_get_of_failed_run_has_error_and_no_results(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    set_status(client, run_id, "FAILURE", successful_runs=1)
    body = get_run(client, run_id)
    run = body["jobRun"]
    assert "results" not in body
    assert (run["status"], run["successful_runs"], run["failed_runs"]) == ("FAILURE", 1, 1)
    assert {k: run["error"][k] for k in ("message", "code", "category", "retirable")} == {
        "message": "An error occurred while executing the job",
        "code": "internal-server-error", "category": "infrastructure", "retirable": False}


def test_seed_get_unknown_run_or_job_is_404(client: FlaskClient) -> None:
    create(client)
    assert_error(client.get(f"{jobs_url()}/nightly/runs/jr_nope", headers=KEY), 404,
                 "not-found", "Job run jr_nope not found")
    run_id = trigger(client)
    create(client, {**JOB_BODY, "id": "other"})
    assert_error(client.get(f"{jobs_url()}/other/runs/{run_id}", headers=KEY), 404,
                 "not-found", f"Job run {run_id} not found")
    assert_error(client.get(f"{jobs_url()}/ghost/runs/{run_id}", headers=KEY), 404,
                 "not-found", "Job ghost not found")


def test_terminate_ends_the_run(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    reply = client.post(f"{jobs_url()}/nightly/runs/{run_id}/terminate", headers=KEY)
    assert (reply.status_code, reply.json) == (200, {"message": "JobRun terminated successfully."})
    run = get_run(client, run_id)["jobRun"]
    assert run["status"] == "TERMINATED"
    assert run["end_time"] == run["updated_at"] > run["start_time"]
    assert run["reason"] == {"type": "terminated", "message": "Terminated by user"}


def test_terminate_works_on_a_paused_run(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    client.post(f"{jobs_url()}/nightly/pause", headers=KEY)
    client.post(f"{jobs_url()}/nightly/runs/{run_id}/terminate", headers=KEY)
    assert get_run(client, run_id)["jobRun"]["status"] == "TERMINATED"


@pytest.mark.parametrize("status", ["SUCCESS", "FAILURE", "TERMINATED", "COMPLETED",
                                    "CANCELED"])
def test_terminate_a_finished_run_is_400(client: FlaskClient, status: str) -> None:
    create(client)
    run_id = trigger(client)
    set_status(client, run_id, status)
    before = get_run(client, run_id)["jobRun"]
    reply = client.post(f"{jobs_url()}/nightly/runs/{run_id}/terminate", headers=KEY)
    assert_error(reply, 400, "bad-request", f"JobRun {run_id} has already finished ({status})")
    assert get_run(client, run_id)["jobRun"] == before


def test_terminate_unknown_run_is_404(client: FlaskClient) -> None:
    create(client)
    reply = client.post(f"{jobs_url()}/nightly/runs/jr_nope/terminate", headers=KEY)
    assert_error(reply, 404, "not-found", "Job run jr_nope not found")


# -- control action ------------------------------------------------------------------------------


def test_set_run_status_walks_a_run_with_consistent_counters(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    start = get_run(client, run_id)["jobRun"]
    seen = [start["updated_at"]]
    for status in ("PAUSING", "PAUSED", "RESUMING", "PENDING"):
        moved = set_status(client, run_id, status, successful_runs=1)
        assert moved.status_code == 200, moved.json
        assert (moved.json["status"], moved.json["end_time"]) == (status, None)
        seen.append(moved.json["updated_at"])
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    done = set_status(client, run_id, "COMPLETED").json
    assert (done["successful_runs"], done["failed_runs"]) == (2, 0)
    assert done["end_time"] == done["updated_at"] > start["start_time"]
    assert done["start_time"] == start["start_time"]
    assert get_run(client, run_id) == {"jobRun": done, "results": get_run(client, run_id)[
        "results"]}


def test_set_run_status_keeps_explicit_counters(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    done = set_status(client, run_id, "SUCCESS", successful_runs=1, failed_runs=1).json
    assert (done["status"], done["successful_runs"], done["failed_runs"]) == ("SUCCESS", 1, 1)


@pytest.mark.parametrize(("path", "status"), [
    (["SUCCESS"], "PENDING"),
    (["CANCELED"], "SUCCESS"),
    (["TERMINATED"], "TERMINATED"),
    (["PAUSED"], "SUCCESS"),
    (["PAUSING"], "RESUMING"),
])
def test_set_run_status_refuses_illegal_moves(client: FlaskClient, path: list[str],
                                              status: str) -> None:
    create(client)
    run_id = trigger(client)
    for step in path:
        assert set_status(client, run_id, step).status_code == 200
    reply = set_status(client, run_id, status)
    assert reply.status_code == 409
    assert reply.json["error"] == (
        f"JobRun {run_id} is {path[-1]} and cannot become {status}")
    assert get_run(client, run_id)["jobRun"]["status"] == path[-1]


@pytest.mark.parametrize(("extra", "message"), [
    ({"status": "RUNNING"}, "status must be one of PENDING, PAUSING, PAUSED, RESUMING, SUCCESS, "
     "COMPLETED, FAILURE, TERMINATED, CANCELED"),
    ({"status": "SUCCESS", "successful_runs": 2, "failed_runs": 1},
     "successful_runs + failed_runs (3) exceeds payloads (2)"),
    ({"status": "SUCCESS", "failed_runs": -1}, "failed_runs must be a non-negative integer"),
    ({"status": "SUCCESS", "successful_runs": "2"},
     "successful_runs must be a non-negative integer"),
    ({"status": "SUCCESS", "job_id": 7}, "job_id must be a non-empty string"),
])
def test_set_run_status_refuses_bad_arguments(client: FlaskClient, extra: dict[str, Any],
                                              message: str) -> None:
    create(client)
    run_id = trigger(client)
    reply = set_status(client, run_id, **extra)
    assert (reply.status_code, reply.json["error"]) == (400, message)
    assert get_run(client, run_id)["jobRun"]["status"] == "PENDING"


def test_set_run_status_unknown_ids_are_404(client: FlaskClient) -> None:
    create(client)
    reply = set_status(client, "jr_nope", "SUCCESS")
    assert (reply.status_code, reply.json["error"]) == (404, "Job run jr_nope not found")
    body = {"workspace_id": WS, "project_name": "shop", "job_id": "ghost", "run_id": "jr_x",
            "status": "SUCCESS"}
    reply = client.post(f"{ACTIONS}/set-run-status", json=body)
    assert (reply.status_code, reply.json["error"]) == (404, "Job ghost not found")


def test_actions_are_listed_with_their_docs(client: FlaskClient) -> None:
    actions = client.get(ACTIONS).json["actions"]
    assert [a["name"] for a in actions] == ["set-outcome", "set-run-status"]
    assert "outcomes" in actions[0]["doc"] and "successful_runs" in actions[1]["doc"]


# -- errors: shapes, auth, routes, bodies -----------------------------------------------------


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "Missing API key: send it in the x-api-key header"),
    ({"x-api-key": ""}, "Missing API key: send it in the x-api-key header"),
    ({"x-api-key": "wrong"}, "Invalid API key"),
    ({"authorization": "Bearer jobmock"}, "Missing API key: send it in the x-api-key header"),
])
def test_auth_failures_are_401_unauthorized(client: FlaskClient, headers: dict[str, str],
                                            message: str) -> None:
    create(client)
    for reply in (client.get(jobs_url(), headers=headers),
                  client.post(jobs_url(), json=JOB_BODY, headers=headers),
                  client.post(f"{jobs_url()}/nightly/trigger", headers=headers),
                  client.delete(f"{jobs_url()}/nightly", headers=headers)):
        assert_error(reply, 401, "unauthorized", message)
    assert client.get(f"{jobs_url()}/nightly/runs", headers=KEY).json["totalCount"] == 0


def test_auth_is_checked_before_validation(client: FlaskClient) -> None:
    assert_error(client.get(jobs_url(ws="not-a-uuid")), 401, "unauthorized")


def test_validation_errors_are_400_with_details(client: FlaskClient) -> None:
    body = {"id": "x", "payload": [{"parameters": {}}], "configuration": {
        "maxConcurrentRequests": 30}}
    reply = client.post(jobs_url(), json=body, headers=KEY)
    assert_error(reply, 400, "bad-request")
    assert reply.json["details"] == [
        {"field": "payload.0.apiName", "message": "Field required"},
        {"field": "configuration.maxConcurrentRequests",
         "message": "30 is greater than the maximum of 25"},
    ]
    assert reply.json["message"] == (
        "Invalid request: payload.0.apiName: Field required; "
        "configuration.maxConcurrentRequests: 30 is greater than the maximum of 25")


def test_missing_required_fields_are_named(client: FlaskClient) -> None:
    reply = client.post(jobs_url(), json={"payload": []}, headers=KEY)
    assert_error(reply, 400, "bad-request")
    assert sorted(d["field"] for d in reply.json["details"]) == ["configuration", "id"]


def test_invalid_workspace_id_is_400(client: FlaskClient) -> None:
    reply = client.get(jobs_url(ws="not-a-uuid"), headers=KEY)
    assert_error(reply, 400, "bad-request")
    assert reply.json["details"] == [
        {"field": "workspaceId", "message": "'not-a-uuid' is not a 'uuid'"}]


def test_malformed_json_is_400(client: FlaskClient) -> None:
    reply = client.post(jobs_url(), data="{bad", headers={**KEY,
                                                        "content-type": "application/json"})
    assert_error(reply, 400, "bad-request")
    assert reply.json["details"] == [{"field": "body", "message": (
        "JSON decode error: Expecting property name enclosed in double quotes")}]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_400(client: FlaskClient, content_type: str) -> None:
    reply = client.put(f"{jobs_url()}/nightly", data='{"payload": []}',
                       headers={**KEY, "content-type": content_type})
    assert_error(reply, 400, "bad-request")
    assert reply.json["details"] == [{"field": "body", "message": (
        f"Unsupported content type {content_type}; send application/json")}]


def test_missing_body_is_400(client: FlaskClient) -> None:
    reply = client.post(jobs_url(), headers=KEY)
    assert_error(reply, 400, "bad-request", "Invalid request: body: Field required")


@pytest.mark.parametrize("method", ["post", "put"])
def test_oversize_body_is_413_where_documented(client: FlaskClient, method: str) -> None:
    url = jobs_url() if method == "post" else f"{jobs_url()}/nightly"
    big = '{"id": "' + "x" * 200_000 + '"}'
    reply = getattr(client, method)(url, data=big, headers={**KEY,
                                                            "content-type": "application/json"})
    assert_error(reply, 413, "bad-request",
                 "Request body is larger than the limit of 102400 bytes")


def test_oversize_body_on_a_bodiless_operation_is_413(client: FlaskClient) -> None:
    create(client)
    reply = client.post(f"{jobs_url()}/nightly/trigger", data="x" * 200_000, headers=KEY)
    assert_error(reply, 413, "bad-request",
                 "Request body is larger than the limit of 102400 bytes")


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/intuned/nope"),
    ("get", f"/intuned/{WS}/projects/shop"),
    ("get", f"/intuned/{WS}/projects/shop/jobs/nightly/pause"),
    ("patch", f"/intuned/{WS}/projects/shop/jobs/nightly"),
    ("delete", f"/intuned/{WS}/projects/shop/jobs"),
    ("put", f"/intuned/{WS}/projects/shop/jobs/nightly/runs"),
])
def test_unknown_routes_and_methods_are_404(client: FlaskClient, method: str,
                                            path: str) -> None:
    reply = getattr(client, method)(path, headers=KEY)
    assert_error(reply, 404, "not-found", f"Route {method.upper()} {path} not found")


def test_each_error_has_its_own_correlation_id(client: FlaskClient) -> None:
    first = client.get(f"{jobs_url()}/ghost", headers=KEY).json["correlationId"]
    second = client.get(f"{jobs_url()}/ghost", headers=KEY).json["correlationId"]
    assert first != second


# -- tenants ------------------------------------------------------------------------------------


def test_workspaces_are_isolated(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    other = jobs_url(OTHER_WS)
    assert client.get(other, headers=KEY).json == []
    for reply in (client.get(f"{other}/nightly", headers=KEY),
                  client.put(f"{other}/nightly", json={"payload": [], "configuration": {}},
                             headers=KEY),
                  client.post(f"{other}/nightly/pause", headers=KEY),
                  client.post(f"{other}/nightly/resume", headers=KEY),
                  client.post(f"{other}/nightly/trigger", headers=KEY),
                  client.get(f"{other}/nightly/runs", headers=KEY),
                  client.get(f"{other}/nightly/runs/{run_id}", headers=KEY),
                  client.post(f"{other}/nightly/runs/{run_id}/terminate", headers=KEY),
                  client.delete(f"{other}/nightly", headers=KEY)):
        assert_error(reply, 404, "not-found", "Job nightly not found")
    moved = set_status(client, run_id, "SUCCESS", workspace_id=OTHER_WS)
    assert moved.status_code == 404
    job = client.get(f"{jobs_url()}/nightly", headers=KEY).json
    assert (job["state"], job["payload"]) == ("ACTIVE", JOB_BODY["payload"])
    assert get_run(client, run_id)["jobRun"]["status"] == "PENDING"


def test_same_job_id_in_two_workspaces_are_separate_jobs(client: FlaskClient) -> None:
    create(client)
    assert create(client, ws=OTHER_WS).status_code == 201
    client.post(f"{jobs_url(OTHER_WS)}/nightly/pause", headers=KEY)
    mine = client.get(jobs_url(), headers=KEY).json[0]
    theirs = client.get(jobs_url(OTHER_WS), headers=KEY).json[0]
    assert (mine["state"], theirs["state"]) == ("ACTIVE", "PAUSED")
    assert (mine["workspace_id"], theirs["workspace_id"]) == (WS, OTHER_WS)
    assert mine["project_id"] != theirs["project_id"]


def test_projects_are_isolated(client: FlaskClient) -> None:
    create(client)
    assert client.get(jobs_url(project="other"), headers=KEY).json == []
    assert_error(client.get(f"{jobs_url(project='other')}/nightly", headers=KEY), 404,
                 "not-found")


def test_workspace_ids_compare_case_insensitively(client: FlaskClient) -> None:
    create(client)
    [job] = client.get(jobs_url(WS.upper()), headers=KEY).json
    assert (job["id"], job["workspace_id"]) == ("nightly", WS)


def test_journal_records_no_response_violations(client: FlaskClient) -> None:
    create(client)
    run_id = trigger(client)
    set_status(client, run_id, "SUCCESS")
    get_run(client, run_id)
    entries = client.get("/__jobmock/journal", query_string={"api": "intuned"}).json
    records = entries["entries"] if isinstance(entries, dict) else entries
    assert records and all(not e["response_violations"] for e in records)
