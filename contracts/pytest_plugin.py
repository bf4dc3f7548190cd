"""The pytest plugin (registered through the `pytest11` entry point): a thin layer.

Fixtures:
- `jobmock_server` (session): the mock on 127.0.0.1 and a free port, in a thread, frozen on a
  seeded virtual clock.
- `jobmock` (function): resets the server, gives base URLs and control helpers, and re-raises
  any exception a handler raised inside the server thread.

Options (group "jobmock"): `--jobmock-base-url` runs the contract suites (`StateMachine.TestCase`
classes) against another server instead of the in-process mock: a jobmock-style server root
whose APIs live under `/<name>`, or `NAME=URL` (repeatable) for one API's own base URL.
`--jobmock-token`, `--jobmock-api-key`, `--jobmock-basic` set the credentials sent;
`--jobmock-control-token` (or JOBMOCK_CONTROL_TOKEN) is the control token of a server that has
one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from contracts.client import Credentials
from contracts.targets import http_target, use_target

__all__ = ["JobmockFixture"]

BASE_URL = "--jobmock-base-url"
TOKEN = "--jobmock-token"
API_KEY = "--jobmock-api-key"
BASIC = "--jobmock-basic"
CONTROL_TOKEN = "--jobmock-control-token"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jobmock", "jobmock contract suites")
    group.addoption(BASE_URL, action="append", default=[], metavar="URL|NAME=URL",
                    help="run the jobmock contract suites against this server instead of "
                         "the in-process mock")
    group.addoption(TOKEN, default=None, help="bearer token the suites send")
    group.addoption(API_KEY, default=None, help="x-api-key the suites send")
    group.addoption(BASIC, default=None, metavar="USER:PASS", help="basic credentials to send")
    group.addoption(CONTROL_TOKEN, default=os.environ.get("JOBMOCK_CONTROL_TOKEN"),
                    help="control token of the server's /__jobmock API, when it has one")


def _credentials(config: pytest.Config) -> Credentials:
    defaults = Credentials.from_environ()
    user, _, password = (config.getoption(BASIC) or
                         f"{defaults.basic_user}:{defaults.basic_password}").partition(":")
    return Credentials(config.getoption(TOKEN) or defaults.token,
                       config.getoption(API_KEY) or defaults.api_key, user, password)


def pytest_configure(config: pytest.Config) -> None:
    from mockserver.spec import API_NAMES

    urls: list[str] = config.getoption(BASE_URL) or []
    stack = []
    for value in urls:
        name, sep, url = value.partition("=")
        pairs = [(name, url)] if sep and name in API_NAMES else [
            (api, f"{value.rstrip('/')}/{api}") for api in API_NAMES]
        for api, base in pairs:
            context = use_target(http_target(api, base, _credentials(config),
                                             control_token=config.getoption(CONTROL_TOKEN)))
            context.__enter__()
            stack.append(context)
    config._jobmock_targets = stack  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    for context in reversed(getattr(config, "_jobmock_targets", [])):
        context.__exit__(None, None, None)


@dataclass
class JobmockFixture:
    """What a test gets from the `jobmock` fixture."""

    url: str
    app: Any

    def base_url(self, api: str) -> str:
        """The base URL a client of `api` uses, e.g. `http://127.0.0.1:PORT/nimble`."""
        return f"{self.url}/{api}"

    def control(self, method: str, path: str, **body: Any) -> Any:
        response = requests.request(method, f"{self.url}/__jobmock{path}",
                                    json=body or None, timeout=10)
        if response.status_code != 200:
            raise AssertionError(f"control {path}: {response.status_code} {response.text}")
        return response.json()

    def action(self, api: str, name: str, **params: Any) -> Any:
        """Drive a lifecycle, e.g. `action("nimble", "set-run-status", run_id=..., status=...)`."""
        return self.control("POST", f"/apis/{api}/actions/{name}", **params)

    def journal(self, api: str | None = None) -> list[dict[str, Any]]:
        query = f"?api={api}" if api else ""
        entries: list[dict[str, Any]] = self.control("GET", f"/journal{query}")["entries"]
        return entries

    def fault(self, api: str, operation: str = "*", **settings: Any) -> Any:
        return self.control("PUT", "/faults", api=api, operation=operation, **settings)

    def advance(self, seconds: float, settle: float | None = None) -> Any:
        """Move the virtual clock, running what falls due (schedules, worker dispatch,
        retries, timeouts). `settle`: real seconds to wait for outbound calls after each due
        moment (0 when the endpoint under test deliberately hangs)."""
        body: dict[str, Any] = {"advance": seconds}
        if settle is not None:
            body["settle"] = settle
        return self.control("POST", "/clock", **body)


@pytest.fixture(scope="session")
def jobmock_server() -> Iterator[Any]:
    """The mock serving all five APIs on 127.0.0.1 (free port), for the whole session."""
    from mockserver.app import create_app
    from mockserver.server import ServerThread

    server = ServerThread(create_app({"random_seed": 0})).start()
    yield server
    server.stop()


@pytest.fixture
def jobmock(jobmock_server: Any) -> Iterator[JobmockFixture]:
    """A freshly reset mock; server-side errors are re-raised when the test ends."""
    from mockserver.app import runtime_of

    runtime = runtime_of(jobmock_server.app)
    runtime.reset()
    yield JobmockFixture(jobmock_server.url, jobmock_server.app)
    if runtime.bugs:
        bug = runtime.bugs[0]
        runtime.bugs.clear()
        raise AssertionError(f"the mock raised in {bug.api}.{bug.operation}:\n{bug.trace}")
