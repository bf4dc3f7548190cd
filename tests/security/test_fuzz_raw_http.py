"""Hypothesis over raw HTTP: requests built as bytes (method, path, headers, body, version) and
sent over a socket to one live server serving all five APIs.

Fixed budget: JOBMOCK_FUZZ_EXAMPLES requests (500 by default), derandomized so a CI run is
reproducible. Every answer must have a status line, never be a 5xx other than the 501/505
HTTP prescribes, never be an HTML page; afterwards the server log holds no traceback and no
handler crashed. The number of requests sent and the statuses seen are printed (`pytest -rP`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.spec import API_NAMES, load_spec
from tests.security.conftest import AUTH, WS, Watched, request_bytes, send_raw

EXAMPLES = int(os.environ.get("JOBMOCK_FUZZ_EXAMPLES", "500"))
PROTOCOL_5XX = {501, 505}
TEMPLATES = sorted({f"/{api}{op.path}" for api in API_NAMES for op in load_spec(api).operations}
                   | {"/__jobmock/health", "/__jobmock/journal", "/__jobmock/reset"})

_segment = st.one_of(
    st.sampled_from(["1", "queue-a", WS, "job_1", "x", "..", ".", "%2e%2e", "%2F", "%00",
                     "%ff", "a%20b", "", "~", "%", "%zz", "\u00e9", "a" * 300]),
    st.text(st.characters(codec="utf-8", exclude_characters=" \r\n\t?#"), max_size=12),
)


@st.composite
def _paths(draw: st.DrawFn) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    parts = [draw(_segment) if part.startswith("{") else part
             for part in template.split("/")]
    path = "/".join(parts)
    if draw(st.booleans()):
        pairs = draw(st.lists(st.tuples(
            st.sampled_from(["limit", "page", "start", "length", "statuses", "status",
                             "filter[status]", "cursor", "token", "x"]), _segment), max_size=3))
        path += "?" + "&".join(f"{k}={v}" for k, v in pairs)
    return path


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)

_bodies = st.one_of(
    st.just(b""),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.sampled_from([b"[" * 2000, b'{"a":' * 100 + b"1" + b"}" * 100, b"1e999", b"NaN",
                     b"9" * 5000, b'{"name": "x", "name": 1}', b'{"name": "\\ud800"}',
                     b'[{"name":"a","data":{}}]', b'{"name":"j","agent_name":"a"}']),
)

_headers = st.dictionaries(
    st.sampled_from(["Authorization", "x-api-key", "Content-Type", "Cookie", "X-Custom",
                     "Accept", "Transfer-Encoding", "Expect", "x-jobmock-control-token"]),
    st.one_of(
        st.sampled_from(["Bearer jobmock", "Basic am9ibW9jazpqb2Jtb2Nr", "Basic !!!",
                         "Bearer ", "jobmock", "application/json", "text/plain",
                         "application/x-www-form-urlencoded", "multipart/form-data",
                         "chunked", "gzip", "100-continue", "a=b; c", ""]),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)),
    max_size=4)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    """One request as bytes: mostly well-formed HTTP/1.1 with hostile parts."""
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
                                   "TRACE", "BREW", "get", "CONNECT"]))
    path = draw(_paths())
    api = path.split("/")[1]
    headers = {**AUTH.get(api, {})} if draw(st.booleans()) else {}
    headers.update(draw(_headers))
    body = draw(_bodies)
    if headers.get("Transfer-Encoding") == "chunked":
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if draw(st.booleans()) else body
    version = draw(st.sampled_from(["HTTP/1.1"] * 8 + ["HTTP/1.0", "HTTP/2.0", "HTTP/1.x"]))
    data = request_bytes(method, path.encode("utf-8", "surrogatepass").decode("latin-1"),
                         headers, body, version)
    if draw(st.integers(0, 9)) == 0:  # now and then, a byte flipped anywhere
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    return data


def test_raw_http_fuzzing_finds_no_server_error(
        watched_server: Callable[..., Watched]) -> None:
    server = watched_server(max_body_bytes=4096, request_timeout=1)
    seen: Counter[int] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(raw_requests())
    def one_request(data: bytes) -> None:
        answer = send_raw(server.port, data, timeout=10)
        seen[answer.status] += 1
        assert answer.status, f"no status line for {data[:300]!r}: {answer.raw[:200]!r}"
        assert answer.status < 500 or answer.status in PROTOCOL_5XX, (data[:500], answer.raw[:500])
        assert b"<html" not in answer.body.lower(), (data[:300], answer.body[:300])

    one_request()
    sent = sum(seen.values())
    print(f"raw HTTP fuzzing: {sent} requests sent; statuses {dict(sorted(seen.items()))}; "
          f"5xx from the app: {server.server_errors()}; "
          f"tracebacks in the server log: {len(server.log.tracebacks())}")
    assert sent >= EXAMPLES
    assert server.server_errors() == 0
    assert not server.log.tracebacks()
