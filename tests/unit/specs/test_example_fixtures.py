"""The seed documents' printed examples validate; hand-written invalid ones are rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockserver.spec import API_NAMES, Operation, load_spec
from mockserver.validation import HttpRequest, validate_request, validate_response

FIXTURES = Path(__file__).parents[2] / "data" / "examples"


def _entries(section: str) -> list[Any]:
    cases = []
    for name in API_NAMES:
        data = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
        for index, entry in enumerate(data[section]):
            cases.append(pytest.param(name, entry, id=f"{name}-{section}-{index}"))
    return cases


def _request_issues(op: Operation, body: Any) -> list[Any]:
    media = next(iter(op.body))
    assert op.body[media].validator is not None
    return list(op.body[media].validator.iter_errors(body))


def _response_issues(op: Operation, status: int, body: Any) -> list[Any]:
    documented = op.response_for(status)
    assert documented is not None, f"{op.operation_id} documents no {status}"
    media = next(iter(documented.content))
    return validate_response(op, status, media, body, _required_headers(op, status))


def _required_headers(op: Operation, status: int) -> dict[str, str]:
    documented = op.response_for(status)
    return {name: "x" for name in (documented.required_headers if documented else ())}


@pytest.mark.parametrize(("api", "entry"), _entries("seed"))
def test_seed_example_validates(api: str, entry: dict[str, Any]) -> None:
    op = load_spec(api).operation(entry["operationId"])
    if entry["kind"] == "request":
        assert not _request_issues(op, entry["body"])
    else:
        assert not _response_issues(op, int(entry["status"]), entry["body"])


@pytest.mark.parametrize(("api", "entry"), _entries("invalid"))
def test_invalid_example_is_rejected_naming_the_field(api: str, entry: dict[str, Any]) -> None:
    op = load_spec(api).operation(entry["operationId"])
    if entry["kind"] == "request":
        result = validate_request(op, _request_for(op, entry["body"]), _path_params(op))
        assert isinstance(result, list), "the invalid request was accepted"
        issues = result
    else:
        issues = _response_issues(op, int(entry["status"]), entry["body"])
    assert issues, "the invalid example was accepted"
    named = {part for issue in issues for part in issue.location if isinstance(part, str)}
    assert entry["field"] in named, f"no issue names {entry['field']}: {issues}"


def _request_for(op: Operation, body: Any) -> HttpRequest:
    return HttpRequest(op.method, op.path, headers={"content-type": "application/json"},
                       body=json.dumps(body).encode())


def _path_params(op: Operation) -> dict[str, str]:
    samples = {"jobId": "3", "workspaceId": "123e4567-e89b-12d3-a456-426614174000"}
    return {p.name: samples.get(p.name, "x1") for p in op.parameters if p.location == "path"}


@pytest.mark.parametrize("api", API_NAMES)
def test_each_api_has_enough_fixtures(api: str) -> None:
    data = yaml.safe_load((FIXTURES / f"{api}.yaml").read_text(encoding="utf-8"))
    assert len(data["invalid"]) >= 3
    assert {e["operationId"] for e in data["seed"]} >= {
        op.operation_id for op in load_spec(api).operations if op.seed}
