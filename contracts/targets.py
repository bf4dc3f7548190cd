"""What a suite runs against: an API behind a transport, with optional control of the mock.

`http_target` points at any base URL (the mock, or a real implementation); it finds a
jobmock control API itself by probing `/__jobmock/health` at the server root.
`local_target` starts the mock in process (no socket). `use_target` makes a target the
current one for the state machines' `TestCase`s (the CLI and the pytest plugin set it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from contracts.client import ApiClient, ControlClient, Credentials
from contracts.transport import HttpTransport, Transport, WsgiTransport
from mockserver.spec import Spec, load_spec

__all__ = ["Target", "current_target", "http_target", "local_target", "use_target"]


@dataclass
class Target:
    """One API of one server, with the credentials to use and, on a mock, its control API."""

    api: str
    transport: Transport
    credentials: Credentials = field(default_factory=Credentials)
    control: ControlClient | None = None
    readonly: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def spec(self) -> Spec:
        return load_spec(self.api)

    def client(self) -> ApiClient:
        """A fresh client (its own history) for one test case."""
        return ApiClient(self.spec, self.transport, self.credentials, self.readonly)

    def note(self, text: str) -> None:
        """Record something the report must say (e.g. rules skipped without a control API)."""
        if text not in self.notes:
            self.notes.append(text)


def http_target(api: str, base_url: str, credentials: Credentials | None = None,
                control_url: str | None = None, readonly: bool = False,
                timeout: float = 10.0, control_token: str | None = None) -> Target:
    """A target over real HTTP; the control API is probed when `control_url` is not given
    (with `control_token` when the server has one)."""
    control = _probe_control(control_url or _server_root(base_url) + "/__jobmock", timeout,
                             control_token)
    return Target(api, HttpTransport(base_url, timeout), credentials or Credentials(),
                  control, readonly)


def _server_root(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _probe_control(url: str, timeout: float, token: str | None) -> ControlClient | None:
    control = ControlClient(HttpTransport(url, min(timeout, 3.0)), token)
    return control if control.healthy() else None


def local_target(api: str, settings: dict[str, Any] | None = None,
                 readonly: bool = False, app: Any = None) -> Target:
    """The mock for `api`, in process, frozen on a seeded virtual clock (or a given app)."""
    if app is None:
        from mockserver.app import create_app  # wiring only: the suites use the transport

        app = create_app({"apis": (api,), "random_seed": 0, **(settings or {})})
    return Target(api, WsgiTransport(app, f"/{api}"), Credentials(),
                  ControlClient(WsgiTransport(app, "/__jobmock")), readonly)


_current: dict[str, Target] = {}
_lock = threading.Lock()


def current_target(api: str) -> Target:
    """The target set by `use_target`, or an in-process mock made once per process."""
    with _lock:
        if api not in _current:
            _current[api] = local_target(api)
        return _current[api]


@contextmanager
def use_target(target: Target) -> Iterator[Target]:
    """Make `target` the current one for its API while the block runs."""
    with _lock:
        previous = _current.get(target.api)
        _current[target.api] = target
    try:
        yield target
    finally:
        with _lock:
            if previous is None:
                _current.pop(target.api, None)
            else:
                _current[target.api] = previous
