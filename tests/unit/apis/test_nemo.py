"""NeMo Jobs v2 through the Flask test client: state, lifecycle, list, auth and error shapes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.app import create_app, runtime_of

if TYPE_CHECKING:
    from conftest import StoreUrls

JOBS = "/nemo/apis/jobs/v2/workspaces/{ws}/jobs"
ACTIONS = "/__jobmock/apis/nemo/actions"
ID = re.compile(r"^job-[1-9A-HJ-NP-Za-km-z]{1,22}$")
ATTEMPT = re.compile(r"^attempt-[1-9A-HJ-NP-Za-km-z]{1,22}$")


def job_body(name: str | None = "eval-run", source: str = "nemo-evaluator",
             **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "spec": {"model": "m"},
        "platform_spec": {"steps": [{"name": "prepare", "executor": {"provider": "cpu"}},
                                    {"name": "evaluate", "executor": {"provider": "gpu",
                                                                      "profile": "big"}}]},
        "source": source, **extra,
    }
    if name is not None:
        body["name"] = name
    return body


def url(ws: str = "default", name: str = "", tail: str = "") -> str:
    base = JOBS.format(ws=ws)
    return f"{base}/{name}{tail}" if name else base


@pytest.fixture(scope="module")
def apps(module_store_urls: StoreUrls) -> Iterator[dict[tuple[tuple[str, Any], ...], Flask]]:
    """Apps shared by this module's tests (building one takes ~0.7 s); reset before each use."""
    made: dict[tuple[tuple[str, Any], ...], Flask] = {}
    yield made
    for app in made.values():
        runtime_of(app).store.close()


@pytest.fixture
def make_client(apps: dict[tuple[tuple[str, Any], ...], Flask], module_store_urls: StoreUrls
                ) -> Iterator[Callable[..., FlaskClient]]:
    """Like conftest's `make_client(...)`, on a shared app reset via the control API."""
    used: list[Flask] = []

    def build(**settings: Any) -> FlaskClient:
        key = tuple(sorted(settings.items()))
        if key not in apps:
            apps[key] = create_app({"random_seed": 7, "apis": ("nemo",),
                                    "store": module_store_urls.new(), **settings})
            apps[key].testing = True
        client = apps[key].test_client()
        assert client.post("/__jobmock/reset", json={}).status_code == 200
        used.append(apps[key])
        return client

    yield build
    for app in used:
        bugs = runtime_of(app).bugs
        assert not bugs, f"handler crashed: {bugs[0].trace}"


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client()


def create(client: FlaskClient, ws: str = "default", **kwargs: Any) -> dict[str, Any]:
    response = client.post(url(ws), json=job_body(**kwargs))
    assert response.status_code == 201, response.json
    job: dict[str, Any] = response.json
    return job


def set_status(client: FlaskClient, name: str, status: str, ws: str = "default",
               **extra: Any) -> TestResponse:
    return client.post(f"{ACTIONS}/set-status",
                       json={"workspace": ws, "name": name, "status": status, **extra})


def drive(client: FlaskClient, name: str, *statuses: str) -> dict[str, Any]:
    job: dict[str, Any] = {}
    for status in statuses:
        response = set_status(client, name, status)
        assert response.status_code == 200, response.json
        job = response.json
    return job


def not_found(name: str, ws: str = "default") -> dict[str, str]:
    return {"detail": f"Job '{name}' not found in workspace '{ws}'."}


# -- create and read --------------------------------------------------------------------------


def test_create_starts_in_created_with_fresh_attempt(client: FlaskClient) -> None:
    job = create(client, project="default/evals", custom_fields={"team": "r"})
    assert ID.match(job["id"]) and ATTEMPT.match(job["attempt_id"])
    assert (job["name"], job["workspace"], job["status"]) == ("eval-run", "default", "created")
    assert job["status_details"] == {} and job["error_details"] is None
    assert job["project"] == "default/evals" and job["custom_fields"] == {"team": "r"}
    assert job["description"] is None and job["fileset"] == "eval-run-files"
    assert job["created_at"] == job["updated_at"] == "2026-01-01T00:00:00.001Z"
    assert job["platform_spec"]["steps"][1] == {
        "name": "evaluate", "executor": {"provider": "gpu", "profile": "big"}, "config": {},
        "lifecycle": {"staleness_timeout_seconds": 0}}
    assert job["platform_spec"]["steps"][0]["executor"]["profile"] == "default"
    assert client.get(url(name="eval-run")).json == job


