"""Run an app on a real socket: `jobmock serve`, the pytest plugin and integration tests.

One process (`run_server`, `ServerThread`), on one of two WSGI servers, both in the process
that holds the state (so every connection sees the same state):

- `waitress` (the default of `jobmock serve`): a production server that keeps connections
  alive and answers from a fixed pool of threads; about twice the requests per second of
  Werkzeug's under the benchmark's load (`benchmarks/README.md`). It buffers each request
  before a thread sees it, so a slow client holds no thread; protocol errors get waitress'
  own plain-text answers.
- `werkzeug` (the pytest plugin, the tests, `--server werkzeug`): one thread per connection,
  with the hardened request handler of `mockserver.handler` (request deadline, protocol
  errors in the vendor's shape).

Several processes (`run_workers`, `jobmock serve --workers N`): gunicorn's ``gthread``
workers, each with its own app on the one shared store (`sqlite:` or `redis://`). What each
process keeps to itself: the journal, the faults, the virtual clock and the handler-crash
list; everything in the store (the vendors' state) is shared.

Whatever the server, one on a non-loopback address refuses to start without a control token:
the control API can reset or rewrite all state.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from flask import Flask
from werkzeug.serving import make_server

from mockserver.app import create_app, runtime_of
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.errors import ConfigError
from mockserver.handler import request_handler

__all__ = ["SERVERS", "ServerThread", "banner", "check_exposure", "is_loopback", "run_server",
           "run_workers", "start_dispatch"]

SERVERS = ("waitress", "werkzeug")
WAITRESS_THREADS = 6


class _Server(Protocol):
    port: int

    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...

    def close(self) -> None: ...


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback address (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%", 1)[0]).is_loopback for a in addresses)


def check_exposure(config: Config, host: str) -> None:
    """Refuse to serve on a non-loopback address while the control API is open to anyone."""
    if config.control_token is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to bind {host}: it is not a loopback address, and the control API "
            "(/__jobmock: reset, state, faults) would be open to the network; set a control "
            "token with --control-token or JOBMOCK_CONTROL_TOKEN, or bind 127.0.0.1")


def banner(app: Flask, base: str) -> list[str]:
    """One line per API: its base URL and the credentials it accepts."""
    runtime = runtime_of(app)
    creds = runtime.config.credentials
    accepts = {
        "sap": f"basic {creds.basic_user}:{creds.basic_password}, or a JWT from "
               "`jobmock token sap`",
        "nemo": f"bearer {creds.token}" if creds.nemo_auth else "no auth (as the real service)",
        "bullmq": f"bearer {', '.join(creds.auth_tokens) or '(none: AUTH_TOKENS empty)'}"
                  " (job routes: the job's lock token)",
        "intuned": f"x-api-key: {creds.api_key}",
        "nimble": f"bearer {creds.token}",
    }
    lines = [f"{name:<8} {base}{runtime.config.mount_of(name).rstrip('/')}  "
             f"accepts {accepts[name]}" for name in runtime.apis]
    lines.append(f"control  {base}/__jobmock")
    return lines


def run_server(config: Config, host: str, port: int,
               announce: Callable[[str], None] = print, server: str = "waitress") -> None:
    """Serve until interrupted."""
    app = create_app(config)
    running = _make_server(server, host, port, app)
    base = f"http://{_display_host(host)}:{running.port}"
    for line in banner(app, base):
        announce(line)
    dispatcher = start_dispatch(app)
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        dispatcher.stop()
        running.close()


def run_workers(config: Config, host: str, port: int, workers: int, threads: int = 4,
                announce: Callable[[str], None] = print) -> None:
    """Serve with `workers` gunicorn processes of `threads` threads each until interrupted.

    The state fixture (`config.fixture`) is loaded here, once, before the workers start; each
    worker then builds its own app on the shared store."""
    from gunicorn.app.base import BaseApplication

    check_exposure(config, host)
    first = create_app(config)  # checks the settings, creates the store, loads the fixture
    store = runtime_of(first).store
    shared = bool(getattr(store, "shared", False))
    store.close()
    if workers > 1 and not shared:
        raise ConfigError(f"--workers {workers} needs a store the processes share: "
                          f"--store sqlite:PATH (one host) or --store redis://HOST:PORT/DB "
                          f"(several hosts), not {config.store!r}")
    worker_config = replace(config, fixture=None)

    def when_ready(arbiter: Any) -> None:
        bound_port = arbiter.LISTENERS[0].getsockname()[1]
        for line in banner(first, f"http://{_display_host(host)}:{bound_port}"):
            announce(line)

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            settings = {"bind": f"{_display_host(host)}:{port}", "workers": workers,
                        "worker_class": "gthread", "threads": threads, "loglevel": "warning",
                        "accesslog": None, "errorlog": "-", "when_ready": when_ready,
                        "graceful_timeout": 5, "proc_name": "jobmock"}
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return create_app(worker_config)

    Gunicorn().run()


def start_dispatch(app: Flask) -> Dispatcher:
    """On a real clock, run what falls due (schedules, workers, progress) in a daemon thread;
    a virtual clock moves only through `POST /__jobmock/clock`."""
    dispatcher = runtime_of(app).dispatcher
    if not runtime_of(app).clock.virtual:
        dispatcher.start()
    return dispatcher


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _make_server(kind: str, host: str, port: int, app: Flask) -> _Server:
    check_exposure(runtime_of(app).config, host)
    if kind == "waitress":
        return _Waitress(host, port, app)
    if kind == "werkzeug":
        return _Werkzeug(host, port, app)
    raise ValueError(f"unknown server {kind!r}; choose from {', '.join(SERVERS)}")


class _Waitress:
    """waitress on one listening socket; `shutdown` may be called from another thread."""

    def __init__(self, host: str, port: int, app: Flask) -> None:
        from waitress.server import create_server

        # Under load, waitress warns about its task queue at every request: no terminal
        # logging per request.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self._server: Any = create_server(app, host=host, port=port, threads=WAITRESS_THREADS,
                                          ident="jobmock", expose_tracebacks=False)
        self.port = int(self._server.effective_port)

    def serve_forever(self) -> None:
        self._server.run()

    def shutdown(self) -> None:
        from waitress import wasyncore

        server = self._server
        server.task_dispatcher.shutdown()  # finish the requests in flight first
        # Runs in the loop's own thread, which ends once its socket map is empty.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))

    def close(self) -> None:
        from waitress import wasyncore

        self._server.task_dispatcher.shutdown()
        wasyncore.close_all(self._server._map)


class _Werkzeug:
    """Werkzeug's threaded server, with the hardened handler of `mockserver.handler`."""

    def __init__(self, host: str, port: int, app: Flask) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server(host, port, app, threaded=True,
                                   request_handler=request_handler(app))
        self.port = int(self._server.server_port)

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def shutdown(self) -> None:
        self._server.shutdown()

    def close(self) -> None:
        self._server.server_close()


class ServerThread:
    """An app served on 127.0.0.1 in a background thread (port 0 picks a free port).

    Werkzeug by default (the pytest plugin and the tests): schemathesis' stateful phase
    (tests/sdk/test_schemathesis.py) did not get to run within its budget on waitress on
    this project's loaded machine, and did on Werkzeug; `server="waitress"` is supported."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0,
                 server: str = "werkzeug", dispatch: bool = False) -> None:
        self.app = app
        self._dispatch = dispatch
        self._server = _make_server(server, host, port, app)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="jobmock-server")
        self.url = f"http://{_display_host(host)}:{self._server.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        if self._dispatch:
            start_dispatch(self.app)
        return self

    def stop(self) -> None:
        if self._dispatch:
            runtime_of(self.app).dispatcher.stop()
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.close()
