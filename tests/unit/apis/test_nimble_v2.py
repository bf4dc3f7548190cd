"""Nimble Jobs API v2 (the paths of nimble-python 1.6.0) through the Flask test client: the v2
view of the shared job store, limit/offset paging, trigger inputs, the run lifecycle and the
FastAPI error shapes (issue 5).

v1 is covered by test_nimble.py; here v1 appears only where the two versions meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

AUTH = {"Authorization": "Bearer jobmock"}
BASE = "/nimble/v2/jobs"
V1 = "/nimble/v1/jobs"
ACTIONS = "/__jobmock/apis/nimble/actions"
T0 = "2026-01-01T00:00:00"
OPERATIONS = [
    ("GET", BASE), ("POST", BASE), ("GET", f"{BASE}/job_1"), ("PATCH", f"{BASE}/job_1"),
    ("DELETE", f"{BASE}/job_1"), ("POST", f"{BASE}/job_1/runs"), ("GET", f"{BASE}/job_1/runs"),
    ("GET", f"{BASE}/runs/run_1"), ("POST", f"{BASE}/runs/run_1/cancel"),
]
SCHEDULE = {"cron": "0 6 * * *", "enabled": True}
FULL = {
    "display_name": "Competitor prices",
    "description": "Track two competitor listings",
    "schedule": SCHEDULE,
    "inputs": {"type": "inline", "data": [{"asin": "B0CHX1W1XY"}, {"asin": "B09G9FPHY6"}]},
    "destination": {"type": "s3", "path": "s3://acme-results/competitors/", "format": "jsonl"},
}
NULLS = {"display_name": None, "description": None, "schedule": None, "inputs": None,
         "destination": None}


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client("nimble")


def body_of(response: TestResponse) -> Any:
    return response.json


def create(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "competitor-prices", "extract_template_name": "amazon_product_page",
            **fields}
    response = client.post(BASE, json=body, headers=AUTH)
    assert response.status_code == 201, response.json
    job: dict[str, Any] = body_of(response)
    return job


def trigger(client: FlaskClient, job_id: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post(f"{BASE}/{job_id}/runs", headers=AUTH, **kwargs)
    assert response.status_code == 201, response.json
    run: dict[str, Any] = body_of(response)
    return run


def get_json(client: FlaskClient, path: str) -> Any:
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200, response.json
    return response.json


def move(client: FlaskClient, run_id: str, status: str, **counts: int) -> None:
    response = client.post(f"{ACTIONS}/set-run-status",
                           json={"run_id": run_id, "status": status, **counts})
    assert response.status_code == 200, response.json


def detail_422(response: TestResponse) -> list[tuple[str, list[Any]]]:
    assert response.status_code == 422, response.json
    return [(d["type"], d["loc"]) for d in body_of(response)["detail"]]


# -- jobs ---------------------------------------------------------------------------------------


def test_create_returns_the_v2_job_and_get_shows_exactly_that(client: FlaskClient) -> None:
    job = create(client, **FULL)
    assert job == {"id": "job_1", "name": "competitor-prices",
                   "extract_template_name": "amazon_product_page", **FULL,
                   "last_run_at": None, "last_run_status": None,
                   "created_at": f"{T0}.001Z", "updated_at": f"{T0}.001Z"}
    assert get_json(client, f"{BASE}/job_1") == job


def test_create_with_only_the_required_fields_sends_every_field(client: FlaskClient) -> None:
    assert create(client) == {"id": "job_1", "name": "competitor-prices",
                              "extract_template_name": "amazon_product_page", **NULLS,
                              "last_run_at": None, "last_run_status": None,
                              "created_at": f"{T0}.001Z", "updated_at": f"{T0}.001Z"}


def test_create_accepts_node_data_inputs_and_ignores_unknown_fields(client: FlaskClient) -> None:
    inputs = {"type": "inline", "node_data": {"source_a": [{"sku": "A-1"}], "source_b": []}}
    job = create(client, inputs=inputs, agent_name="ignored", colour="blue")
    assert job["inputs"] == inputs
    assert "agent_name" not in job and "colour" not in job


@pytest.mark.parametrize(("body", "expected"), [
    ({"name": "n"}, [("missing", ["body", "extract_template_name"])]),
    ({"name": "n", "agent_name": "v1-name"}, [("missing", ["body", "extract_template_name"])]),
    ({"extract_template_name": "t"}, [("missing", ["body", "name"])]),
    ({"name": "n", "extract_template_name": "t", "inputs": {"data": [{}]}},
     [("missing", ["body", "inputs", "type"])]),
    ({"name": "n", "extract_template_name": "t", "destination": {"path": "s3://x/"}},
     [("missing", ["body", "destination", "type"])]),
    ({"name": "n", "extract_template_name": "t",
      "destination": {"type": "s3", "path": "s3://x/", "format": None}},
     [("string_type", ["body", "destination", "format"]),
      ("enum", ["body", "destination", "format"])]),
    ({"name": "n", "extract_template_name": "t",
      "inputs": {"type": "s3", "file_path": "http://x"}},
     [("string_pattern_mismatch", ["body", "inputs", "file_path"])]),
    ({"name": "n", "extract_template_name": "t",
      "inputs": {"type": "inline", "node_data": {"a": {"sku": 1}}}},
     [("list_type", ["body", "inputs", "node_data", "a"])]),
])
def test_create_refuses_what_the_sdk_types_refuse(client: FlaskClient, body: dict[str, Any],
                                                  expected: list[Any]) -> None:
    assert detail_422(client.post(BASE, json=body, headers=AUTH)) == expected
    assert get_json(client, BASE)["total"] == 0


def test_data_and_node_data_are_mutually_exclusive(client: FlaskClient) -> None:
    inputs = {"type": "inline", "data": [{}], "node_data": {"a": [{}]}}
    response = client.post(BASE, json={"name": "n", "extract_template_name": "t",
                                       "inputs": inputs}, headers=AUTH)
    assert (response.status_code, response.json) == (422, {"detail": [
        {"type": "value_error", "loc": ["body", "inputs"],
         "msg": "Value error, data and node_data are mutually exclusive", "input": inputs,
         "ctx": {"error": "data and node_data are mutually exclusive"}}]})
    for nulls in ({**inputs, "data": None}, {**inputs, "node_data": None}):
        assert create(client, inputs=nulls)["inputs"] == nulls


def test_patch_changes_exactly_the_fields_sent_and_null_clears(client: FlaskClient) -> None:
    created = create(client, **FULL)
    body = {"display_name": "Competitors", "schedule": {"cron": "0 7 * * *", "enabled": False}}
    response = client.patch(f"{BASE}/job_1", json=body, headers=AUTH)
    expected = {**created, **body, "updated_at": f"{T0}.002Z"}
    assert (response.status_code, response.json) == (200, expected)
    response = client.patch(f"{BASE}/job_1", json={"description": None, "inputs": None},
                            headers=AUTH)
    expected = {**expected, "description": None, "inputs": None, "updated_at": f"{T0}.003Z"}
    assert response.json == expected
    assert get_json(client, f"{BASE}/job_1") == expected


def test_patch_ignores_name_template_and_unknown_fields(client: FlaskClient) -> None:
    created = create(client)
    body = {"name": "renamed", "extract_template_name": "other", "agent_name": "x", "y": 1}
    response = client.patch(f"{BASE}/job_1", json=body, headers=AUTH)
    assert response.json == {**created, "updated_at": f"{T0}.002Z"}


def test_patch_refusals(client: FlaskClient) -> None:
    created = create(client)
    response = client.patch(f"{BASE}/job_9", json={"description": "x"}, headers=AUTH)
    assert (response.status_code, response.json) == (404, {"detail": "Job job_9 not found"})
    untyped = client.patch(f"{BASE}/job_1", json={"inputs": {"file_path": "s3://in.csv"}},
                           headers=AUTH)
    assert detail_422(untyped) == [("missing", ["body", "inputs", "type"])]
    assert detail_422(client.patch(f"{BASE}/job_1", headers=AUTH)) == [("missing", ["body"])]
    assert get_json(client, f"{BASE}/job_1") == created


def test_delete_removes_the_job_its_runs_and_their_inputs(client: FlaskClient) -> None:
    create(client)
    create(client)
    trigger(client, "job_1", json={"inputs": {"type": "inline", "data": [{"a": 1}]}})
    trigger(client, "job_2")
    response = client.delete(f"{BASE}/job_1", headers=AUTH)
    assert (response.status_code, response.data) == (204, b"")
    for method in ("GET", "DELETE", "PATCH"):
        reply = client.open(f"{BASE}/job_1", method=method, headers=AUTH, json={})
        assert (reply.status_code, reply.json) == (404, {"detail": "Job job_1 not found"})
    gone = client.get(f"{BASE}/runs/run_1", headers=AUTH)
    assert (gone.status_code, gone.json) == (404, {"detail": "Run run_1 not found"})
    assert not body_of(client.get("/__jobmock/state"))["store"]["maps"].get("nimble:run-inputs")
    assert [j["id"] for j in get_json(client, BASE)["items"]] == ["job_2"]


# -- v1 and v2 are views of one store -----------------------------------------------------------


def test_ids_and_jobs_are_shared_between_v1_and_v2(client: FlaskClient) -> None:
    v1 = client.post(V1, json={"name": "old", "agent_name": "google_search"}, headers=AUTH).json
    v2 = create(client)
    assert (v1["id"], v2["id"]) == ("job_1", "job_2")
    as_v2 = get_json(client, f"{BASE}/job_1")
    assert as_v2 == {**{k: v for k, v in v1.items() if k != "agent_name"},
                     "extract_template_name": "google_search"}
    as_v1 = get_json(client, f"{V1}/job_2")
    assert as_v1 == {**{k: v for k, v in v2.items() if k != "extract_template_name"},
                     "agent_name": "amazon_product_page"}
    assert get_json(client, f"{V1}?agent_name=amazon_product_page")["items"] == [as_v1]
    run = trigger(client, "job_1")
    assert get_json(client, f"{V1}/job_1/runs")["items"] == [run]
    assert get_json(client, f"{V1}/runs/{run['id']}")["job"]["agent_name"] == "google_search"
    assert client.delete(f"{V1}/job_2", headers=AUTH).status_code == 204
    assert client.get(f"{BASE}/job_2", headers=AUTH).status_code == 404


@pytest.mark.parametrize(("inputs", "kind"), [
    ({"file_path": "s3://acme-inputs/products.csv"}, "s3"),
    ({"file_path": "file_upload_17.csv"}, "file"),
    ({"file_path": "s3://acme-inputs/products.csv", "data": [{}]}, "inline"),
    ({"data": [{"asin": "B0"}]}, "inline"),
    ({}, "inline"),
    ({"type": "file", "file_path": "s3://typed-wins.csv"}, "file"),
])
def test_the_v2_view_fills_in_the_inputs_type_v1_may_leave_out(
        client: FlaskClient, inputs: dict[str, Any], kind: str) -> None:
    body = {"name": "n", "agent_name": "a", "inputs": inputs}
    assert client.post(V1, json=body, headers=AUTH).status_code == 201
    assert get_json(client, f"{BASE}/job_1")["inputs"] == {**inputs, "type": kind}
    assert get_json(client, f"{V1}/job_1")["inputs"] == inputs


@pytest.mark.parametrize(("destination", "kind"), [
    ({"path": "s3://acme-results/prices/", "format": "parquet"}, "s3"),
    ({"path": "/exports/out.jsonl"}, "file"),
    ({"type": "file", "path": "s3://typed-wins/"}, "file"),
])
def test_the_v2_view_fills_in_the_destination_type_v1_may_leave_out(
        client: FlaskClient, destination: dict[str, Any], kind: str) -> None:
    body = {"name": "n", "agent_name": "a", "destination": destination}
    assert client.post(V1, json=body, headers=AUTH).status_code == 201
    assert get_json(client, f"{BASE}")["items"][0]["destination"] == {**destination,
                                                                      "type": kind}


@pytest.mark.parametrize("inputs", [
    {"type": "inline", "data": [{}], "node_data": {"a": [{}]}},
    {"type": "inline", "node_data": "not-v2-shaped"},
])
def test_node_data_v2_would_refuse_is_left_out_of_the_v2_view(
        client: FlaskClient, inputs: dict[str, Any]) -> None:
    body = {"name": "n", "agent_name": "a", "inputs": inputs}
    assert client.post(V1, json=body, headers=AUTH).status_code == 201
    shown = get_json(client, f"{BASE}/job_1")["inputs"]
    assert shown == {k: v for k, v in inputs.items() if k != "node_data"}


# -- lists --------------------------------------------------------------------------------------


def test_jobs_page_with_limit_offset_and_total(client: FlaskClient) -> None:
    ids = [create(client, name=f"job-{n}")["id"] for n in range(5)]
    pages = [get_json(client, f"{BASE}?limit=2&offset={o}") for o in (0, 2, 4, 6)]
    assert [[j["id"] for j in p["items"]] for p in pages] == [ids[0:2], ids[2:4], ids[4:], []]
    assert [(p["total"], p["limit"], p["offset"]) for p in pages] == [
        (5, 2, 0), (5, 2, 2), (5, 2, 4), (5, 2, 6)]
    assert get_json(client, f"{BASE}?offset=3&limit=1")["items"][0]["id"] == ids[3]
    default = get_json(client, BASE)
    assert (len(default["items"]), default["total"], default["limit"], default["offset"]) == (
        5, 5, 20, 0)
    assert default["items"][0] == get_json(client, f"{BASE}/job_1")


def test_runs_page_newest_first_with_limit_offset(client: FlaskClient) -> None:
    create(client)
    create(client)
    for job_id in ("job_1", "job_2", "job_1", "job_1"):
        trigger(client, job_id)
    page = get_json(client, f"{BASE}/job_1/runs?limit=2")
    assert ([r["id"] for r in page["items"]], page["total"], page["limit"], page["offset"]) == (
        ["run_4", "run_3"], 3, 2, 0)
    assert [r["id"] for r in get_json(client, f"{BASE}/job_1/runs?limit=2&offset=2")[
        "items"]] == ["run_1"]
    assert [r["id"] for r in get_json(client, f"{BASE}/job_2/runs")["items"]] == ["run_2"]
    missing = client.get(f"{BASE}/job_9/runs", headers=AUTH)
    assert (missing.status_code, missing.json) == (404, {"detail": "Job job_9 not found"})


BAD_PAGING = [
    ("limit=201", {"type": "less_than_equal", "loc": ["query", "limit"],
                   "msg": "Input should be less than or equal to 200", "input": 201,
                   "ctx": {"le": 200}}),
    ("limit=0", {"type": "greater_than_equal", "loc": ["query", "limit"],
                 "msg": "Input should be greater than or equal to 1", "input": 0,
                 "ctx": {"ge": 1}}),
    ("offset=-1", {"type": "greater_than_equal", "loc": ["query", "offset"],
                   "msg": "Input should be greater than or equal to 0", "input": -1,
                   "ctx": {"ge": 0}}),
    ("offset=two", {"type": "int_parsing", "loc": ["query", "offset"],
                    "msg": "Input should be a valid integer, unable to parse string as an "
                           "integer", "input": "two"}),
]


@pytest.mark.parametrize("path", [BASE, f"{BASE}/job_1/runs"])
def test_bad_paging_is_a_422_list(client: FlaskClient, path: str) -> None:
    create(client)
    for query, entry in BAD_PAGING:
        response = client.get(f"{path}?{query}", headers=AUTH)
        assert (response.status_code, response.json) == (422, {"detail": [entry]}), query


# -- runs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {}, {"json": {}}, {"json": None}, {"json": {"inputs": None}},
    {"data": "null", "content_type": "application/json"},
])
def test_trigger_without_inputs_starts_a_pending_manual_run(
        client: FlaskClient, kwargs: dict[str, Any]) -> None:
    created = create(client, **FULL)
    run = trigger(client, "job_1", **kwargs)
    assert run == {"id": "run_1", "job_id": "job_1", "status": "PENDING",
                   "triggered_by": "manual", "input_count": None, "result_count": None,
                   "started_at": None, "finished_at": None, "created_at": f"{T0}.002Z"}
    assert get_json(client, f"{BASE}/job_1") == {
        **created, "last_run_at": f"{T0}.002Z", "last_run_status": "PENDING"}
    assert get_json(client, f"{BASE}/runs/run_1")["inputs_sample"] == []


def test_trigger_inputs_apply_to_the_run_only(client: FlaskClient) -> None:
    created = create(client, **FULL)
    inputs = {"type": "inline", "data": [{"n": n} for n in range(12)]}
    trigger(client, "job_1", json={"inputs": inputs})
    sample = get_json(client, f"{BASE}/runs/run_1")["inputs_sample"]
    assert sample == [{"n": n} for n in range(10)]
    assert get_json(client, f"{V1}/runs/run_1")["inputs_sample"] == sample
    assert get_json(client, f"{BASE}/job_1")["inputs"] == created["inputs"]
    nodes = {"type": "inline", "node_data": {"a": [{"sku": 1}], "b": [{"sku": 2}]}}
    trigger(client, "job_1", json={"inputs": nodes})
    assert get_json(client, f"{BASE}/runs/run_2")["inputs_sample"] == [{"sku": 1}, {"sku": 2}]
    trigger(client, "job_1", json={"inputs": {"type": "s3", "file_path": "s3://in.csv"}})
    assert get_json(client, f"{BASE}/runs/run_3")["inputs_sample"] == []


def test_trigger_refusals(client: FlaskClient) -> None:
    missing = client.post(f"{BASE}/job_1/runs", headers=AUTH)
    assert (missing.status_code, missing.json) == (404, {"detail": "Job job_1 not found"})
    create(client)
    untyped = client.post(f"{BASE}/job_1/runs", json={"inputs": {"data": [{}]}}, headers=AUTH)
    assert detail_422(untyped) == [("missing", ["body", "inputs", "type"])]
    assert detail_422(client.post(f"{BASE}/job_1/runs", json=[], headers=AUTH)) == [
        ("dict_type", ["body"])]
    assert get_json(client, f"{BASE}/job_1/runs")["total"] == 0


def test_get_run_shows_the_detail_with_the_v2_job_context(client: FlaskClient) -> None:
    create(client, display_name="Prices", schedule=SCHEDULE)
    trigger(client, "job_1", json={"inputs": {"type": "inline", "data": [{"asin": "B0"}]}})
    assert get_json(client, f"{BASE}/runs/run_1") == {
        "id": "run_1", "status": "PENDING", "triggered_by": "manual",
        "job": {"id": "job_1", "name": "competitor-prices", "display_name": "Prices",
                "extract_template_name": "amazon_product_page", "schedule": SCHEDULE},
        "summary": {"input_count": None, "result_count": None, "match_rate": None},
        "inputs_sample": [{"asin": "B0"}], "error": None, "started_at": None,
        "finished_at": None, "created_at": f"{T0}.002Z"}
    move(client, "run_1", "RUNNING")
    move(client, "run_1", "SUCCESS", input_count=4, result_count=3)
    done = get_json(client, f"{BASE}/runs/run_1")
    assert (done["status"], done["started_at"], done["finished_at"], done["summary"]) == (
        "SUCCESS", f"{T0}.003Z", f"{T0}.004Z",
        {"input_count": 4, "result_count": 3, "match_rate": 0.75})
    assert get_json(client, f"{BASE}/job_1")["last_run_status"] == "SUCCESS"
    missing = client.get(f"{BASE}/runs/run_9", headers=AUTH)
    assert (missing.status_code, missing.json) == (404, {"detail": "Run run_9 not found"})


def test_cancel_obeys_the_run_states(client: FlaskClient) -> None:
    create(client)
    trigger(client, "job_1")
    trigger(client, "job_1")
    response = client.post(f"{BASE}/runs/run_2/cancel", headers=AUTH)
    assert (response.status_code, response.json) == (200, {"id": "run_2", "status": "CANCELLED"})
    assert get_json(client, f"{BASE}/job_1")["last_run_status"] == "CANCELLED"
    move(client, "run_1", "RUNNING")
    move(client, "run_1", "FAILED")
    for run_id, status in (("run_1", "FAILED"), ("run_2", "CANCELLED")):
        refused = client.post(f"{BASE}/runs/{run_id}/cancel", headers=AUTH)
        assert (refused.status_code, refused.json) == (
            409, {"detail": f"Run {run_id} is already finished ({status})"})
    missing = client.post(f"{BASE}/runs/run_9/cancel", headers=AUTH)
    assert (missing.status_code, missing.json) == (404, {"detail": "Run run_9 not found"})


# -- auth and routing -----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "detail"), [
    ({}, "Not authenticated"),
    ({"Authorization": "Bearer wrong"}, "Invalid or missing API key"),
])
def test_auth_failures_are_401_with_detail_on_every_operation(
        client: FlaskClient, headers: dict[str, str], detail: str) -> None:
    create(client)
    for method, path in OPERATIONS:
        response = client.open(path, method=method, headers=headers, json={})
        assert (response.status_code, response.json) == (401, {"detail": detail}), path
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert get_json(client, BASE)["total"] == 1


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", f"{BASE}/job_1", "GET, PATCH, DELETE"),
    ("DELETE", BASE, "GET, POST"),
    ("DELETE", f"{BASE}/runs/run_1", "GET"),
    ("GET", f"{BASE}/runs/run_1/cancel", "POST"),
])
def test_a_wrong_method_is_405_with_allow(client: FlaskClient, method: str, path: str,
                                          allow: str) -> None:
    response = client.open(path, method=method, headers=AUTH)
    assert (response.status_code, response.json) == (405, {"detail": "Method Not Allowed"})
    assert sorted(response.headers["Allow"].split(", ")) == sorted(allow.split(", "))