def test_omitted_name_comes_from_source(client: FlaskClient) -> None:
    job = create(client, name=None, source="a-very-long-source-name-indeed")
    assert re.fullmatch(r"a-very-long-source-n-[a-z]{8}", job["name"])
    assert client.get(url(name=job["name"])).status_code == 200


def test_duplicate_name_is_409(client: FlaskClient) -> None:
    create(client)
    response = client.post(url(), json=job_body())
    assert response.status_code == 409
    assert response.json == {"detail": "Job 'eval-run' already exists in workspace 'default'."}


def test_status_tree_lists_steps(client: FlaskClient) -> None:
    job = create(client)
    status = client.get(url(name="eval-run", tail="/status")).json
    assert {k: status[k] for k in ("id", "name", "status", "status_details", "error_details",
                                   "created_at", "updated_at")} == {
        k: job[k] for k in ("id", "name", "status", "status_details", "error_details",
                            "created_at", "updated_at")}
    assert [(s["name"], s["status"], s["tasks"], s["status_details"]) for s in status["steps"]] \
        == [("prepare", "created", [], {}), ("evaluate", "created", [], {})]
    assert all(s["id"].startswith("step-") for s in status["steps"])


# -- the seed PATCH ---------------------------------------------------------------------------


def test_status_details_patch_merges_shallowly(client: FlaskClient) -> None:
    create(client)
    first = {"status": "running", "progress": 45, "nested": {"a": 1, "b": 2}}
    response = client.patch(url(name="eval-run", tail="/status-details"), json=first)
    assert response.status_code == 200 and response.data == b"null"
    client.patch(url(name="eval-run", tail="/status-details"),
                 json={"progress": 80, "nested": {"c": 3}})
    expected = {"status": "running", "progress": 80, "nested": {"c": 3}}
    job = client.get(url(name="eval-run")).json
    assert job["status_details"] == expected
    assert client.get(url(name="eval-run", tail="/status")).json["status_details"] == expected
    assert job["updated_at"] == job["created_at"], "the real service updates only the attempt"
    assert job["status"] == "created"


def test_status_details_patch_works_on_terminal_job(client: FlaskClient) -> None:
    create(client)
    drive(client, "eval-run", "active", "completed")
    response = client.patch(url(name="eval-run", tail="/status-details"), json={"done": True})
    assert response.status_code == 200
    job = client.get(url(name="eval-run")).json
    assert (job["status"], job["status_details"]) == ("completed", {"done": True})


@pytest.mark.parametrize("body, entry", [
    (b"[1]", {"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary",
              "input": [1]}),
    (b"null", {"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary",
               "input": None}),
])
def test_status_details_patch_needs_an_object(client: FlaskClient, body: bytes,
                                              entry: dict[str, Any]) -> None:
    create(client)
    response = client.patch(url(name="eval-run", tail="/status-details"), data=body,
                            content_type="application/json")
    assert response.status_code == 422 and response.json == {"detail": [entry]}


def test_status_details_patch_without_body_is_422(client: FlaskClient) -> None:
    create(client)
    response = client.patch(url(name="eval-run", tail="/status-details"))
    assert response.status_code == 422
    assert response.json == {"detail": [{"type": "missing", "loc": ["body"],
                                          "msg": "Field required", "input": None}]}


# -- lifecycle through the control API ----------------------------------------------------------


def test_set_status_moves_job_and_steps(client: FlaskClient) -> None:
    create(client)
    job = drive(client, "eval-run", "pending", "active")
    assert job["status"] == "active" and job["updated_at"] == "2026-01-01T00:00:00.003Z"
    job = drive(client, "eval-run", "error")
    status = client.get(url(name="eval-run", tail="/status")).json
    assert status["status"] == "error" and job["updated_at"] == "2026-01-01T00:00:00.004Z"
    assert [s["status"] for s in status["steps"]] == ["error", "error"]
    assert {s["updated_at"] for s in status["steps"]} == {"2026-01-01T00:00:00.004Z"}
    assert client.get(url(name="eval-run")).json == job


def test_set_status_stores_error_details(client: FlaskClient) -> None:
    create(client)
    job = set_status(client, "eval-run", "error", error_details={"message": "OOM"}).json
    assert (job["status"], job["error_details"]) == ("error", {"message": "OOM"})
    assert client.get(url(name="eval-run", tail="/status")).json["error_details"] == {
        "message": "OOM"}


