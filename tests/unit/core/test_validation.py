"""Request and response validation against compiled operations, without any web framework."""

from __future__ import annotations

import json

from mockserver.spec import load_spec
from mockserver.validation import (
    MISSING,
    HttpRequest,
    ValidRequest,
    validate_request,
    validate_response,
)

NIMBLE = load_spec("nimble")
PATCH = NIMBLE.operation("update_job_v1_jobs__job_id__patch")
LIST = NIMBLE.operation("list_jobs_v1_jobs_get")
JSON = {"content-type": "application/json"}


def request(body: object = MISSING, query: dict[str, list[str]] | None = None,
            headers: dict[str, str] | None = None, raw: bytes | None = None) -> HttpRequest:
    data = raw if raw is not None else (b"" if body is MISSING else json.dumps(body).encode())
    return HttpRequest("PATCH", "/v1/jobs/job_1", query or {}, headers or JSON, data)


def test_valid_body_is_parsed() -> None:
    result = validate_request(PATCH, request({"description": "d"}), {"job_id": "job_1"})
    assert isinstance(result, ValidRequest)
    assert result.body == {"description": "d"} and result.path == {"job_id": "job_1"}


def test_nested_field_error_names_its_location() -> None:
    result = validate_request(PATCH, request({"schedule": {"cron": "* * * * *"}}),
                              {"job_id": "job_1"})
    assert isinstance(result, list)
    assert [i.location for i in result] == [("body", "schedule", "enabled")]
    assert result[0].kind == "missing" and result[0].field == "enabled"


def test_malformed_json_is_an_issue_not_an_exception() -> None:
    result = validate_request(PATCH, request(raw=b'{"description":'), {"job_id": "job_1"})
    assert isinstance(result, list) and result[0].kind == "json_invalid"


def test_invalid_utf8_is_an_issue() -> None:
    result = validate_request(PATCH, request(raw=b'{"description":"\xff"}'), {"job_id": "job_1"})
    assert isinstance(result, list) and result[0].kind == "json_invalid"


def test_wrong_content_type_is_an_issue() -> None:
    result = validate_request(PATCH, request({"a": 1}, headers={"content-type": "text/plain"}),
                              {"job_id": "job_1"})
    assert isinstance(result, list) and result[0].kind == "content_type"


def test_query_parameters_are_converted_and_checked() -> None:
    good = validate_request(LIST, HttpRequest("GET", "/v1/jobs", {"page": ["2"]}), {})
    assert isinstance(good, ValidRequest) and good.query["page"] == 2
    bad = validate_request(LIST, HttpRequest("GET", "/v1/jobs", {"per_page": ["500"]}), {})
    assert isinstance(bad, list)
    assert bad[0].location == ("query", "per_page") and bad[0].kind == "maximum"
    text = validate_request(LIST, HttpRequest("GET", "/v1/jobs", {"page": ["x"]}), {})
    assert isinstance(text, list) and text[0].kind == "parsing"


def test_response_with_missing_required_field_is_a_violation() -> None:
    issues = validate_response(PATCH, 200, "application/json", {"name": "no id"})
    assert [(i.location, i.kind) for i in issues] == [(("body", "id"), "missing")]


def test_undocumented_status_is_a_violation() -> None:
    issues = validate_response(PATCH, 418, "application/json", {})
    assert issues[0].kind == "status"


def test_undocumented_content_type_is_a_violation() -> None:
    issues = validate_response(PATCH, 200, "text/html", "<html>")
    assert issues[0].kind == "content_type"


def test_body_on_a_bodiless_status_is_a_violation() -> None:
    delete = NIMBLE.operation("delete_job_v1_jobs__job_id__delete")
    assert validate_response(delete, 204, None, MISSING) == []
    assert validate_response(delete, 204, "application/json", {})[0].kind == "content"


def test_each_missing_field_is_reported_once() -> None:
    create = NIMBLE.operation("create_job_v1_jobs_post")
    result = validate_request(create, HttpRequest("POST", "/v1/jobs", {}, JSON, b"{}"), {})
    assert isinstance(result, list)
    assert [i.location for i in result] == [("body", "name"), ("body", "agent_name")]
