"""A receiver: a real HTTP server on 127.0.0.1 standing in for the user's code (a worker
endpoint, an SAP action URL, a webhook), whose answer each test decides."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


Answer = tuple[int, Any] | Response


class Receiver:
    """Records every request; `answer(received)` decides the response (status, JSON)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer: Callable[[Received], Answer] = lambda received: (200, {"ok": True})
        self._arrived = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests have arrived (fails the test after `timeout`)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} requests, got {len(self.received)}")
            return list(self.received)

    def _app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        received = Received(request.method, request.path,
                            request.query_string.decode(),
                            {k.lower(): v for k, v in request.headers.items()},
                            request.get_data(as_text=True))
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        answer = self.answer(received)
        if not isinstance(answer, Response):
            status, body = answer
            answer = Response(json.dumps(body), status, content_type="application/json")
        return answer(environ, start_response)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The user's code on a loopback port."""
    server = Receiver().start()
    yield server
    server.stop()