@pytest.mark.parametrize("path, target", [
    (("created",), "completed"),
    (("created",), "resuming"),
    (("active",), "resuming"),
    (("active", "paused"), "completed"),
    (("active", "cancelling"), "active"),
    (("active", "pausing"), "active"),
    (("active", "completed"), "active"),
    (("cancelled",), "created"),
    (("error",), "pending"),
])
def test_set_status_refuses_illegal_moves(client: FlaskClient, path: tuple[str, ...],
                                          target: str) -> None:
    create(client)
    before = drive(client, "eval-run", *[s for s in path if s != "created"])
    current = path[-1]
    response = set_status(client, "eval-run", target)
    assert response.status_code == 409
    assert response.json == {"error": f"Cannot move job 'eval-run' from status '{current}' "
                                      f"to '{target}'."}
    after = client.get(url(name="eval-run")).json
    assert after["status"] == current
    assert not before or after == before


@pytest.mark.parametrize("path", [
    ("pending", "completed"), ("active", "paused", "resuming", "pending"),
    ("pausing", "paused", "cancelling", "cancelled"), ("active", "paused", "active"),
])
def test_set_status_allows_legal_paths(client: FlaskClient, path: tuple[str, ...]) -> None:
    create(client)
    assert drive(client, "eval-run", *path)["status"] == path[-1]


def test_set_status_same_status_is_unchanged(client: FlaskClient) -> None:
    job = create(client)
    response = set_status(client, "eval-run", "created")
    assert response.status_code == 200 and response.json == job


def test_set_status_refusals(client: FlaskClient) -> None:
    create(client)
    missing = set_status(client, "nope", "active")
    assert missing.status_code == 404 and missing.json == {"error": not_found("nope")["detail"]}
    other_ws = set_status(client, "eval-run", "active", ws="other")
    assert other_ws.status_code == 404
    unknown = set_status(client, "eval-run", "running")
    assert unknown.status_code == 400 and "unknown status 'running'" in unknown.json["error"]
    assert client.get(url(name="eval-run")).json["status"] == "created"


def test_actions_are_listed(client: FlaskClient) -> None:
    listed = client.get(ACTIONS).json["actions"]
    assert [a["name"] for a in listed] == ["set-status"]
    assert "transition table" in listed[0]["doc"]


# -- cancel -------------------------------------------------------------------------------------


def test_cancel_created_job_is_cancelled_at_once(client: FlaskClient) -> None:
    create(client)
    response = client.post(url(name="eval-run", tail="/cancel"))
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert response.json["updated_at"] == "2026-01-01T00:00:00.002Z"
    steps = client.get(url(name="eval-run", tail="/status")).json["steps"]
    assert [s["status"] for s in steps] == ["cancelled", "cancelled"]


@pytest.mark.parametrize("path", [("active",), ("pending",), ("active", "paused"),
                                  ("active", "paused", "resuming")])
def test_cancel_running_job_moves_to_cancelling(client: FlaskClient,
                                                path: tuple[str, ...]) -> None:
    create(client)
    drive(client, "eval-run", *path)
    response = client.post(url(name="eval-run", tail="/cancel"))
    assert response.status_code == 200 and response.json["status"] == "cancelling"
    assert drive(client, "eval-run", "cancelled")["status"] == "cancelled"


@pytest.mark.parametrize("path", [("active", "completed"), ("error",), ("cancelled",),
                                  ("active", "cancelling")])
def test_cancel_finished_or_cancelling_job_is_unchanged(client: FlaskClient,
                                                        path: tuple[str, ...]) -> None:
    create(client)
    before = drive(client, "eval-run", *path)
    response = client.post(url(name="eval-run", tail="/cancel"))
    assert response.status_code == 200 and response.json == before


def test_cancel_pausing_job_is_refused(client: FlaskClient) -> None:
    create(client)
    drive(client, "eval-run", "active", "pausing")
    response = client.post(url(name="eval-run", tail="/cancel"))
    assert response.status_code == 409
    assert response.json == {"detail": "Cannot cancel job 'eval-run' from its current state."}
    assert client.get(url(name="eval-run")).json["status"] == "pausing"


# -- delete -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [(), ("active",), ("active", "cancelling"),
                                  ("active", "paused")])
