"""The pipeline around the handlers: response validation, crashes, isolation, mounts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.apis.base import Reply, json_reply
from mockserver.app import create_app, runtime_of
from mockserver.validation import ValidRequest

AUTH = {"Authorization": "Bearer jobmock"}
GET_JOB = "get_job_v1_jobs__job_id__get"


def broken_get_job(req: ValidRequest) -> Reply:
    return json_reply(200, {"name": "a job without its required id", "created_at": 5})


def test_strict_mode_turns_a_response_violation_into_a_named_500(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble")
    runtime_of(client.application).apis["nimble"].handlers[GET_JOB] = broken_get_job
    response = client.get("/nimble/v1/jobs/job_1", headers=AUTH)
    assert response.status_code == 500
    body = response.json
    assert body["operation"] == GET_JOB
    rules = {(v["pointer"], v["rule"]) for v in body["violations"]}
    assert ("/id", "missing") in rules
    assert ("/created_at", "anyOf") in rules or ("/created_at", "type") in rules


def test_lax_mode_sends_the_answer_and_journals_the_violation(
        make_client: Callable[..., FlaskClient], caplog: pytest.LogCaptureFixture) -> None:
    client = make_client("nimble", strict=False)
    runtime = runtime_of(client.application)
    runtime.apis["nimble"].handlers[GET_JOB] = broken_get_job
    response = client.get("/nimble/v1/jobs/job_1", headers=AUTH)
    assert response.status_code == 200
    assert response.json["name"] == "a job without its required id"
    entry = runtime.journal.entries(operation=GET_JOB)[-1]
    assert any("body.id" in v for v in entry.response_violations)
    assert "violates the spec" in caplog.text


def test_a_crashing_handler_answers_json_500_and_is_kept_for_the_test() -> None:
    app = create_app({"apis": ("nimble",)})
    runtime = runtime_of(app)

    def crash(req: ValidRequest) -> Reply:
        raise RuntimeError("boom")

    runtime.apis["nimble"].handlers[GET_JOB] = crash
    response = app.test_client().get("/nimble/v1/jobs/job_1", headers=AUTH)
    assert response.status_code == 500 and response.is_json
    assert "RuntimeError: boom" in response.json["exception"]
    assert isinstance(runtime.bugs[0].error, RuntimeError)


def test_two_apps_never_share_state(make_app: Callable[..., Flask]) -> None:
    first = make_app(apis=("nimble",)).test_client()
    second = make_app(apis=("nimble",)).test_client()
    created = first.post("/nimble/v1/jobs", json={"name": "a", "agent_name": "b"}, headers=AUTH)
    assert created.status_code == 201
    assert second.get("/nimble/v1/jobs/job_1", headers=AUTH).status_code == 404


def test_an_api_can_be_mounted_at_the_root(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", mounts={"nimble": "/"})
    assert client.get("/v1/jobs", headers=AUTH).json["total"] == 0
    assert client.get("/__jobmock/health").json["apis"] == {"nimble": "/"}


def test_paths_outside_every_mount_get_a_json_404(make_client: Callable[..., FlaskClient]) -> None:
    response = make_client("nimble").get("/elsewhere")
    assert response.status_code == 404 and response.json["mounted"] == {"nimble": "/nimble"}


@pytest.mark.parametrize("method", ["PROPFIND", "BREW"])
def test_unknown_methods_get_the_vendor_shape(make_client: Callable[..., FlaskClient],
                                               method: str) -> None:
    response = make_client("nimble").open("/nimble/v1/jobs", method=method, headers=AUTH)
    assert response.status_code == 405
    assert response.json == {"detail": "Method Not Allowed"}



def test_a_line_feed_in_a_path_segment_reaches_the_vendor(
        make_client: Callable[..., FlaskClient]) -> None:
    response = make_client("nimble").get("/nimble/v1/jobs/job%0A1", headers=AUTH)
    assert response.status_code == 404
    assert response.json == {"detail": "Job job\n1 not found"}
