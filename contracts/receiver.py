"""The user's code as the suites play it: an HTTP server on 127.0.0.1 that records each call.

Rules about the vendor calling the user (a BullMQ worker endpoint, an SAP action URL, an
Intuned webhook) register this server's URL, make the target call it, and check what arrived.
Standard library only (`http.server`), so the suites stay free of the mock's web stack.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Call", "Receiver"]


@dataclass(frozen=True)
class Call:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class Receiver:
    """Answers every call with `status` and a JSON `body` (or an empty one when None)."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status, self.body = status, body
        self.calls: list[Call] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="contracts-receiver")
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Call]:
        """The calls so far, once there are at least `count` (or after `timeout`)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.calls) >= count, timeout)
            return list(self.calls)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                text = self.rfile.read(size).decode("utf-8", "replace") if size else ""
                call = Call(self.command, self.path,
                            {k.lower(): v for k, v in self.headers.items()}, text)
                with receiver._arrived:
                    receiver.calls.append(call)
                    receiver._arrived.notify_all()
                payload = b"" if receiver.body is None else json.dumps(receiver.body).encode()
                self.send_response(receiver.status)
                if payload:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