def test_delete_non_terminal_job_is_409(client: FlaskClient, path: tuple[str, ...]) -> None:
    create(client)
    drive(client, "eval-run", *path)
    status = path[-1] if path else "created"
    response = client.delete(url(name="eval-run"))
    assert response.status_code == 409
    assert response.json == {
        "detail": f"Cannot delete job 'eval-run' while it is in status '{status}'."}
    assert client.get(url(name="eval-run")).status_code == 200


@pytest.mark.parametrize("terminal", ["completed", "error", "cancelled"])
def test_delete_terminal_job_then_404(client: FlaskClient, terminal: str) -> None:
    create(client)
    drive(client, "eval-run", "active", terminal)
    response = client.delete(url(name="eval-run"))
    assert response.status_code == 204 and response.data == b""
    assert "Content-Type" not in response.headers
    gone = client.get(url(name="eval-run"))
    assert gone.status_code == 404 and gone.json == not_found("eval-run")
    assert client.get(url()).json["pagination"]["total_results"] == 0
    assert create(client)["status"] == "created"


# -- unknown jobs, tenants ----------------------------------------------------------------------


@pytest.mark.parametrize("method, tail, body", [
    ("get", "", None), ("get", "/status", None), ("patch", "/status-details", {"a": 1}),
    ("post", "/cancel", None), ("delete", "", None),
])
def test_unknown_job_is_404(client: FlaskClient, method: str, tail: str,
                            body: dict[str, Any] | None) -> None:
    response = getattr(client, method)(url(name="ghost", tail=tail), json=body)
    assert response.status_code == 404 and response.json == not_found("ghost")


def test_workspaces_are_isolated(client: FlaskClient) -> None:
    a = create(client, ws="team-a")
    for method, tail, body in [("get", "", None), ("get", "/status", None),
                               ("patch", "/status-details", {"x": 1}),
                               ("post", "/cancel", None), ("delete", "", None)]:
        response = getattr(client, method)(url("team-b", "eval-run", tail), json=body)
        assert response.status_code == 404
        assert response.json == not_found("eval-run", "team-b")
    assert client.get(url("team-b")).json["data"] == []
    b = create(client, ws="team-b")
    assert b["workspace"] == "team-b" and b["id"] != a["id"]
    client.patch(url("team-b", "eval-run", "/status-details"), json={"only": "b"})
    assert client.get(url("team-a", "eval-run")).json == a
    listed = client.get(url("team-a")).json["data"]
    assert [j["id"] for j in listed] == [a["id"]]


# -- list ---------------------------------------------------------------------------------------


def test_list_empty_has_one_page(client: FlaskClient) -> None:
    response = client.get(url())
    assert response.json == {"data": [], "pagination": {
        "page": 1, "page_size": 10, "current_page_size": 0, "total_pages": 1,
        "total_results": 0}, "sort": "-created_at", "filter": {}}


def test_list_pages_and_leaves_out_nulls(client: FlaskClient) -> None:
    for name in ("job-a", "job-b", "job-c"):
        create(client, name=name)
    first = client.get(url() + "?page=1&page_size=2").json
    assert [j["name"] for j in first["data"]] == ["job-c", "job-b"]
    assert first["pagination"] == {"page": 1, "page_size": 2, "current_page_size": 2,
                                   "total_pages": 2, "total_results": 3}
    second = client.get(url() + "?page=2&page_size=2").json
    assert [j["name"] for j in second["data"]] == ["job-a"]
    assert second["pagination"]["current_page_size"] == 1
    beyond = client.get(url() + "?page=5&page_size=2").json
    assert beyond["data"] == [] and beyond["pagination"]["total_results"] == 3
    assert "description" not in first["data"][0] and "error_details" not in first["data"][0]


def test_list_sorts(client: FlaskClient) -> None:
    create(client, name="job-a", source="zeta")
    create(client, name="job-b", source="alpha")
    create(client, name="job-c", source="mid")
    drive(client, "job-a", "pending")

    def names(sort: str) -> list[str]:
        body = client.get(url() + f"?sort={sort}").json
        assert body["sort"] == sort
        return [j["name"] for j in body["data"]]

    assert names("created_at") == ["job-a", "job-b", "job-c"]
    assert names("-created_at") == ["job-c", "job-b", "job-a"]
    assert names("source") == ["job-b", "job-c", "job-a"]
    assert names("-source") == ["job-a", "job-c", "job-b"]
    assert names("-updated_at") == ["job-a", "job-c", "job-b"]
    assert names("updated_at") == ["job-b", "job-c", "job-a"]


