"""The one seam between the suites and a server: real HTTP, or a WSGI app in process.

Both transports take the same call (method, path below the API's base URL, query, headers,
body bytes) and return a `Received`; every call is also a `Sent` that can print itself as a
runnable `curl` line.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

__all__ = ["HttpTransport", "Received", "Sent", "Transport", "WsgiTransport"]


@dataclass(frozen=True)
class Sent:
    """A request as sent: enough to replay it with curl."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None

    def curl(self) -> str:
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            parts += ["--data-binary", shlex.quote(self.body.decode("utf-8", "replace"))]
        return " ".join(parts)


@dataclass(frozen=True)
class Received:
    """A response: status, lower-case headers, raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    _json: Any = field(default=None, repr=False, compare=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body) if self.body else None


class Transport(Protocol):
    """Sends a request below `base_url` and returns what came back."""

    base_url: str

    def send(self, method: str, path: str, query: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None,
             body: bytes | None = None) -> tuple[Sent, Received]: ...


def _url(base_url: str, path: str, query: Mapping[str, Any] | None) -> str:
    url = base_url.rstrip("/") + path
    if query:
        url += "?" + urlencode(query, doseq=True)
    return url


class HttpTransport:
    """Real HTTP with a pooled session and a bounded timeout."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def send(self, method: str, path: str, query: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None,
             body: bytes | None = None) -> tuple[Sent, Received]:
        url = _url(self.base_url, path, query)
        sent = Sent(method, url, dict(headers or {}), body)
        response = self._session.request(method, url, headers=sent.headers, data=body,
                                         timeout=self.timeout, allow_redirects=False)
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return sent, Received(response.status_code, lowered, response.content)

    def close(self) -> None:
        self._session.close()


class WsgiTransport:
    """A WSGI app called in process (no socket); URLs in curl lines use `display_base`."""

    def __init__(self, app: Any, prefix: str = "",
                 display_base: str = "http://127.0.0.1:8080") -> None:
        from werkzeug.test import Client

        self._client = Client(app)
        self._prefix = prefix.rstrip("/")
        self.base_url = display_base.rstrip("/") + self._prefix

    def send(self, method: str, path: str, query: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None,
             body: bytes | None = None) -> tuple[Sent, Received]:
        sent = Sent(method, _url(self.base_url, path, query), dict(headers or {}), body)
        response = self._client.open(self._prefix + path, method=method,
                                     query_string=urlencode(query or {}, doseq=True),
                                     headers=list(sent.headers.items()), data=body or b"")
        lowered = {k.lower(): v for k, v in response.headers.items()}
        received = Received(response.status_code, lowered, response.get_data())
        response.close()
        return sent, received
