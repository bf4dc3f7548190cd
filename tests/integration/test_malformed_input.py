"""Malformed input on every operation of every API gets a vendor-shaped 4xx, never a 5xx.

Runs over real HTTP against one server that serves all five APIs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from mockserver.server import ServerThread
from mockserver.spec import API_NAMES, Operation, load_spec
from mockserver.validation import MISSING, validate_response

AUTH = {
    "sap": {"Authorization": "Basic am9ibW9jazpqb2Jtb2Nr"},
    "nemo": {},
    "bullmq": {"Authorization": "Bearer jobmock"},
    "intuned": {"x-api-key": "jobmock"},
    "nimble": {"Authorization": "Bearer jobmock"},
}
SAMPLES = {"jobId": "1", "workspaceId": "123e4567-e89b-12d3-a456-426614174000",
           "queueName": "queue-a"}
LIMIT = 4096


def _cases() -> Iterator[Any]:
    for api in API_NAMES:
        for op in load_spec(api).operations:
            yield pytest.param(api, op, id=f"{api}-{op.operation_id[:40]}")


def _path(op: Operation) -> str:
    path = op.path
    for param in op.parameters:
        if param.location == "path":
            path = path.replace("{" + param.name + "}", SAMPLES.get(param.name, "x1"))
    return path


def _vendor_shaped(api: str, response: requests.Response) -> bool:
    if api == "bullmq":
        return response.headers["Content-Type"].startswith("text/plain") and bool(response.text)
    body = response.json()
    if api in ("nemo", "nimble"):
        return isinstance(body, dict) and "detail" in body
    if api == "sap":
        return set(body) >= {"code", "message", "type", "detailedError"}
    return set(body) >= {"code", "category", "message", "retirable", "correlationId"}


def _assert_vendor_4xx(api: str, op: Operation | None, response: requests.Response) -> None:
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    assert "<html" not in response.text.lower()
    assert _vendor_shaped(api, response), response.text[:300]
    if op is not None:
        is_json = "json" in response.headers.get("Content-Type", "")
        body = response.json() if is_json else response.text
        issues = validate_response(op, response.status_code, response.headers["Content-Type"],
                                   body if response.content else MISSING, response.headers)
        assert not issues, issues


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    from mockserver.app import create_app, runtime_of

    app = create_app({"random_seed": 1, "max_body_bytes": LIMIT})
    thread = ServerThread(app).start()
    yield thread
    thread.stop()
    assert not runtime_of(app).bugs, runtime_of(app).bugs[0].trace


@pytest.fixture
def send(server: ServerThread) -> Callable[..., requests.Response]:
    def call(api: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**AUTH[api], **kwargs.pop("headers", {})}
        return requests.request(method, f"{server.url}/{api}{path}", headers=headers,
                                timeout=10, **kwargs)

    return call


@pytest.mark.parametrize(("api", "op"), _cases())
def test_bad_json_wrong_content_type_and_oversize(
        send: Callable[..., requests.Response], api: str, op: Operation) -> None:
    path = _path(op)
    json_header = {"Content-Type": "application/json"}
    oversize = send(api, op.method, path, data=b"[" * (LIMIT + 10), headers=json_header)
    assert oversize.status_code == 413
    _assert_vendor_4xx(api, op, oversize)
    if not op.body:
        return
    bad_json = send(api, op.method, path, data=b'{"unclosed": ', headers=json_header)
    _assert_vendor_4xx(api, op, bad_json)
    wrong_type = send(api, op.method, path, data=b"name=x",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    _assert_vendor_4xx(api, op, wrong_type)
    not_utf8 = send(api, op.method, path, data=b'{"a": "\xff"}', headers=json_header)
    _assert_vendor_4xx(api, op, not_utf8)


@pytest.mark.parametrize(("api", "op"), _cases())
def test_wrong_types_in_parameters_and_body(
        send: Callable[..., requests.Response], api: str, op: Operation) -> None:
    typed = [p for p in op.parameters if p.location == "query"
             and p.primitive in ("integer", "number", "boolean")]
    for param in typed:
        response = send(api, op.method, _path(op), params={param.name: "not-a-number"},
                        data=_minimal_body(op), headers={"Content-Type": "application/json"})
        _assert_vendor_4xx(api, op, response)
    if op.body:
        response = send(api, op.method, _path(op), data=b"[[[1, 2], {\"x\": null}]]",
                        headers={"Content-Type": "application/json"})
        if response.status_code < 300:
            assert api in ("bullmq", "nemo"), "only free-form bodies may accept any JSON"
        else:
            _assert_vendor_4xx(api, op, response)


def _minimal_body(op: Operation) -> bytes | None:
    return json.dumps({}).encode() if op.body else None


@pytest.mark.parametrize("api", API_NAMES)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH", "PROPFIND"])
def test_unknown_routes(send: Callable[..., requests.Response], api: str, method: str) -> None:
    _assert_vendor_4xx(api, None, send(api, method, "/no/such/route/here"))


@pytest.mark.parametrize(("api", "op"), _cases())
def test_wrong_method_on_a_known_path(
        send: Callable[..., requests.Response], api: str, op: Operation) -> None:
    used = {o.method for o in load_spec(api).operations if o.path == op.path}
    for method in sorted({"GET", "PUT", "POST", "PATCH", "DELETE"} - used)[:2]:
        _assert_vendor_4xx(api, None, send(api, method, _path(op)))
