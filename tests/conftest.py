"""Shared fixtures: apps with their own state, Flask test clients, and real servers.

Every app `make_app` builds (and so `make_client`, `live_server`) keeps its state in a store
of its own, and the tests that use them run once per backend: `memory`, `sqlite` (a fresh
file in the test's tmp_path) and `redis` (a fresh key prefix on the server named by
`JOBMOCK_TEST_REDIS_URL`; skipped without it, failed under `CI=true`). Official-client tests
(tests/sdk) run on memory only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app, runtime_of
from mockserver.runtime import Runtime
from mockserver.server import ServerThread

pytest_plugins = ["pytester"]

STORE_KINDS = ("memory", "sqlite", "redis")
REDIS_URL_VARIABLE = "JOBMOCK_TEST_REDIS_URL"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that builds an app once per store backend (tests/sdk: memory only)."""
    if "store_kind" not in metafunc.fixturenames or "tests/sdk" in metafunc.definition.nodeid:
        return
    if any("store_kind" in m.args for m in metafunc.definition.iter_markers("parametrize")):
        return
    metafunc.parametrize("store_kind", STORE_KINDS, indirect=True, scope="session")


@pytest.fixture(scope="session")
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store backend of this test run: memory, sqlite or redis."""
    return str(getattr(request, "param", "memory"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server the tests may use (`JOBMOCK_TEST_REDIS_URL`; `.ci/run` starts one)."""
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        message = f"no Redis for the tests: set {REDIS_URL_VARIABLE}=redis://127.0.0.1:6390/0"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


class StoreUrls:
    """Hands out URLs of fresh, empty stores of one backend; `cleanup` deletes Redis keys."""

    def __init__(self, kind: str, directory: Path, redis: str | None) -> None:
        self.kind, self.directory, self.redis = kind, directory, redis
        self.prefixes: list[str] = []

    def new(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:{self.directory / f'store-{uuid.uuid4().hex[:8]}.db'}"
        if self.kind == "redis":
            self.prefixes.append(f"jobmock-test-{uuid.uuid4().hex[:12]}:")
            return f"{self.redis}?prefix={self.prefixes[-1]}"
        return "memory:"

    def cleanup(self) -> None:
        if not self.prefixes:
            return
        import redis

        client = redis.Redis.from_url(str(self.redis))
        for prefix in self.prefixes:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.unlink(*keys)
        client.close()


def _store_urls(request: pytest.FixtureRequest, kind: str, directory: Path) -> StoreUrls:
    redis = request.getfixturevalue("redis_url") if kind == "redis" else None
    return StoreUrls(kind, directory, redis)


@pytest.fixture
def store_urls(request: pytest.FixtureRequest, store_kind: str,
               tmp_path: Path) -> Iterator[StoreUrls]:
    """Fresh stores of this run's backend, for one test."""
    urls = _store_urls(request, store_kind, tmp_path)
    yield urls
    urls.cleanup()


@pytest.fixture(scope="module")
def module_store_urls(request: pytest.FixtureRequest, store_kind: str,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreUrls]:
    """Fresh stores of this run's backend, for apps a module shares (reset between tests)."""
    urls = _store_urls(request, store_kind, tmp_path_factory.mktemp("stores"))
    yield urls
    urls.cleanup()


def _checked_app(settings: dict[str, Any]) -> Flask:
    app = create_app({"random_seed": 7, **settings})
    app.testing = True
    return app


@pytest.fixture
def make_app(store_urls: StoreUrls) -> Iterator[Callable[..., Flask]]:
    """Build apps (strict, seeded), each on a fresh store of this run's backend; after the
    test, assert no handler crashed in any of them."""
    made: list[Flask] = []

    def build(**settings: Any) -> Flask:
        app = _checked_app({"store": store_urls.new(), **settings})
        made.append(app)
        return app

    yield build
    for app in made:
        runtime_of(app).store.close()
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
