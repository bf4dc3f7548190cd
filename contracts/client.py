"""Call an API's operations by operationId, with its credentials, checking every response.

`ApiClient.call` fills the path template, adds the auth header the operation's security asks
for, sends through the target's transport, runs the registered checks, records the request
for reproduction and the (operation, status) pair for the coverage table.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from contracts.checks import CheckContext, decoded_body, run_checks
from contracts.failures import ContractFailure
from contracts.transport import Received, Sent, Transport
from mockserver.spec import Operation, Spec
from mockserver.validation import MISSING

__all__ = ["ApiClient", "ControlClient", "Credentials", "Result"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Credentials:
    """What the suites send; defaults to the mock's (`jobmock`), or `JOBMOCK_*` variables."""

    token: str = "jobmock"
    api_key: str = "jobmock"
    basic_user: str = "jobmock"
    basic_password: str = "jobmock"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        return cls(token=env.get("JOBMOCK_TOKEN", "jobmock"),
                   api_key=env.get("JOBMOCK_API_KEY", "jobmock"),
                   basic_user=env.get("JOBMOCK_BASIC_USER", "jobmock"),
                   basic_password=env.get("JOBMOCK_BASIC_PASSWORD", "jobmock"))


@dataclass(frozen=True)
class Result:
    """A checked response."""

    operation: Operation
    sent: Sent
    received: Received

    @property
    def status(self) -> int:
        return self.received.status

    @property
    def body(self) -> Any:
        value = decoded_body(self.received)
        return None if value is MISSING else value


@dataclass
class ApiClient:
    """Operation-level client for one API behind one transport."""

    spec: Spec
    transport: Transport
    credentials: Credentials = field(default_factory=Credentials)
    readonly: bool = False
    coverage: Counter[tuple[str, int]] = field(default_factory=Counter)
    history: list[Sent] = field(default_factory=list)

    def call(self, operation_id: str, path: Mapping[str, Any] | None = None,
             query: Mapping[str, Any] | None = None, body: Any = MISSING,
             raw_body: bytes | None = None, headers: Mapping[str, str] | None = None,
             auth: bool = True, token: str | None = None) -> Result:
        """Send one request; `token` overrides the bearer (BullMQ job tokens)."""
        op = self.spec.operation(operation_id)
        if self.readonly and op.method not in SAFE_METHODS:
            raise RuntimeError(f"read-only run: refusing to send {op.method} {op.path}")
        sent_headers = self._headers(op, body, raw_body, headers, auth, token)
        data = raw_body if raw_body is not None else (
            None if body is MISSING else json.dumps(body).encode("utf-8"))
        sent, received = self.transport.send(op.method, fill_path(op.path, path or {}),
                                             query, sent_headers, data)
        self.history.append(sent)
        self.coverage[(operation_id, received.status)] += 1
        run_checks(CheckContext(op, sent, received, tuple(self.history)))
        return Result(op, sent, received)

    def expect(self, result: Result, statuses: set[int] | int, rule: str, why: str = "") -> None:
        """Fail with `rule` unless the status is one of `statuses`."""
        wanted = {statuses} if isinstance(statuses, int) else statuses
        if result.status not in wanted:
            detail = f"expected {sorted(wanted)}, got {result.status}"
            message = f"{why}: {detail}" if why else detail
            self.fail(result.operation.operation_id, rule,
                      f"{message} — body {result.received.text[:200]!r}")

    def fail(self, operation: str, rule: str, message: str) -> None:
        raise ContractFailure(operation, rule, message, self.history)

    def _headers(self, op: Operation, body: Any, raw_body: bytes | None,
                 extra: Mapping[str, str] | None, auth: bool,
                 token: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if body is not MISSING or raw_body is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            headers.update(auth_headers(self.spec, op, self.credentials, token))
        headers.update(extra or {})
        return headers


def fill_path(template: str, values: Mapping[str, Any]) -> str:
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def auth_headers(spec: Spec, op: Operation, creds: Credentials,
                 token: str | None = None) -> dict[str, str]:
    """Headers satisfying the first security requirement the credentials can meet."""
    if token is not None:
        return {"Authorization": f"Bearer {token}"}
    for requirement in op.security:
        for name in requirement:
            header = _scheme_header(spec.security_schemes.get(name, {}), creds)
            if header:
                return header
    return {}


def _scheme_header(scheme: Mapping[str, Any], creds: Credentials) -> dict[str, str]:
    kind, flavour = scheme.get("type"), str(scheme.get("scheme", "")).lower()
    if kind == "http" and flavour == "basic":
        pair = f"{creds.basic_user}:{creds.basic_password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    if kind == "http" and flavour == "bearer":
        return {"Authorization": f"Bearer {creds.token}"}
    if kind == "apiKey" and scheme.get("in") == "header":
        return {str(scheme["name"]): creds.api_key}
    return {}


@dataclass
class ControlClient:
    """The mock's control API (`/__jobmock`), when the target is a jobmock server.

    `token` is the server's control token, when it has one (sent as a bearer token)."""

    transport: Transport
    token: str | None = None

    def reset(self, api: str | None = None) -> None:
        body = json.dumps({"api": api} if api else {}).encode()
        self._post("/reset", body)

    def action(self, api: str, name: str, **params: Any) -> Any:
        """Run a lifecycle action; returns its JSON result."""
        received = self._post(f"/apis/{api}/actions/{name}", json.dumps(params).encode())
        return received.json()

    def advance(self, seconds: float) -> Any:
        return self._post("/clock", json.dumps({"advance": seconds}).encode()).json()

    def virtual_clock(self) -> bool:
        """Whether the server's clock is virtual (so `advance` can move it)."""
        _, received = self.transport.send("GET", "/clock")
        return received.status == 200 and bool(received.json().get("virtual"))

    def healthy(self) -> bool:
        try:
            _, received = self.transport.send("GET", "/health", None, self._auth())
        except OSError:
            return False
        return received.status == 200 and b'"status":"ok"' in received.body.replace(b" ", b"")

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _post(self, path: str, body: bytes) -> Received:
        _, received = self.transport.send("POST", path, None,
                                          {"Content-Type": "application/json", **self._auth()},
                                          body)
        if received.status != 200:
            raise RuntimeError(f"control API {path} answered {received.status}: "
                               f"{received.text[:300]}")
        return received
