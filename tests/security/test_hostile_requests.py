"""Hostile requests over a raw socket, one per kind the issue lists, each with its answer.

Every answer is a 4xx in the shape of the API the path belongs to, except the two 5xx HTTP
prescribes for what cannot be parsed at the protocol level (501 unknown transfer coding, 505
unsupported HTTP version). The watched server asserts no handler crashed and no traceback was
logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.security.conftest import AUTH, Watched, request_bytes, send_raw

JSON = {**AUTH["nimble"], "Content-Type": "application/json"}
BULL = {**AUTH["bullmq"], "Content-Type": "application/json"}
LIMIT = 8192


def _nimble(body: bytes) -> bytes:
    return request_bytes("POST", "/nimble/v1/jobs", JSON, body)


def _bullmq(data: bytes) -> bytes:
    return request_bytes("POST", "/bullmq/queues/queue-a/jobs", BULL,
                         b'[{"name":"n","data":' + data + b"}]")


# name: (request bytes, expected status, expected text in the body)
CASES: dict[str, tuple[bytes, int, str]] = {
    "invalid JSON": (_nimble(b'{"name": '), 422, "JSON decode error"),
    "invalid UTF-8": (_nimble(b'{"name": "\xff"}'), 422, "Invalid UTF-8"),
    "NUL in a JSON string": (_nimble(b'{"name": "a\x00"}'), 422, "control character"),
    "UTF-8 BOM": (_nimble(b'\xef\xbb\xbf{"name": "a"}'), 422, "BOM"),
    "nested 1000 deep": (_bullmq(b"[" * 1000 + b"]" * 1000), 400, "nested too deeply"),
    "nested 65 deep": (_bullmq(b"[" * 65 + b"]" * 65), 400, "nested too deeply"),
    "objects nested 300 deep": (_bullmq(b'{"a":' * 300 + b"1" + b"}" * 300), 400,
                                "nested too deeply"),
    "1e999": (_bullmq(b"1e999"), 400, "out of range"),
    "-1e999 in NeMo-style body": (_nimble(b'{"name": -1e999}'), 422, "out of range"),
    "NaN": (_bullmq(b"NaN"), 400, "NaN is not valid JSON"),
    "Infinity": (_bullmq(b"Infinity"), 400, "Infinity is not valid JSON"),
    "integer of 4301 digits": (_bullmq(b"9" * 4301), 400, "4300 digits"),
    "huge string": (_bullmq(b'"' + b"x" * (LIMIT * 2) + b'"'), 413, "Payload too large"),
    "huge array": (_bullmq(b"[" + b"1," * LIMIT + b"1]"), 413, "Payload too large"),
    "wrong content type": (request_bytes("POST", "/nimble/v1/jobs",
                                         {**AUTH["nimble"], "Content-Type": "text/csv"},
                                         b"a,b"), 422, "Input should be a valid dictionary"),
    "missing content type": (request_bytes("POST", "/nimble/v1/jobs", AUTH["nimble"],
                                           b'{"name": "x"}'), 422, "valid dictionary"),
    "broken chunked body": (request_bytes(
        "POST", "/nimble/v1/jobs", {**JSON, "Transfer-Encoding": "chunked"},
        b"zz\r\n{}\r\n0\r\n\r\n"), 422, "unreadable body"),
    "unknown transfer coding": (request_bytes(
        "POST", "/nimble/v1/jobs", {**JSON, "Transfer-Encoding": "gzip"}, b"x"), 501,
        "not implemented"),
    "HTTP/2.0 request line": (request_bytes("GET", "/nimble/v1/jobs", AUTH["nimble"],
                                            version="HTTP/2.0"), 505, "Invalid HTTP version"),
    "garbage HTTP version": (request_bytes("GET", "/nimble/v1/jobs", AUTH["nimble"],
                                           version="JUNK"), 400, "Bad request version"),
    "overlong path": (request_bytes("GET", "/nimble/v1/jobs/" + "a" * 70_000,
                                    AUTH["nimble"]), 414, "Request-URI Too Long"),
    "overlong header": (request_bytes("GET", "/nimble/v1/jobs",
                                      {**AUTH["nimble"], "X-Big": "a" * 70_000}), 431,
                        "Line too long"),
    "too many headers": (request_bytes("GET", "/nimble/v1/jobs",
                                       {**AUTH["nimble"],
                                        **{f"X-H{i}": "1" for i in range(200)}}), 431,
                         "Too many headers"),
    "NUL in the path": (b"GET /nimble/v1/jobs/a\x00b HTTP/1.1\r\nHost: x\r\n"
                        b"Authorization: Bearer jobmock\r\nConnection: close\r\n\r\n", 404,
                        "not found"),
    "percent-encoded NUL": (request_bytes("GET", "/nimble/v1/jobs/a%00b", AUTH["nimble"]),
                            404, "not found"),
    "dot segments towards the control API": (request_bytes(
        "GET", "/nimble/../__jobmock/state", AUTH["nimble"]), 404, "Not Found"),
    "encoded dot segments": (request_bytes("GET", "/nimble/%2e%2e/__jobmock/state",
                                           AUTH["nimble"]), 404, "Not Found"),
    "unknown method": (request_bytes("BREW", "/nimble/v1/jobs", AUTH["nimble"]), 405,
                       "Method Not Allowed"),
    "unknown method on SAP (Express: 404)": (request_bytes("BREW", "/sap/scheduler/jobs",
                                                           AUTH["sap"]), 404, "Cannot BREW"),
}


@pytest.fixture
def server(watched_server: Callable[..., Watched]) -> Watched:
    return watched_server(max_body_bytes=LIMIT)


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_request_gets_its_answer(server: Watched, name: str) -> None:
    data, status, text = CASES[name]
    answer = send_raw(server.port, data)
    assert answer.status == status, answer.raw[:400]
    assert text.lower() in answer.body.decode("utf-8", "replace").lower(), answer.body[:400]
    assert b"<html" not in answer.body.lower()
    assert answer.headers.get("connection") == "close"
    if answer.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(answer.body)
        assert "detail" in body or "code" in body or "error" in body


def test_body_on_get_is_ignored(server: Watched) -> None:
    answer = send_raw(server.port, request_bytes("GET", "/nimble/v1/jobs", JSON, b'{"x": 1}'))
    assert answer.status == 200
    assert json.loads(answer.body)["total"] == 0


def test_duplicate_keys_last_one_wins(server: Watched) -> None:
    """FastAPI (json.loads) and Node (JSON.parse) both keep the last duplicate key."""
    body = b'{"name": 1, "agent_name": "a", "name": "kept"}'
    answer = send_raw(server.port, _nimble(body))
    assert answer.status == 201, answer.body
    assert json.loads(answer.body)["name"] == "kept"


def test_chunked_body_is_read(server: Watched) -> None:
    body = b'{"name": "chunked", "agent_name": "a"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    answer = send_raw(server.port, request_bytes(
        "POST", "/nimble/v1/jobs", {**JSON, "Transfer-Encoding": "chunked"}, chunked))
    assert answer.status == 201
    assert json.loads(answer.body)["name"] == "chunked"


@pytest.mark.parametrize("query", ["limit=" + "9" * 5000, "limit=1e999", "limit=%00",
                                   "limit=%ff%fe", "limit=NaN"])
def test_hostile_query_values(server: Watched, query: str) -> None:
    answer = send_raw(server.port, request_bytes("GET", f"/nimble/v1/jobs/runs?{query}",
                                                 AUTH["nimble"]))
    assert 400 <= answer.status < 500, answer.raw[:300]


def test_empty_lines_before_the_request_line_are_skipped(server: Watched) -> None:
    """RFC 9112 section 2.2 (found by the raw-HTTP fuzzer: http.server closed silently)."""
    answer = send_raw(server.port, b"\r\n\n" + request_bytes("GET", "/nimble/v1/jobs",
                                                             AUTH["nimble"]))
    assert answer.status == 200
    only_blank = send_raw(server.port, b"\r\n" * 20)
    assert only_blank.status == 400