def test_list_filters(client: FlaskClient) -> None:
    create(client, name="job-a", source="evaluator", project="p/one")
    create(client, name="job-b", source="customizer")
    create(client, name="job-c", source="evaluator")
    drive(client, "job-c", "active")

    def names(query: str) -> list[str]:
        return [j["name"] for j in client.get(url() + "?" + query).json["data"]]

    assert names("filter[status]=active") == ["job-c"]
    assert names("filter[status]=created&sort=created_at") == ["job-a", "job-b"]
    assert names("filter[source]=evaluator") == ["job-c", "job-a"]
    assert names("filter[name]=job-b") == ["job-b"]
    assert names("filter[project]=p/one") == ["job-a"]
    assert names("filter[workspace]=default&filter[name]=job-a") == ["job-a"]
    assert names("filter[workspace]=other") == []
    body = client.get(url() + "?filter[status]=active&filter[source]=evaluator").json
    assert body["filter"] == {"status": "active", "source": "evaluator"}
    assert body["pagination"]["total_results"] == 1


def test_list_filters_time_ranges(client: FlaskClient) -> None:
    create(client, name="job-a")
    client.post("/__jobmock/clock", json={"advance": 3600})
    create(client, name="job-b")
    drive(client, "job-a", "active")

    def names(query: str) -> list[str]:
        return [j["name"] for j in client.get(url() + "?" + query).json["data"]]

    assert names("filter[created_at][$gte]=2026-01-01T00:30:00Z") == ["job-b"]
    assert names("filter[created_at][$lte]=2026-01-01T00:30:00Z") == ["job-a"]
    assert names("filter[created_at][$gte]=2026-01-01T00:00:00Z"
                 "&filter[created_at][$lte]=2026-01-01T02:00:00Z") == ["job-b", "job-a"]
    assert names("filter[updated_at][$gte]=2026-01-01T00:30:00%2B00:00") == ["job-b", "job-a"]
    assert names("filter[created_at][$gte]=2026-01-02T00:00:00Z") == []


@pytest.mark.parametrize("query, entry", [
    ("page=0", {"type": "greater_than_equal", "loc": ["query", "page"],
                "msg": "Input should be greater than or equal to 1", "input": 0,
                "ctx": {"ge": 1}}),
    ("page_size=x", {"type": "int_parsing", "loc": ["query", "page_size"],
                     "msg": "Input should be a valid integer, unable to parse string as an "
                            "integer", "input": "x"}),
])
def test_list_rejects_bad_paging(client: FlaskClient, query: str,
                                 entry: dict[str, Any]) -> None:
    response = client.get(url() + "?" + query)
    assert response.status_code == 422 and response.json == {"detail": [entry]}


@pytest.mark.parametrize("query, loc", [
    ("sort=name", ["query", "sort"]),
    ("filter[status]=running", ["query", "filter", "status"]),
    ("filter[created_at][$gte]=yesterday", ["query", "filter", "created_at", "$gte"]),
    ("filter[created_at]=2026-01-01", ["query", "filter", "created_at"]),
])
def test_list_rejects_bad_sort_and_filter(client: FlaskClient, query: str,
                                          loc: list[str]) -> None:
    response = client.get(url() + "?" + query)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json["detail"]] == [loc]


# -- request validation and protocol errors ------------------------------------------------------


@pytest.mark.parametrize("change, entry", [
    ({"source": None}, {"type": "missing", "loc": ["body", "source"], "msg": "Field required",
                        "input": None}),
    ({"name": "eval--run"}, {"type": "string_pattern_mismatch", "loc": ["body", "name"],
                             "msg": "String should match pattern '^[a-z](-?[a-z0-9@.+_])+$'",
                             "input": "eval--run",
                             "ctx": {"pattern": "^[a-z](-?[a-z0-9@.+_])+$"}}),
    ({"spec": "x"}, {"type": "dict_type", "loc": ["body", "spec"],
                     "msg": "Input should be a valid dictionary", "input": "x"}),
    ({"platform_spec": {"steps": []}}, {
        "type": "too_short", "loc": ["body", "platform_spec", "steps"],
        "msg": "List should have at least 1 items", "input": [], "ctx": {"min_length": 1}}),
])
def test_create_validation_errors(client: FlaskClient, change: dict[str, Any],
                                  entry: dict[str, Any]) -> None:
    body = {k: v for k, v in {**job_body(), **change}.items() if v is not None}
    response = client.post(url(), json=body)
    assert response.status_code == 422 and response.json == {"detail": [entry]}
    assert client.get(url()).json["data"] == []


