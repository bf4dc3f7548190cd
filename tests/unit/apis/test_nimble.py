"""Nimble Jobs API v1 through the Flask test client: ids, the seed PATCH, runs and their
lifecycle, lists, deletes, the control actions and every FastAPI error shape (issue 3).

Nimble has no tenants (one API key, one account), so there is no isolation test here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

AUTH = {"Authorization": "Bearer jobmock"}
BASE = "/nimble/v1/jobs"
ACTIONS = "/__jobmock/apis/nimble/actions"
T0 = "2026-01-01T00:00:00"
OPERATIONS = [
    ("GET", BASE), ("POST", BASE), ("GET", f"{BASE}/job_1"), ("PATCH", f"{BASE}/job_1"),
    ("DELETE", f"{BASE}/job_1"), ("POST", f"{BASE}/job_1/runs"), ("GET", f"{BASE}/job_1/runs"),
    ("GET", f"{BASE}/runs/run_1"), ("POST", f"{BASE}/runs/run_1/cancel"),
]
SCHEDULE = {"cron": "0 6 * * *", "enabled": True}
SEED_BODY = {
    "display_name": "Daily product prices",
    "description": "Refresh product prices every morning",
    "schedule": SCHEDULE,
    "inputs": {"file_path": "s3://acme-inputs/products.csv", "data": [{}]},
    "destination": {"path": "s3://acme-results/prices/", "format": "parquet"},
}


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client("nimble")


def body_of(response: TestResponse) -> Any:
    """The JSON body of a response (typed Any for the assertions)."""
    return response.json


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "daily-product-prices", "agent_name": "amazon_product_page", **fields}
    response = client.post(BASE, json=body, headers=AUTH)
    assert response.status_code == 201, response.json
    job: dict[str, Any] = body_of(response)
    return job


def trigger(client: FlaskClient, job_id: str) -> dict[str, Any]:
    response = client.post(f"{BASE}/{job_id}/runs", headers=AUTH)
    assert response.status_code == 201, response.json
    run: dict[str, Any] = body_of(response)
    return run


def act(client: FlaskClient, name: str, **kwargs: Any) -> TestResponse:
    return client.post(f"{ACTIONS}/{name}", json=kwargs)


def move(client: FlaskClient, run_id: str, status: str, **counts: int) -> dict[str, Any]:
    response = act(client, "set-run-status", run_id=run_id, status=status, **counts)
    assert response.status_code == 200, response.json
    run: dict[str, Any] = body_of(response)
    return run


def get_json(client: FlaskClient, path: str) -> Any:
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200, response.json
    return response.json


# -- ids and creation -------------------------------------------------------------------------


def test_create_returns_the_job_with_job_1_and_equal_timestamps(client: FlaskClient) -> None:
    job = create(client, **SEED_BODY)
    assert job == {"id": "job_1", "name": "daily-product-prices",
                   "agent_name": "amazon_product_page", **SEED_BODY, "last_run_at": None,
                   "last_run_status": None, "created_at": f"{T0}.001Z",
                   "updated_at": f"{T0}.001Z"}
    assert get_json(client, f"{BASE}/job_1") == job


def test_job_and_run_ids_count_up_from_1_and_are_never_reused(client: FlaskClient) -> None:
    assert [create(client)["id"] for _ in range(2)] == ["job_1", "job_2"]
    assert [trigger(client, j)["id"] for j in ("job_1", "job_2", "job_1")] == [
        "run_1", "run_2", "run_3"]
    assert client.delete(f"{BASE}/job_2", headers=AUTH).status_code == 204
    assert create(client)["id"] == "job_3"
    assert trigger(client, "job_3")["id"] == "run_4"


def test_create_accepts_inputs_and_destination_without_type(client: FlaskClient) -> None:
    job = create(client, inputs={"file_path": "s3://in.csv"}, destination={"path": "s3://out/"})
    assert (job["inputs"], job["destination"]) == ({"file_path": "s3://in.csv"},
                                                   {"path": "s3://out/"})


# -- the seed PATCH -----------------------------------------------------------------------------


def test_seed_patch_sets_the_fields_and_get_shows_exactly_that(client: FlaskClient) -> None:
    created = create(client)
    response = client.patch(f"{BASE}/job_1", json=SEED_BODY, headers=AUTH)
    assert response.status_code == 200
    assert response.json == {**created, **SEED_BODY, "updated_at": f"{T0}.002Z"}
    assert get_json(client, f"{BASE}/job_1") == response.json


def test_patch_changes_only_the_fields_sent(client: FlaskClient) -> None:
    created = create(client, **SEED_BODY)
    response = client.patch(f"{BASE}/job_1", json={"display_name": "Prices (morning)"},
                            headers=AUTH)
    expected = {**created, "display_name": "Prices (morning)", "updated_at": f"{T0}.002Z"}
    assert response.json == expected
    assert get_json(client, f"{BASE}/job_1") == expected


def test_patch_explicit_null_clears_a_field(client: FlaskClient) -> None:
    created = create(client, **SEED_BODY)
    body = {"description": None, "schedule": None}
    response = client.patch(f"{BASE}/job_1", json=body, headers=AUTH)
    expected = {**created, **body, "updated_at": f"{T0}.002Z"}
    assert response.json == expected
    assert get_json(client, f"{BASE}/job_1") == expected


def test_patch_ignores_name_agent_name_and_unknown_fields(client: FlaskClient) -> None:
    created = create(client)
    body = {"name": "renamed", "agent_name": "other", "colour": "blue"}
    response = client.patch(f"{BASE}/job_1", json=body, headers=AUTH)
    assert response.json == {**created, "updated_at": f"{T0}.002Z"}


def test_every_patch_bumps_updated_at_and_keeps_created_at(client: FlaskClient) -> None:
    created = create(client)
    stamps = [body_of(client.patch(f"{BASE}/job_1", json={}, headers=AUTH))["updated_at"]
              for _ in range(3)]
    assert stamps == [f"{T0}.002Z", f"{T0}.003Z", f"{T0}.004Z"]
    assert get_json(client, f"{BASE}/job_1")["created_at"] == created["created_at"]


def test_patch_of_an_unknown_job_is_404(client: FlaskClient) -> None:
    response = client.patch(f"{BASE}/job_9", json={"description": "x"}, headers=AUTH)
    assert (response.status_code, response.json) == (404, {"detail": "Job job_9 not found"})


def test_patch_keeps_the_last_run_fields(client: FlaskClient) -> None:
    create(client)
    run = trigger(client, "job_1")
    job = body_of(client.patch(f"{BASE}/job_1", json={"description": "x"}, headers=AUTH))
    assert (job["last_run_at"], job["last_run_status"]) == (run["created_at"], "PENDING")


# -- trigger and runs -------------------------------------------------------------------------


def test_trigger_creates_a_pending_manual_run_and_notes_it_on_the_job(
        client: FlaskClient) -> None:
    created = create(client)
    run = trigger(client, "job_1")
    assert run == {"id": "run_1", "job_id": "job_1", "status": "PENDING",
                   "triggered_by": "manual", "input_count": None, "result_count": None,
                   "started_at": None, "finished_at": None, "created_at": f"{T0}.002Z"}
    assert get_json(client, f"{BASE}/job_1") == {
        **created, "last_run_at": f"{T0}.002Z", "last_run_status": "PENDING"}


def test_a_newer_run_takes_over_the_job_last_run_fields(client: FlaskClient) -> None:
    create(client)
    first = trigger(client, "job_1")
    second = trigger(client, "job_1")
    move(client, first["id"], "RUNNING")
    job = get_json(client, f"{BASE}/job_1")
    assert (job["last_run_at"], job["last_run_status"]) == (second["created_at"], "PENDING")
    move(client, second["id"], "FAILED")
    assert get_json(client, f"{BASE}/job_1")["last_run_status"] == "FAILED"


def test_trigger_of_an_unknown_job_is_404(client: FlaskClient) -> None:
    response = client.post(f"{BASE}/job_1/runs", headers=AUTH)
    assert (response.status_code, response.json) == (404, {"detail": "Job job_1 not found"})


def test_get_run_shows_the_detail_with_the_job_context(client: FlaskClient) -> None:
    create(client, display_name="Prices", schedule=SCHEDULE)
    trigger(client, "job_1")
    assert get_json(client, f"{BASE}/runs/run_1") == {
        "id": "run_1", "status": "PENDING", "triggered_by": "manual",
        "job": {"id": "job_1", "name": "daily-product-prices", "display_name": "Prices",
                "agent_name": "amazon_product_page", "schedule": SCHEDULE},
        "summary": {"input_count": None, "result_count": None, "match_rate": None},
        "inputs_sample": [], "error": None, "started_at": None, "finished_at": None,
        "created_at": f"{T0}.002Z"}


def test_get_or_cancel_an_unknown_run_is_404(client: FlaskClient) -> None:
    for response in (client.get(f"{BASE}/runs/run_5", headers=AUTH),
                     client.post(f"{BASE}/runs/run_5/cancel", headers=AUTH)):
        assert (response.status_code, response.json) == (404, {"detail": "Run run_5 not found"})


# -- the control API drives runs ----------------------------------------------------------------


def test_set_run_status_walks_a_run_to_success_with_consistent_timestamps(
        client: FlaskClient) -> None:
    create(client)
    run = trigger(client, "job_1")
    running = move(client, "run_1", "RUNNING")
    assert running == {**run, "status": "RUNNING", "started_at": f"{T0}.003Z"}
    done = move(client, "run_1", "SUCCESS", input_count=4, result_count=3)
    assert done == {**running, "status": "SUCCESS", "input_count": 4, "result_count": 3,
                    "finished_at": f"{T0}.004Z"}
    assert run["created_at"] < done["started_at"] < done["finished_at"]
    detail = get_json(client, f"{BASE}/runs/run_1")
    assert detail["summary"] == {"input_count": 4, "result_count": 3, "match_rate": 0.75}
    assert (detail["status"], detail["started_at"], detail["finished_at"]) == (
        "SUCCESS", f"{T0}.003Z", f"{T0}.004Z")
    assert get_json(client, f"{BASE}/job_1/runs")["items"] == [done]
    job = get_json(client, f"{BASE}/job_1")
    assert (job["last_run_at"], job["last_run_status"]) == (run["created_at"], "SUCCESS")


@pytest.mark.parametrize("final", ["SUCCESS", "FAILED", "TIMEOUT", "WARNING", "CANCELLED"])
def test_every_final_status_is_reachable_from_running(client: FlaskClient, final: str) -> None:
    create(client)
    trigger(client, "job_1")
    move(client, "run_1", "RUNNING")
    moved = move(client, "run_1", final)
    assert (moved["status"], moved["started_at"], moved["finished_at"]) == (
        final, f"{T0}.003Z", f"{T0}.004Z")
    assert get_json(client, f"{BASE}/job_1")["last_run_status"] == final


def test_a_pending_run_that_fails_never_started(client: FlaskClient) -> None:
    create(client)
    trigger(client, "job_1")
    failed = move(client, "run_1", "FAILED")
    assert (failed["started_at"], failed["finished_at"]) == (None, f"{T0}.003Z")


@pytest.mark.parametrize(("path", "target"), [
    ((), "SUCCESS"), ((), "TIMEOUT"), ((), "WARNING"),
    (("RUNNING",), "PENDING"),
    (("RUNNING", "SUCCESS"), "RUNNING"), (("RUNNING", "SUCCESS"), "FAILED"),
    (("CANCELLED",), "RUNNING"), (("FAILED",), "PENDING"),
])
def test_set_run_status_refuses_illegal_moves_with_409(
        client: FlaskClient, path: tuple[str, ...], target: str) -> None:
    create(client)
    trigger(client, "job_1")
    for status in path:
        move(client, "run_1", status)
    before = get_json(client, f"{BASE}/runs/run_1")
    response = act(client, "set-run-status", run_id="run_1", status=target)
    current = path[-1] if path else "PENDING"
    assert (response.status_code, response.json) == (
        409, {"error": f"Run run_1 is {current} and cannot become {target}"})
    assert get_json(client, f"{BASE}/runs/run_1") == before


def test_set_run_status_of_an_unknown_run_is_404(client: FlaskClient) -> None:
    response = act(client, "set-run-status", run_id="run_3", status="RUNNING")
    assert (response.status_code, response.json) == (404, {"error": "Run run_3 not found"})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"run_id": "run_1", "status": "DONE"},
     "status must be one of PENDING, RUNNING, SUCCESS, FAILED, CANCELLED, TIMEOUT, WARNING, "
     "got 'DONE'"),
    ({"run_id": "run_1", "status": ["RUNNING"]},
     "status must be one of PENDING, RUNNING, SUCCESS, FAILED, CANCELLED, TIMEOUT, WARNING, "
     "got ['RUNNING']"),
    ({"run_id": 1, "status": "RUNNING"}, "run_id must be a string, got 1"),
    ({"run_id": "run_1", "status": "RUNNING", "input_count": -1},
     "input_count must be an integer >= 0, got -1"),
    ({"run_id": "run_1", "status": "RUNNING", "result_count": "3"},
     "result_count must be an integer >= 0, got '3'"),
])
def test_set_run_status_rejects_bad_arguments_with_400(
        client: FlaskClient, kwargs: dict[str, Any], message: str) -> None:
    create(client)
    trigger(client, "job_1")
    response = act(client, "set-run-status", **kwargs)
    assert (response.status_code, response.json) == (400, {"error": message})
    assert get_json(client, f"{BASE}/runs/run_1")["status"] == "PENDING"


def test_set_run_status_without_its_arguments_is_400(client: FlaskClient) -> None:
    response = act(client, "set-run-status", run_id="run_1")
    assert response.status_code == 400
    assert "missing a required argument: 'status'" in body_of(response)["error"]


def test_fire_schedule_starts_a_scheduled_run(client: FlaskClient) -> None:
    create(client, schedule=SCHEDULE)
    response = act(client, "fire-schedule", job_id="job_1")
    assert response.status_code == 200
    assert response.json == {"id": "run_1", "job_id": "job_1", "status": "PENDING",
                             "triggered_by": "schedule", "input_count": None,
                             "result_count": None, "started_at": None, "finished_at": None,
                             "created_at": f"{T0}.002Z"}
    assert get_json(client, f"{BASE}/job_1")["last_run_at"] == f"{T0}.002Z"


@pytest.mark.parametrize(("schedule", "status", "message"), [
    (None, 409, "Job job_1 has no enabled schedule"),
    ({"cron": "0 6 * * *", "enabled": False}, 409, "Job job_1 has no enabled schedule"),
])
def test_fire_schedule_refuses_a_job_without_an_enabled_schedule(
        client: FlaskClient, schedule: Any, status: int, message: str) -> None:
    create(client, schedule=schedule)
    response = act(client, "fire-schedule", job_id="job_1")
    assert (response.status_code, response.json) == (status, {"error": message})
    assert get_json(client, f"{BASE}/job_1/runs")["total"] == 0


def test_fire_schedule_of_an_unknown_job_is_404(client: FlaskClient) -> None:
    response = act(client, "fire-schedule", job_id="job_4")
    assert (response.status_code, response.json) == (404, {"error": "Job job_4 not found"})


def test_the_actions_are_listed_with_their_docs(client: FlaskClient) -> None:
    response = client.get(ACTIONS)
    assert [a["name"] for a in body_of(response)["actions"]] == ["fire-schedule", "set-run-status"]
    assert all(a["doc"] for a in body_of(response)["actions"])


# -- cancel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [(), ("RUNNING",)])
def test_cancel_moves_a_pending_or_running_run_to_cancelled(
        client: FlaskClient, path: tuple[str, ...]) -> None:
    create(client)
    trigger(client, "job_1")
    for status in path:
        move(client, "run_1", status)
    response = client.post(f"{BASE}/runs/run_1/cancel", headers=AUTH)
    assert (response.status_code, response.json) == (200, {"id": "run_1", "status": "CANCELLED"})
    detail = get_json(client, f"{BASE}/runs/run_1")
    started = f"{T0}.003Z" if path else None
    finished = f"{T0}.00{3 + len(path)}Z"
    assert (detail["status"], detail["started_at"], detail["finished_at"]) == (
        "CANCELLED", started, finished)
    assert get_json(client, f"{BASE}/job_1")["last_run_status"] == "CANCELLED"


@pytest.mark.parametrize("path", [
    ("RUNNING", "SUCCESS"), ("RUNNING", "FAILED"), ("RUNNING", "TIMEOUT"),
    ("RUNNING", "WARNING"), ("CANCELLED",), ("FAILED",),
])
def test_cancel_of_a_finished_run_is_409(client: FlaskClient, path: tuple[str, ...]) -> None:
    create(client)
    trigger(client, "job_1")
    for status in path:
        move(client, "run_1", status)
    before = get_json(client, f"{BASE}/runs/run_1")
    response = client.post(f"{BASE}/runs/run_1/cancel", headers=AUTH)
    assert (response.status_code, response.json) == (
        409, {"detail": f"Run run_1 is already finished ({path[-1]})"})
    assert get_json(client, f"{BASE}/runs/run_1") == before


# -- lists --------------------------------------------------------------------------------------


def test_jobs_page_with_page_per_page_and_total(client: FlaskClient) -> None:
    ids = [create(client, name=f"job-{n}")["id"] for n in range(5)]
    pages = [get_json(client, f"{BASE}?page={p}&per_page=2") for p in (1, 2, 3, 4)]
    assert [[j["id"] for j in p["items"]] for p in pages] == [ids[0:2], ids[2:4], ids[4:], []]
    assert [(p["total"], p["page"], p["per_page"]) for p in pages] == [
        (5, 1, 2), (5, 2, 2), (5, 3, 2), (5, 4, 2)]
    default = get_json(client, BASE)
    assert (len(default["items"]), default["total"], default["page"], default["per_page"]) == (
        5, 5, 1, 20)
    assert default["items"][0] == get_json(client, f"{BASE}/job_1")


def test_jobs_q_searches_name_and_display_name_case_insensitively(client: FlaskClient) -> None:
    create(client, name="competitor-prices")
    create(client, name="catalog", display_name="Weekly PRICES")
    create(client, name="reviews")
    found = get_json(client, f"{BASE}?q=prices")
    assert ([j["id"] for j in found["items"]], found["total"]) == (["job_1", "job_2"], 2)
    assert get_json(client, f"{BASE}?q=nothing") == {
        "items": [], "total": 0, "page": 1, "per_page": 20}


def test_jobs_filter_by_agent_name(client: FlaskClient) -> None:
    create(client, agent_name="google_search")
    create(client, agent_name="amazon_product_page")
    create(client, agent_name="google_search", name="second")
    found = get_json(client, f"{BASE}?agent_name=google_search&per_page=1&page=2")
    assert ([j["id"] for j in found["items"]], found["total"]) == (["job_3"], 2)
    both = get_json(client, f"{BASE}?agent_name=google_search&q=second")
    assert [j["id"] for j in both["items"]] == ["job_3"]


def test_runs_list_newest_first_with_paging_and_only_the_job_runs(client: FlaskClient) -> None:
    create(client)
    create(client)
    for job_id in ("job_1", "job_2", "job_1", "job_1"):
        trigger(client, job_id)
    page = get_json(client, f"{BASE}/job_1/runs?per_page=2")
    assert ([r["id"] for r in page["items"]], page["total"], page["page"], page["per_page"]) == (
        ["run_4", "run_3"], 3, 1, 2)
    page = get_json(client, f"{BASE}/job_1/runs?per_page=2&page=2")
    assert [r["id"] for r in page["items"]] == ["run_1"]
    assert [r["id"] for r in get_json(client, f"{BASE}/job_2/runs")["items"]] == ["run_2"]


def test_runs_filter_by_status(client: FlaskClient) -> None:
    create(client)
    for _ in range(3):
        trigger(client, "job_1")
    move(client, "run_1", "FAILED")
    move(client, "run_3", "RUNNING")
    failed = get_json(client, f"{BASE}/job_1/runs?status=FAILED")
    assert ([r["id"] for r in failed["items"]], failed["total"]) == (["run_1"], 1)
    pending = get_json(client, f"{BASE}/job_1/runs?status=PENDING")
    assert [r["id"] for r in pending["items"]] == ["run_2"]
    assert get_json(client, f"{BASE}/job_1/runs?status=BOGUS")["total"] == 0


def test_runs_of_an_unknown_job_is_404(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/job_3/runs", headers=AUTH)
    assert (response.status_code, response.json) == (404, {"detail": "Job job_3 not found"})


BAD_PAGING = [
    ("per_page=201", {"type": "less_than_equal", "loc": ["query", "per_page"],
                      "msg": "Input should be less than or equal to 200", "input": 201,
                      "ctx": {"le": 200}}),
    ("per_page=0", {"type": "greater_than_equal", "loc": ["query", "per_page"],
                    "msg": "Input should be greater than or equal to 1", "input": 0,
                    "ctx": {"ge": 1}}),
    ("page=0", {"type": "greater_than_equal", "loc": ["query", "page"],
                "msg": "Input should be greater than or equal to 1", "input": 0,
                "ctx": {"ge": 1}}),
    ("page=two", {"type": "int_parsing", "loc": ["query", "page"],
                  "msg": "Input should be a valid integer, unable to parse string as an integer",
                  "input": "two"}),
]


@pytest.mark.parametrize("path", [BASE, f"{BASE}/job_1/runs"])
def test_bad_paging_is_a_422_list(client: FlaskClient, path: str) -> None:
    create(client)
    for query, entry in BAD_PAGING:
        response = client.get(f"{path}?{query}", headers=AUTH)
        assert (response.status_code, response.json) == (422, {"detail": [entry]}), query


# -- delete -------------------------------------------------------------------------------------


def test_delete_removes_the_job_and_its_runs(client: FlaskClient) -> None:
    create(client)
    create(client)
    trigger(client, "job_1")
    trigger(client, "job_2")
    response = client.delete(f"{BASE}/job_1", headers=AUTH)
    assert (response.status_code, response.data) == (204, b"")
    not_found = {"detail": "Job job_1 not found"}
    for request in (client.get, client.delete):
        reply = request(f"{BASE}/job_1", headers=AUTH)
        assert (reply.status_code, reply.json) == (404, not_found)
    assert client.get(f"{BASE}/job_1/runs", headers=AUTH).json == not_found
    gone = client.get(f"{BASE}/runs/run_1", headers=AUTH)
    assert (gone.status_code, gone.json) == (404, {"detail": "Run run_1 not found"})
    assert [j["id"] for j in get_json(client, BASE)["items"]] == ["job_2"]
    assert get_json(client, f"{BASE}/runs/run_2")["job"]["id"] == "job_2"


# -- error shapes -------------------------------------------------------------------------------


def test_create_without_agent_name_is_a_422_list(client: FlaskClient) -> None:
    response = client.post(BASE, json={"name": "one-off-check"}, headers=AUTH)
    assert (response.status_code, response.json) == (422, {"detail": [
        {"type": "missing", "loc": ["body", "agent_name"], "msg": "Field required",
         "input": None}]})


@pytest.mark.parametrize(("body", "entry"), [
    ({"schedule": {"cron": "0 6 * * *"}},
     {"type": "missing", "loc": ["body", "schedule", "enabled"], "msg": "Field required",
      "input": None}),
    ({"display_name": 5},
     {"type": "string_type", "loc": ["body", "display_name"],
      "msg": "Input should be a valid string", "input": 5}),
    ({"destination": {"path": "s3://x/", "format": "xml"}},
     {"type": "enum", "loc": ["body", "destination", "format"],
      "msg": "Input should be 'jsonl' or 'csv' or 'parquet'", "input": "xml",
      "ctx": {"expected": "'jsonl' or 'csv' or 'parquet'"}}),
    ({"inputs": {"file_path": "http://x"}},
     {"type": "string_pattern_mismatch", "loc": ["body", "inputs", "file_path"],
      "msg": "String should match pattern '^(s3|file_)'", "input": "http://x",
      "ctx": {"pattern": "^(s3|file_)"}}),
])
def test_patch_with_invalid_fields_is_a_422_list_and_changes_nothing(
        client: FlaskClient, body: dict[str, Any], entry: dict[str, Any]) -> None:
    created = create(client)
    response = client.patch(f"{BASE}/job_1", json=body, headers=AUTH)
    assert response.status_code == 422
    assert entry in body_of(response)["detail"]
    assert all(set(e) >= {"loc", "msg", "type"} for e in body_of(response)["detail"])
    assert get_json(client, f"{BASE}/job_1") == created


def test_patch_without_a_body_is_a_422(client: FlaskClient) -> None:
    create(client)
    response = client.patch(f"{BASE}/job_1", headers=AUTH)
    assert (response.status_code, response.json) == (422, {"detail": [
        {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]})


def test_malformed_json_is_a_422_json_invalid(client: FlaskClient) -> None:
    create(client)
    response = client.patch(f"{BASE}/job_1", data="{bad",
                            headers={**AUTH, "Content-Type": "application/json"})
    assert (response.status_code, response.json) == (422, {"detail": [
        {"type": "json_invalid", "loc": ["body", 1], "msg": "JSON decode error", "input": None,
         "ctx": {"error": "Expecting property name enclosed in double quotes"}}]})


def test_a_wrong_content_type_is_a_422(client: FlaskClient) -> None:
    response = client.post(BASE, data='{"name": "a", "agent_name": "b"}',
                           headers={**AUTH, "Content-Type": "text/plain"})
    assert (response.status_code, response.json) == (422, {"detail": [
        {"type": "model_attributes_type", "loc": ["body"],
         "msg": "Input should be a valid dictionary or object to extract fields from",
         "input": "text/plain"}]})
    assert get_json(client, BASE)["total"] == 0


def test_an_oversize_body_is_413(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", max_body_bytes=1000)
    body = {"name": "big", "agent_name": "a", "description": "x" * 2000}
    response = client.post(BASE, json=body, headers=AUTH)
    assert (response.status_code, response.json) == (
        413, {"detail": "Request body is larger than the limit of 1000 bytes"})
    assert get_json(client, BASE)["total"] == 0


def test_an_oversize_chunked_body_is_413_on_every_operation(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", max_body_bytes=1000)
    create(client)
    for method, path in OPERATIONS:
        response = client.open(path, method=method, headers=AUTH,
                               input_stream=io.BytesIO(b"{" * 3000),
                               environ_overrides={"wsgi.input_terminated": True})
        assert (response.status_code, response.json) == (
            413, {"detail": "Request body is larger than the limit of 1000 bytes"}), path
    assert get_json(client, f"{BASE}/job_1")["id"] == "job_1"




@pytest.mark.parametrize(("headers", "detail"), [
    ({}, "Not authenticated"),
    ({"Authorization": "Bearer wrong"}, "Invalid or missing API key"),
    ({"Authorization": "Bearer "}, "Invalid or missing API key"),
    ({"Authorization": "Basic am9ibW9jazpqb2Jtb2Nr"}, "Invalid or missing API key"),
    ({"Authorization": "jobmock"}, "Invalid or missing API key"),
])
def test_auth_failures_are_401_with_detail_on_every_operation(
        client: FlaskClient, headers: dict[str, str], detail: str) -> None:
    for method, path in OPERATIONS:
        response = client.open(path, method=method, headers=headers, json={})
        assert (response.status_code, response.json) == (401, {"detail": detail}), path
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_auth_failure_changes_nothing(client: FlaskClient) -> None:
    create(client)
    client.delete(f"{BASE}/job_1", headers={"Authorization": "Bearer wrong"})
    client.post(BASE, json={"name": "a", "agent_name": "b"})
    assert [j["id"] for j in get_json(client, BASE)["items"]] == ["job_1"]


@pytest.mark.parametrize("path", ["/nimble/v1/nothing", "/nimble/v3/jobs", "/nimble/",
                                  f"{BASE}/job_1/runs/run_1"])
def test_an_unknown_route_is_404_not_found(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=AUTH)
    assert (response.status_code, response.json) == (404, {"detail": "Not Found"})


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", f"{BASE}/job_1", "GET, PATCH, DELETE"),
    ("DELETE", BASE, "GET, POST"),
    ("DELETE", f"{BASE}/runs/run_1", "GET"),
    ("GET", f"{BASE}/runs/run_1/cancel", "POST"),
    ("PATCH", f"{BASE}/job_1/runs", "GET, POST"),
])
def test_a_wrong_method_is_405_with_allow(client: FlaskClient, method: str, path: str,
                                          allow: str) -> None:
    response = client.open(path, method=method, headers=AUTH)
    assert (response.status_code, response.json) == (405, {"detail": "Method Not Allowed"})
    assert sorted(response.headers["Allow"].split(", ")) == sorted(allow.split(", "))
