"""SAP BTP Job Scheduling mock, through HTTP: jobs, schedules, run logs, the seed PUT,
error shapes, auth, and the control-API lifecycle actions (issue 3, "sap")."""

from __future__ import annotations

import base64
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient
from jwt.warnings import InsecureKeyLengthWarning
from werkzeug.test import TestResponse

BASIC = {"Authorization": "Basic " + base64.b64encode(b"jobmock:jobmock").decode()}
JOBS = "/sap/scheduler/jobs"
ACTIONS = "/__jobmock/apis/sap/actions"
BAD_REQUEST = "Bad Request/Invalid Request"
CRON = {"cron": "* * * * * */10 0", "active": True}


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client("sap")


def job_body(name: str = "processSalaries", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name, "description": "salary run",
        "action": "https://payroll.example.com/jobs/salaries", "active": True,
        "httpMethod": "POST", "schedules": [dict(CRON)],
    }
    body.update(changes)
    return body


def create_job(client: FlaskClient, name: str = "processSalaries",
               **changes: Any) -> dict[str, Any]:
    response = client.post(JOBS, json=job_body(name, **changes), headers=BASIC)
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def run_now_job(client: FlaskClient, name: str = "processSalaries") -> tuple[int, str, str]:
    """A job whose `time: now` schedule fired once: (jobId, scheduleId, runId)."""
    job = create_job(client, name, schedules=[{"time": "now", "active": True}])
    schedule_id = job["schedules"][0]["scheduleId"]
    runs = client.get(runs_url(job["_id"], schedule_id), headers=BASIC).get_json()
    return job["_id"], schedule_id, runs["results"][0]["runId"]


def runs_url(job_id: int, schedule_id: str, run_id: str = "") -> str:
    return f"{JOBS}/{job_id}/schedules/{schedule_id}/runs" + (f"/{run_id}" if run_id else "")


def drive(client: FlaskClient, name: str, **params: Any) -> TestResponse:
    return client.post(f"{ACTIONS}/{name}", json=params)


def advance(client: FlaskClient, seconds: float) -> None:
    assert client.post("/__jobmock/clock", json={"advance": seconds}).status_code == 200


def sap_error(status: int, message: str, detail: str | None = None,
              kind: str = BAD_REQUEST) -> dict[str, Any]:
    return {"code": status, "message": message, "type": kind,
            "detailedError": message if detail is None else detail}