def test_create_refuses_duplicate_step_names(client: FlaskClient) -> None:
    steps = [{"name": "same", "executor": {"provider": "cpu"}}] * 2
    response = client.post(url(), json=job_body(platform_spec={"steps": steps}))
    assert response.status_code == 422
    [entry] = response.json["detail"]
    assert (entry["type"], entry["loc"]) == ("value_error", ["body", "platform_spec"])
    assert entry["msg"] == "Value error, Step names must be unique within a job"


def test_malformed_json_is_422(client: FlaskClient) -> None:
    response = client.post(url(), data=b'{"spec": ', content_type="application/json")
    assert response.status_code == 422
    [entry] = response.json["detail"]
    assert entry["type"] == "json_invalid" and entry["loc"] == ["body", 9]
    assert entry["msg"] == "JSON decode error"


def test_wrong_content_type_is_422(client: FlaskClient) -> None:
    response = client.patch(url(name="x", tail="/status-details"), data="a=1",
                            content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert response.json == {"detail": [{
        "type": "model_attributes_type", "loc": ["body"],
        "msg": "Input should be a valid dictionary or object to extract fields from",
        "input": "application/x-www-form-urlencoded"}]}


def test_oversize_body_is_413(client: FlaskClient) -> None:
    limit = 100 * 1024
    response = client.post(url(), json=job_body(description="x" * limit))
    assert response.status_code == 413
    assert response.json == {"detail": f"Request body is larger than the limit of {limit} bytes"}
    patch = client.patch(url(name="x", tail="/status-details"), json={"k": "v" * limit})
    assert patch.status_code == 413 and patch.json == response.json
    assert client.get(url()).json["data"] == []


def test_unknown_route_is_404(client: FlaskClient) -> None:
    for path in ("/nemo/apis/jobs/v2/jobs", "/nemo/apis/jobs/v2/workspaces/default/jobs/a/b/c"):
        response = client.get(path)
        assert response.status_code == 404 and response.json == {"detail": "Not Found"}


@pytest.mark.parametrize("method, path", [
    ("put", url()), ("delete", url()), ("post", url(name="eval-run")),
    ("get", url(name="eval-run", tail="/cancel")),
    ("post", url(name="eval-run", tail="/status-details")),
])
def test_wrong_method_is_405(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405 and response.json == {"detail": "Method Not Allowed"}


# -- auth ---------------------------------------------------------------------------------------


def test_auth_is_off_by_default(client: FlaskClient) -> None:
    assert client.post(url(), json=job_body(),
                       headers={"Authorization": "Bearer whatever"}).status_code == 201
    assert client.get(url(name="eval-run")).status_code == 200


@pytest.mark.parametrize("headers, detail", [
    ({}, "Unauthorized"),
    ({"Authorization": "Basic am9ibW9jazpqb2Jtb2Nr"}, "Invalid bearer token"),
    ({"Authorization": "Bearer "}, "Invalid bearer token"),
    ({"Authorization": "Bearer wrong"}, "Invalid or expired token"),
])
def test_auth_when_enabled_refuses(make_client: Callable[..., FlaskClient],
                                   headers: dict[str, str], detail: str) -> None:
    client = make_client(nemo_auth=True)
    for method, path, body in [("post", url(), job_body()), ("get", url(), None),
                               ("patch", url(name="eval-run", tail="/status-details"), {})]:
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 401 and response.json == {"detail": detail}
    ok = client.get(url(), headers={"Authorization": "Bearer jobmock"})
    assert ok.status_code == 200 and ok.json["data"] == []


def test_auth_when_enabled_accepts_the_token(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(nemo_auth=True)
    auth = {"Authorization": "Bearer jobmock"}
    assert client.post(url(), json=job_body(), headers=auth).status_code == 201
    patched = client.patch(url(name="eval-run", tail="/status-details"), json={"p": 1},
                           headers=auth)
    assert patched.status_code == 200
    job = client.get(url(name="eval-run"), headers=auth).json
    assert job["status_details"] == {"p": 1}
