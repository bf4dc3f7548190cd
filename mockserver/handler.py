"""The HTTP request handler behind `jobmock serve`: Werkzeug's, hardened for hostile clients.

- **Protocol errors in the vendor's shape.** What the HTTP layer refuses before the app runs
  (414 request line too long, 431 header line too long or too many headers, 400 unparsable
  request line, 505 unsupported HTTP version, 501 unknown transfer coding) is answered in the
  shape of the API the path belongs to, never as http.server's HTML page, and always with a
  status line (http.server omits it when the version could not be read).
- **A deadline per request.** A client has `request_timeout` seconds to send its request line,
  headers and body; then the connection is shut down. A client that sends one byte a second
  (slowloris) holds one thread for at most that long, and other clients never wait for it.
  The socket timeout (the same value) bounds every single read and write as well.
- **No wait for an idle client after the answer.** Werkzeug drains what is left of a request
  after answering (e.g. the rest of an oversize body) with one 10 MB read that blocks until
  the client closes; here that read takes only what has already arrived.
- **No secret in the server log**: request lines are logged with credentials in the query
  string masked.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any, ClassVar
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import WSGIRequestHandler

from mockserver.app import REQUEST_READ, runtime_of, to_response
from mockserver.journal import mask_text

__all__ = ["request_handler"]


def request_handler(app: Flask) -> type[WSGIRequestHandler]:
    """A handler class for `make_server` bound to `app` (its runtime and its config)."""
    runtime = runtime_of(app)

    class Handler(_HardenedHandler):
        deadline_seconds = runtime.config.request_timeout
        timeout = runtime.config.request_timeout + 1  # the deadline (408) comes first
        render = staticmethod(runtime.protocol_error)

    return Handler


class _HardenedHandler(WSGIRequestHandler):
    render: ClassVar[Any]  # Runtime.protocol_error of the app
    # Werkzeug writes headers and body separately: without TCP_NODELAY, the body may wait
    # for the client's delayed ACK.
    disable_nagle_algorithm = True
    deadline_seconds: ClassVar[float] = 30.0
    _answering = False

    def setup(self) -> None:
        super().setup()
        self.rfile = _NoBlockingDrain(self.rfile)  # type: ignore[assignment]
        self._deadline = threading.Timer(self.deadline_seconds, self._cut)
        self._deadline.daemon = True
        self._deadline.start()

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def _cut(self) -> None:
        """The request took too long to arrive: answer 408 (unless an answer has begun) and
        end the connection; the pending read sees end-of-file and the thread moves on."""
        self.close_connection = True
        if not self._answering:
            with contextlib.suppress(OSError):
                self.connection.sendall(self._timeout_answer())
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _timeout_answer(self) -> bytes:
        method, path = self._target()
        response = to_response(self.render(method, path, 408, "Request Timeout: the request "
                               f"did not arrive within {self.deadline_seconds:g} s"))
        body = response.get_data()
        head = ["HTTP/1.1 408 Request Timeout", f"Content-Length: {len(body)}",
                "Connection: close"]
        head += [f"{k}: {v}" for k, v in response.headers.items()
                 if k.lower() not in ("content-length", "connection")]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body

    def send_response(self, code: int, message: str | None = None) -> None:
        self._answering = True
        super().send_response(code, message)

    def parse_request(self) -> bool:
        """As http.server's, but empty lines before the request line are skipped, as RFC 9112
        section 2.2 asks (http.server closes the connection without an answer)."""
        line = bytes(getattr(self, "raw_requestline", b""))
        self.command, self.request_version, self.requestline = "", "HTTP/1.0", ""
        for _ in range(_MAX_EMPTY_LINES):
            if line not in (b"\r\n", b"\n"):
                break
            line = self.raw_requestline = self.rfile.readline(65537)
        if len(line) > 65536:
            self.send_error(414)
            return False
        if line in (b"\r\n", b"\n"):
            self.send_error(400, "Bad request: only empty lines")
            return False
        return super().parse_request()

    def make_environ(self) -> Any:
        environ = super().make_environ()
        environ[REQUEST_READ] = self._deadline.cancel
        return environ

    def run_wsgi(self) -> None:
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            self.close_connection = True
            self.send_error(501, f"Transfer-Encoding {coding.strip()[:60]!r} is not "
                            "implemented; send the body with Content-Length or chunked")
            return
        super().run_wsgi()

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Like http.server's, with a body in the API's shape instead of an HTML page."""
        if self.request_version in ("HTTP/0.9", ""):
            self.request_version = "HTTP/1.0"  # so that a status line and headers are sent
        method, path = self._target()
        text = message or explain or self.responses.get(code, ("Error",))[0]
        response = to_response(self.render(method, path, code, text))
        body = response.get_data()
        self.close_connection = True
        self.send_response(code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def _target(self) -> tuple[str, str]:
        """Method and path of the request line, as far as they can be read."""
        words = bytes(getattr(self, "raw_requestline", b"")).decode("latin-1").split()
        method = words[0] if words else ""
        try:
            path = urlsplit(words[1]).path if len(words) > 1 else ""
        except ValueError:
            path = ""
        return method, path

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, "%s", mask_text(message % args if args else message))


class _NoBlockingDrain:
    """The connection's input, except that Werkzeug's post-response drain (one read of
    `_DRAIN_READ` bytes, done while the socket is readable) returns what has arrived instead of
    blocking until the client sends 10 MB or closes."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, size: int | None = -1) -> bytes:
        if size == _DRAIN_READ:
            try:
                data: bytes = self._inner.read1(65536)
            except OSError:  # timed out or shut down: nothing more to drain
                return b""
            return data
        data = self._inner.read(size)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


_DRAIN_READ = 10_000_000  # the size werkzeug.serving's drain asks for
_MAX_EMPTY_LINES = 8  # empty lines skipped before a request line