def token(secret: str = "jobmock", expires_in: int = 600, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "jobmock", "sub": "jobmock", "iat": now, "exp": now + expires_in,
               **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    with warnings.catch_warnings():  # the mock's default secret is shorter than 32 bytes
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


# -- jobs -------------------------------------------------------------------------------------


def test_create_job_returns_integer_ids_from_one_with_location(client: FlaskClient) -> None:
    first = client.post(JOBS, json=job_body("first"), headers=BASIC)
    second = client.post(JOBS, json=job_body("second"), headers=BASIC)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.headers["Location"] == "/scheduler/jobs/1"
    assert second.headers["Location"] == "/scheduler/jobs/2"
    body = first.get_json()
    assert body["_id"] == 1 and second.get_json()["_id"] == 2
    assert {k: body[k] for k in ("name", "active", "httpMethod", "signatureVersion", "user",
                                 "startTime", "endTime")} == {
        "name": "first", "active": True, "httpMethod": "POST", "signatureVersion": 0,
        "user": None, "startTime": None, "endTime": None}


def test_create_job_schedule_fields_and_data_as_json_string(client: FlaskClient) -> None:
    schedule = {**CRON, "description": "every 10 minutes", "data": {"salesOrderId": "1234"},
                "startTime": {"date": "2015-10-20 04:30 +0000", "format": "YYYY-MM-DD HH:mm Z"}}
    job = create_job(client, schedules=[schedule])
    (created,) = job["schedules"]
    assert len(created.pop("scheduleId")) == 36
    assert created == {
        "type": "recurring", "active": True, "description": "every 10 minutes",
        "startTime": "2015-10-20 04:30:00", "endTime": None, "data": '{"salesOrderId":"1234"}',
        "cron": "* * * * * */10 0", "time": None, "repeatInterval": None, "repeatAt": None,
        "jobId": 1}


def test_duplicate_job_name_is_400(client: FlaskClient) -> None:
    create_job(client, "validateSalesOrder")
    response = client.post(JOBS, json=job_body("validateSalesOrder"), headers=BASIC)
    assert response.status_code == 400
    assert response.get_json() == sap_error(
        400, "Error while creating job: job with name 'validateSalesOrder' already exists")


def test_get_job_shows_schedules_with_data_object_only_when_asked(client: FlaskClient) -> None:
    job = create_job(client, ansConfig={"onError": True, "onSuccess": False},
                     schedules=[{**CRON, "data": {"customData": "some_value"}}])
    plain = client.get(f"{JOBS}/1", headers=BASIC).get_json()
    assert "schedules" not in plain
    assert plain["ansConfig"] == {"onError": True, "onSuccess": False}
    full = client.get(f"{JOBS}/1?displaySchedules=true", headers=BASIC).get_json()
    assert full["schedules"][0]["data"] == {"customData": "some_value"}
    assert full["schedules"][0]["scheduleId"] == job["schedules"][0]["scheduleId"]


def test_create_schedule_adds_to_job_with_location(client: FlaskClient) -> None:
    create_job(client)
    response = client.post(f"{JOBS}/1/schedules", headers=BASIC, json={
        "repeatInterval": "2 hours", "active": "true", "description": "New Schedule",
        "data": {"order_id": "abcd"}, "startTime": {"date": "2017-08-21", "format": "YYYY-MM-DD"}})
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/scheduler/jobs/1/schedules/{body['scheduleId']}"
    assert {k: body[k] for k in ("repeatInterval", "type", "active", "data", "startTime",
                                 "jobId", "cron", "time")} == {
        "repeatInterval": "2 hours", "type": "recurring", "active": True,
        "data": '{"order_id":"abcd"}', "startTime": "2017-08-21 00:00:00", "jobId": 1,
        "cron": None, "time": None}
    listed = client.get(f"{JOBS}?jobId=1&displaySchedules=true", headers=BASIC).get_json()
    assert len(listed["schedules"]) == 2


def test_delete_job_removes_schedules_and_logs(client: FlaskClient) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    response = client.delete(f"{JOBS}/{job_id}", headers=BASIC)
    assert (response.status_code, response.get_json()) == (200, {"success": True})
    assert client.get(f"{JOBS}/{job_id}", headers=BASIC).status_code == 404
    assert client.get(runs_url(job_id, schedule_id), headers=BASIC).status_code == 404
    assert client.get(runs_url(job_id, schedule_id, run_id), headers=BASIC).status_code == 404
    again = create_job(client)  # the name is free again; ids are never reused
    assert again["_id"] == 2
    assert client.get(JOBS, headers=BASIC).get_json()["total"] == 1


# -- listJobs ---------------------------------------------------------------------------------


def test_list_jobs_pages_with_total_and_urls(client: FlaskClient) -> None:
    for n in range(12):
        create_job(client, f"job_{n:02d}")
    first = client.get(JOBS, headers=BASIC)
    body = first.get_json()
    assert (body["total"], len(body["results"])) == (12, 10)
    assert body["prev_url"] is None
    assert body["next_url"] == "/scheduler/jobs?page_size=10&offset=10"
    assert first.headers["X-Breaking-Change-Type"] == "pagination-required"
    last = client.get(f"{JOBS}?page_size=5&offset=10", headers=BASIC)
    page = last.get_json()
    assert [j["name"] for j in page["results"]] == ["job_10", "job_11"]
    assert (page["prev_url"], page["next_url"]) == ("/scheduler/jobs?page_size=5&offset=5", None)
    assert "X-Breaking-Change-Type" not in last.headers
    item = page["results"][0]
    assert (item["jobId"], item["_id"], item["jobType"], item["createdAt"]) == (
        11, 11, "HTTP_ENDPOINT", "2026-01-01 00:00:00")


@pytest.mark.parametrize("query", ["page_size=101", "page_size=0", "page_size=ten"])
def test_list_jobs_invalid_page_size(client: FlaskClient, query: str) -> None:
    response = client.get(f"{JOBS}?{query}", headers=BASIC)
    assert response.status_code == 400
    assert response.get_json() == sap_error(
        400, "Error while fetching list of jobs: Invalid Page Size")


def test_list_jobs_lookup_by_name_and_id(client: FlaskClient) -> None:
    create_job(client, "alpha")
    create_job(client, "beta")
    by_name = client.get(f"{JOBS}?name=beta&displaySchedules=true", headers=BASIC).get_json()
    assert (by_name["_id"], len(by_name["schedules"])) == (2, 1)
    assert client.get(f"{JOBS}?jobId=1", headers=BASIC).get_json()["name"] == "alpha"
    assert client.get(f"{JOBS}?jobId=1&name=beta", headers=BASIC).status_code == 404
    missing = client.get(f"{JOBS}?name=gamma", headers=BASIC)
    assert missing.status_code == 404
    assert missing.get_json() == sap_error(
        404, "Error while fetching job details: Job not found",
        "Error while fetching job details: no job with name 'gamma'", "Not Found")


def test_list_jobs_lookup_with_paging_is_invalid_query(client: FlaskClient) -> None:
    response = client.get(f"{JOBS}?name=alpha&page_size=10", headers=BASIC)
    assert response.status_code == 400
    assert response.get_json()["message"] == "Error while fetching job details: Invalid query"


def test_list_jobs_filter_and_sort(client: FlaskClient) -> None:
    for name in ("salesA", "payroll", "salesB"):
        create_job(client, name)

    def names(query: str) -> list[str]:
        body = client.get(f"{JOBS}?page_size=10&{query}", headers=BASIC).get_json()
        return [job["name"] for job in body["results"]]

    assert names("filter=contains(name, 'sales')") == ["salesA", "salesB"]
    assert names("filter=name eq 'payroll' or name eq 'salesB'") == ["payroll", "salesB"]
    assert names("sort_by=name&sort_order=DESC") == ["salesB", "salesA", "payroll"]
    assert names("jobType=CF_TASK") == []
    bad = client.get(f"{JOBS}?filter=name like 'x'", headers=BASIC)
    assert (bad.status_code, bad.get_json()["message"]) == (
        400, "Error while fetching list of jobs: Invalid filter")


def test_active_and_inactive_counts_follow_schedules(client: FlaskClient) -> None:
    create_job(client, schedules=[dict(CRON), {**CRON, "active": False},
                                  {"time": "now", "active": True}])
    item = client.get(JOBS, headers=BASIC).get_json()["results"][0]
    assert (item["ACTIVECOUNT"], item["INACTIVECOUNT"]) == (2, 1)


# -- runs: firing, the seed PUT, reading ------------------------------------------------------


def test_time_now_fires_once_at_creation(client: FlaskClient) -> None:
    job = create_job(client, schedules=[{"time": "now", "active": True}, dict(CRON)])
    now_id, cron_id = (s["scheduleId"] for s in job["schedules"])
    fired = client.get(runs_url(1, now_id), headers=BASIC).get_json()
    assert fired["total"] == 1
    run = fired["results"][0]
    assert {k: v for k, v in run.items() if k != "runId"} == {
        "runText": "", "httpStatus": None, "executionTimestamp": "2026-01-01T00:00:00",
        "runStatus": "RUNNING", "runState": "TRIGGERED",
        "scheduleTimestamp": "2026-01-01T00:00:00", "completionTimestamp": None}
    assert client.get(runs_url(1, cron_id), headers=BASIC).get_json() == {
        "total": 0, "results": [], "next_url": None, "prev_url": None}
    assert job["schedules"][0]["type"] == "one-time"


def test_time_now_schedule_added_later_fires(client: FlaskClient) -> None:
    create_job(client)
    added = client.post(f"{JOBS}/1/schedules", json={"time": "now", "active": True},
                        headers=BASIC).get_json()
    assert client.get(runs_url(1, added["scheduleId"]), headers=BASIC).get_json()["total"] == 1


@pytest.mark.parametrize(("job_active", "schedule_active"), [(False, True), (True, False)])
def test_time_now_does_not_fire_when_inactive(client: FlaskClient, job_active: bool,
                                              schedule_active: bool) -> None:
    job = create_job(client, active=job_active,
                     schedules=[{"time": "now", "active": schedule_active}])
    runs = client.get(runs_url(1, job["schedules"][0]["scheduleId"]), headers=BASIC).get_json()
    assert runs["total"] == 0


@pytest.mark.parametrize(("success", "state"), [(True, "SUCCESS"), (False, "ERROR")])
def test_seed_put_completes_the_run(client: FlaskClient, success: bool, state: str) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    advance(client, 90)
    response = client.put(runs_url(job_id, schedule_id, run_id), headers=BASIC,
                          json={"success": success, "message": "salaries processed"})
    assert (response.status_code, response.get_json()) == (200, {"success": True})
    run = client.get(runs_url(job_id, schedule_id, run_id), headers=BASIC).get_json()
    assert run == {"runId": run_id, "runText": "salaries processed", "httpStatus": None,
                   "executionTimestamp": "2026-01-01T00:00:00", "runStatus": "COMPLETED",
                   "runState": state, "scheduleTimestamp": "2026-01-01T00:00:00",
                   "completionTimestamp": "2026-01-01T00:01:30"}


def test_seed_put_without_message_keeps_run_text_and_may_repeat(client: FlaskClient) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    url = runs_url(job_id, schedule_id, run_id)
    assert client.put(url, json={"success": False, "message": "first"},
                      headers=BASIC).status_code == 200
    assert client.put(url, json={"success": True}, headers=BASIC).status_code == 200
    run = client.get(url, headers=BASIC).get_json()
    assert (run["runStatus"], run["runState"], run["runText"]) == ("COMPLETED", "SUCCESS",
                                                                   "first")


def test_completed_one_time_schedule_deactivates(client: FlaskClient) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    client.put(runs_url(job_id, schedule_id, run_id), json={"success": True}, headers=BASIC)
    item = client.get(JOBS, headers=BASIC).get_json()["results"][0]
    assert (item["ACTIVECOUNT"], item["INACTIVECOUNT"]) == (0, 1)
    job = client.get(f"{JOBS}/{job_id}?displaySchedules=true", headers=BASIC).get_json()
    assert job["schedules"][0]["active"] is False


def test_run_logs_offset_paging(client: FlaskClient) -> None:
    job = create_job(client)
    schedule_id = job["schedules"][0]["scheduleId"]
    ids = [drive(client, "fire-schedule", job_id=1, schedule_id=schedule_id).get_json()["runId"]
           for _ in range(5)]
    url = runs_url(1, schedule_id)
    page = client.get(f"{url}?page_size=2&offset=2", headers=BASIC).get_json()
    assert page["total"] == 5
    assert [r["runId"] for r in page["results"]] == ids[2:4]
    listed = f"/scheduler/jobs/1/schedules/{schedule_id}/runs"
    assert page["next_url"] == f"{listed}?page_size=2&offset=4"
    assert page["prev_url"] == f"{listed}?page_size=2&offset=0"
    tail = client.get(f"{url}?offset=4", headers=BASIC).get_json()
    assert ([r["runId"] for r in tail["results"]], tail["next_url"]) == (ids[4:], None)
    everything = client.get(url, headers=BASIC).get_json()
    assert [r["runId"] for r in everything["results"]] == ids


def test_run_logs_cursor_paging(client: FlaskClient) -> None:
    job = create_job(client)
    schedule_id = job["schedules"][0]["scheduleId"]
    ids = [drive(client, "fire-schedule", job_id=1, schedule_id=schedule_id).get_json()["runId"]
           for _ in range(5)]
    url = runs_url(1, schedule_id)
    after = client.get(f"{url}?page_size=2&next={ids[1]}", headers=BASIC).get_json()
    assert [r["runId"] for r in after["results"]] == ids[2:4]
    assert after["next_url"].endswith(f"?page_size=2&next={ids[3]}")
    assert after["prev_url"].endswith(f"?page_size=2&prev={ids[2]}")
    before = client.get(f"{url}?page_size=2&prev={ids[2]}", headers=BASIC).get_json()
    assert ([r["runId"] for r in before["results"]], before["prev_url"]) == (ids[0:2], None)
    both = client.get(f"{url}?next={ids[0]}&prev={ids[1]}", headers=BASIC)
    assert (both.status_code, both.get_json()["message"]) == (
        400, "Error while fetching run logs: Invalid query")
    unknown = client.get(f"{url}?next=a18633fe-b299-41b5-9562-7902c2332070", headers=BASIC)
    assert (unknown.status_code, unknown.get_json()["message"]) == (
        400, "Error while fetching run logs: Invalid cursor")


# -- 404s -------------------------------------------------------------------------------------

UNKNOWN_RUN = "a18633fe-b299-41b5-9562-7902c2332070"
UNKNOWN_SCHEDULE = "5f58c2fb-a428-4f4b-9e1d-312e3be8952c"


@pytest.mark.parametrize(("method", "target", "doing", "what"), [
    ("GET", "job/9", "fetching job details", "Job"),
    ("DELETE", "job/9", "deleting job", "Job"),
    ("POST", "job/9/schedules", "creating schedule", "Job"),
    ("GET", "job/9/runs", "fetching run logs", "Job"),
    ("GET", "schedule/runs", "fetching run logs", "Schedule"),
    ("GET", "run", "fetching run log", "Run log"),
    ("PUT", "run", "updating run log", "Run log"),
    ("PUT", "schedule/run", "updating run log", "Schedule"),
])
def test_unknown_job_schedule_or_run_is_404(client: FlaskClient, method: str, target: str,
                                            doing: str, what: str) -> None:
    job_id, schedule_id, _ = run_now_job(client)
    paths = {
        "job/9": f"{JOBS}/9", "job/9/schedules": f"{JOBS}/9/schedules",
        "job/9/runs": runs_url(9, schedule_id),
        "schedule/runs": runs_url(job_id, UNKNOWN_SCHEDULE),
        "run": runs_url(job_id, schedule_id, UNKNOWN_RUN),
        "schedule/run": runs_url(job_id, UNKNOWN_SCHEDULE, UNKNOWN_RUN),
    }
    body = {"success": True} if method == "PUT" else dict(CRON) if method == "POST" else None
    response = client.open(paths[target], method=method, json=body, headers=BASIC)
    assert response.status_code == 404
    error = response.get_json()
    assert (error["code"], error["type"]) == (404, "Not Found")
    assert error["message"] == f"Error while {doing}: {what} not found"


def test_unknown_route_and_wrong_method_are_sap_404(client: FlaskClient) -> None:
    unknown = client.get("/sap/scheduler/nothing", headers=BASIC)
    assert unknown.status_code == 404
    assert unknown.get_json() == sap_error(404, "Not Found", "Cannot GET /sap/scheduler/nothing",
                                           "Not Found")
    create_job(client)
    wrong = client.patch(f"{JOBS}/1", json={}, headers=BASIC)
    assert wrong.status_code == 404
    assert wrong.get_json() == sap_error(
        404, "Not Found", "Cannot PATCH /sap/scheduler/jobs/1 (supported here: GET, DELETE)",
        "Not Found")


# -- validation errors ------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"calmConfig": {}}, "'calmConfig' object cannot be empty"),
    ({"calmConfig": {"enabled": "yes"}}, "'enabled' in 'calmConfig' must be of type 'boolean'"),
    ({"name": "12345"},
     "'name' must contain only letters, digits, '_' and '-', and not only digits"),
    ({"httpMethod": "PATCH"}, "'httpMethod' must be one of GET, POST, PUT, DELETE"),
    ({"schedules": []}, "'schedules' must contain at least 1 item(s)"),
    ({"schedules": [{"cron": "* * * * * */10 0", "time": "now", "active": True}]},
     "specify at most one of cron, time, repeatInterval, repeatAt"),
    ({"schedules": [{"active": True}]},
     "specify exactly one of cron, time, repeatInterval, repeatAt"),
    ({"schedules": [{"cron": "* * * * * */10 0"}]},
     "'active' in 'schedules' is a required property"),
    ({"startTime": "not a date"}, "'startTime' is not a valid date"),
])
def test_invalid_job_is_400(client: FlaskClient, changes: dict[str, Any], message: str) -> None:
    response = client.post(JOBS, json=job_body(**changes), headers=BASIC)
    assert response.status_code == 400
    error = response.get_json()
    assert (error["code"], error["type"]) == (400, BAD_REQUEST)
    assert error["message"] == f"Error while creating job: {message}"


