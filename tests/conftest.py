"""Shared fixtures: apps with their own state, Flask test clients, and real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app, runtime_of
from mockserver.runtime import Runtime
from mockserver.server import ServerThread

pytest_plugins = ["pytester"]


def _checked_app(settings: dict[str, Any]) -> Flask:
    app = create_app({"random_seed": 7, **settings})
    app.testing = True
    return app


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Build apps (strict, seeded); after the test, assert no handler crashed in any of them."""
    made: list[Flask] = []

    def build(**settings: Any) -> Flask:
        app = _checked_app(settings)
        made.append(app)
        return app

    yield build
    for app in made:
        bugs = runtime_of(app).bugs
        assert not bugs, f"handler crashed: {bugs[0].trace}"


@pytest.fixture
def make_client(make_app: Callable[..., Flask]) -> Callable[..., FlaskClient]:
    """`make_client("nimble")`: a test client of an app serving those APIs."""

    def build(*apis: str, **settings: Any) -> FlaskClient:
        if apis:
            settings["apis"] = apis
        return make_app(**settings).test_client()

    return build


def runtime_for(client: FlaskClient) -> Runtime:
    """The Runtime behind a test client (state, journal, clock)."""
    return runtime_of(client.application)


@pytest.fixture
def live_server(make_app: Callable[..., Flask]) -> Iterator[Callable[..., ServerThread]]:
    """Start a real HTTP server on 127.0.0.1 and a free port; stopped after the test."""
    started: list[ServerThread] = []

    def start(**settings: Any) -> ServerThread:
        server = ServerThread(make_app(**settings)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
