"""Helpers for the security tests: a watched live server and a raw-socket HTTP client.

`watched_server(**settings)` starts the mock on 127.0.0.1 with a counter of every status the
app sent and a capture of the server's log records (the `jobmock` and `werkzeug` loggers);
after the test it asserts that no handler crashed and that no traceback was logged.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response

from mockserver.app import runtime_of
from mockserver.server import ServerThread

BASIC = "Basic am9ibW9jazpqb2Jtb2Nr"  # jobmock:jobmock
AUTH = {"sap": {"Authorization": BASIC}, "nemo": {}, "bullmq": {"Authorization": "Bearer jobmock"},
        "intuned": {"x-api-key": "jobmock"}, "nimble": {"Authorization": "Bearer jobmock"}}
WS = "123e4567-e89b-12d3-a456-426614174000"


class LogCapture(logging.Handler):
    """Keeps every record of the server's loggers, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
        with self._lock2:
            self.lines.append(text)

    @property
    def text(self) -> str:
        with self._lock2:
            return "\n".join(self.lines)

    def tracebacks(self) -> list[str]:
        return [line for line in self.lines if "Traceback" in line]


@dataclass
class Watched:
    """A live server, the statuses its app sent, and its log."""

    server: ServerThread
    log: LogCapture
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])

    @property
    def app(self) -> Flask:
        return self.server.app

    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@pytest.fixture
def watched_server(make_app: Callable[..., Flask]) -> Iterator[Callable[..., Watched]]:
    started: list[Watched] = []
    loggers = [logging.getLogger(name) for name in ("jobmock", "werkzeug")]
    capture = LogCapture()
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)

    def start(**settings: Any) -> Watched:
        app = make_app(**settings)
        watched = Watched(ServerThread(app), capture)
        counts, lock = watched.statuses, threading.Lock()

        @app.after_request
        def count(response: Response) -> Response:
            with lock:
                counts[response.status_code] += 1
            return response

        watched.server.start()
        for lg in loggers:  # ServerThread quietens werkzeug; keep its errors
            lg.setLevel(logging.WARNING)
        started.append(watched)
        return watched

    yield start
    for watched in started:
        watched.server.stop()
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(capture)
        lg.setLevel(level)
    for watched in started:
        assert not runtime_of(watched.app).bugs, runtime_of(watched.app).bugs[0].trace
    assert not capture.tracebacks(), capture.text[-3000:]


@dataclass
class RawResponse:
    """What came back on a raw socket: status (0 if none), headers, body."""

    raw: bytes
    status: int
    headers: dict[str, str]
    body: bytes


def send_raw(port: int, data: bytes, timeout: float = 10.0) -> RawResponse:
    """Send bytes to 127.0.0.1:port, read until the server closes, parse the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close first
            sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
    return parse_response(b"".join(chunks))


def parse_response(raw: bytes) -> RawResponse:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") \
        and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return RawResponse(raw, status, headers, body)


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def request_bytes(method: str, path: str, headers: dict[str, str] | None = None,
                  body: bytes = b"", version: str = "HTTP/1.1") -> bytes:
    """A request as bytes: Host and Connection: close added, Content-Length when a body."""
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body and "Transfer-Encoding" not in (headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