def test_all_issues_are_listed_in_detailed_error(client: FlaskClient) -> None:
    body = job_body(httpMethod="PATCH")
    del body["description"]
    error = client.post(JOBS, json=body, headers=BASIC).get_json()
    assert "'description' is a required property" in error["detailedError"]
    assert "'httpMethod' must be one of GET, POST, PUT, DELETE" in error["detailedError"]


@pytest.mark.parametrize(("body", "message"), [
    ({"message": "no success"}, "'success' is a required property"),
    ({"success": "true"}, "'success' must be of type 'boolean'"),
])
def test_invalid_seed_body_is_400(client: FlaskClient, body: dict[str, Any],
                                  message: str) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    response = client.put(runs_url(job_id, schedule_id, run_id), json=body, headers=BASIC)
    assert response.status_code == 400
    assert response.get_json() == sap_error(400, f"Error while updating run log: {message}")


def test_non_integer_job_id_is_400(client: FlaskClient) -> None:
    response = client.get(f"{JOBS}/abc", headers=BASIC)
    assert response.status_code == 400
    assert response.get_json() == sap_error(
        400, "Error while fetching job details: 'jobId' must be of type 'integer'")


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(JOBS, data="{bad", content_type="application/json", headers=BASIC)
    assert response.status_code == 400
    assert response.get_json() == sap_error(
        400, "Error while creating job: request body is not valid JSON "
             "(JSON decode error: Expecting property name enclosed in double quotes)")


def test_wrong_content_type_is_400(client: FlaskClient) -> None:
    response = client.post(JOBS, data="name=x", content_type="text/plain", headers=BASIC)
    assert response.status_code == 400
    assert response.get_json() == sap_error(
        400, "Error while creating job: Content-Type must be application/json (got text/plain)")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", JOBS), ("POST", f"{JOBS}/1/schedules"),
    ("PUT", f"{JOBS}/1/schedules/{UNKNOWN_SCHEDULE}/runs/{UNKNOWN_RUN}"), ("GET", JOBS),
])
def test_oversize_body_is_413(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method, data=b" " * (100 * 1024 + 1),
                           content_type="application/json", headers=BASIC)
    assert response.status_code == 413
    assert response.get_json() == sap_error(413, "request entity too large",
                                            "request body exceeds the limit of 100 KB",
                                            "Payload Too Large")


# -- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "why"), [
    ({}, "no credentials: send HTTP Basic credentials or a Bearer token"),
    ({"Authorization": "Basic " + base64.b64encode(b"jobmock:wrong").decode()},
     "wrong user or password (HTTP Basic)"),
    ({"Authorization": "Basic %%%"}, "wrong user or password (HTTP Basic)"),
    (bearer(token(secret="other")), "invalid bearer token: the signature does not match"),
    (bearer(token(expires_in=-60)), "invalid bearer token: the token has expired"),
    (bearer("jobmock"),
     "invalid bearer token: not an acceptable HS256 JWT (Not enough segments)"),
    (bearer(token(exp=None)),
     "invalid bearer token: not an acceptable HS256 JWT "
     "(Token is missing the \"exp\" claim)"),
    ({"Authorization": "Token jobmock"},
     "unsupported authorization scheme 'token': use Basic or Bearer"),
])
def test_auth_failures_are_401(client: FlaskClient, headers: dict[str, str], why: str) -> None:
    response = client.get(JOBS, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == sap_error(401, "Unauthorized", f"Unauthorized: {why}",
                                            "Unauthorized")


def test_basic_and_jwt_bearer_are_accepted(client: FlaskClient) -> None:
    assert client.get(JOBS, headers=BASIC).status_code == 200
    assert client.get(JOBS, headers=bearer(token(scope=["jobscheduler.Jobs"]))).status_code == 200


def test_configured_credentials_replace_the_defaults(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("sap", basic_user="sb-app", basic_password="s3cret",
                         jwt_secret="signing-key")
    custom = {"Authorization": "Basic " + base64.b64encode(b"sb-app:s3cret").decode()}
    assert client.get(JOBS, headers=custom).status_code == 200
    assert client.get(JOBS, headers=bearer(token(secret="signing-key"))).status_code == 200
    assert client.get(JOBS, headers=BASIC).status_code == 401
    assert client.get(JOBS, headers=bearer(token())).status_code == 401


def test_auth_is_checked_before_validation_and_routing_of_known_paths(
        client: FlaskClient) -> None:
    response = client.post(JOBS, data="{bad", content_type="application/json")
    assert response.status_code == 401


# -- control-API actions ----------------------------------------------------------------------


def test_actions_are_listed_with_their_docs(client: FlaskClient) -> None:
    listed = client.get(ACTIONS).get_json()["actions"]
    assert [a["name"] for a in listed] == ["fire-schedule", "set-run-state"]
    assert all(a["doc"] for a in listed)


def test_fire_schedule_creates_a_running_run(client: FlaskClient) -> None:
    job = create_job(client)
    schedule_id = job["schedules"][0]["scheduleId"]
    advance(client, 60)
    response = drive(client, "fire-schedule", job_id="1", schedule_id=schedule_id)
    assert response.status_code == 200
    run = response.get_json()
    assert (run["runStatus"], run["runState"], run["scheduleTimestamp"]) == (
        "RUNNING", "TRIGGERED", "2026-01-01T00:01:00")
    read = client.get(runs_url(1, schedule_id, run["runId"]), headers=BASIC).get_json()
    assert read == run


@pytest.mark.parametrize(("params", "status", "error"), [
    ({"job_id": 9, "schedule_id": UNKNOWN_SCHEDULE}, 404,
     "Error while firing schedule: Job not found"),
    ({"job_id": 1, "schedule_id": UNKNOWN_SCHEDULE}, 404,
     "Error while firing schedule: Schedule not found"),
    ({"job_id": "one", "schedule_id": UNKNOWN_SCHEDULE}, 400,
     "job_id must be an integer, got 'one'"),
])
def test_fire_schedule_refusals(client: FlaskClient, params: dict[str, Any], status: int,
                                error: str) -> None:
    create_job(client)
    response = drive(client, "fire-schedule", **params)
    assert (response.status_code, response.get_json()) == (status, {"error": error})


def test_set_run_state_walks_the_lifecycle_with_timestamps(client: FlaskClient) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    ids = {"job_id": job_id, "schedule_id": schedule_id, "run_id": run_id}
    advance(client, 30)
    acked = drive(client, "set-run-state", **ids, runStatus="RUNNING", runState="ACK_RECVD")
    assert (acked.status_code, acked.get_json()["httpStatus"]) == (200, 202)
    advance(client, 30)
    done = drive(client, "set-run-state", **ids, runStatus="COMPLETED", runState="UNKNOWN")
    assert done.get_json()["completionTimestamp"] == "2026-01-01T00:01:00"
    read = client.get(runs_url(job_id, schedule_id, run_id), headers=BASIC).get_json()
    assert {k: read[k] for k in ("runStatus", "runState", "httpStatus", "scheduleTimestamp",
                                 "executionTimestamp", "completionTimestamp")} == {
        "runStatus": "COMPLETED", "runState": "UNKNOWN", "httpStatus": 202,
        "scheduleTimestamp": "2026-01-01T00:00:00", "executionTimestamp": "2026-01-01T00:00:00",
        "completionTimestamp": "2026-01-01T00:01:00"}


def test_set_run_state_sets_http_status(client: FlaskClient) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    done = drive(client, "set-run-state", job_id=job_id, schedule_id=schedule_id,
                 run_id=run_id, runStatus="COMPLETED", runState="REQUEST_ERROR",
                 httpStatus=503)
    assert (done.get_json()["httpStatus"], done.get_json()["runState"]) == (503,
                                                                            "REQUEST_ERROR")


@pytest.mark.parametrize(("first", "then", "status"), [
    (None, ("RUNNING", "SUCCESS"), 409),
    (None, ("SCHEDULED", "SCHEDULED"), 409),
    (("COMPLETED", "SUCCESS"), ("RUNNING", "TRIGGERED"), 409),
    (("COMPLETED", "SUCCESS"), ("COMPLETED", "ERROR"), 409),
    (None, ("DONE", "SUCCESS"), 400),
    (None, ("COMPLETED", "DONE"), 400),
])
def test_set_run_state_refuses_illegal_moves(client: FlaskClient,
                                             first: tuple[str, str] | None,
                                             then: tuple[str, str], status: int) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    ids = {"job_id": job_id, "schedule_id": schedule_id, "run_id": run_id}
    if first:
        drive(client, "set-run-state", **ids, runStatus=first[0], runState=first[1])
    before = client.get(runs_url(job_id, schedule_id, run_id), headers=BASIC).get_json()
    response = drive(client, "set-run-state", **ids, runStatus=then[0], runState=then[1])
    assert response.status_code == status
    assert then[0] in response.get_json()["error"]
    after = client.get(runs_url(job_id, schedule_id, run_id), headers=BASIC).get_json()
    assert after == before


@pytest.mark.parametrize(("params", "status"), [
    ({"run_id": UNKNOWN_RUN}, 404),
    ({"httpStatus": 99}, 400),
    ({"httpStatus": "200"}, 400),
    ({"runState": None}, 400),
])
def test_set_run_state_bad_arguments(client: FlaskClient, params: dict[str, Any],
                                     status: int) -> None:
    job_id, schedule_id, run_id = run_now_job(client)
    args = {"job_id": job_id, "schedule_id": schedule_id, "run_id": run_id,
            "runStatus": "COMPLETED", "runState": "SUCCESS", **params}
    args = {k: v for k, v in args.items() if v is not None}
    response = drive(client, "set-run-state", **args)
    assert response.status_code == status
    assert response.get_json()["error"]


def test_reset_forgets_sap_state_and_restarts_ids(client: FlaskClient) -> None:
    create_job(client)
    assert client.post("/__jobmock/reset", json={"api": "sap"}).status_code == 200
    assert client.get(JOBS, headers=BASIC).get_json()["total"] == 0
    assert create_job(client)["_id"] == 1
