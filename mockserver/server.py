"""Run an app on a real socket: `jobmock serve`, the pytest plugin and integration tests.

One process (`run_server`, `ServerThread`): Werkzeug's threaded server (one thread per
connection). Several processes (`run_workers`, `jobmock serve --workers N`): gunicorn's
``gthread`` workers, each with its own app on the one shared store (`sqlite:` or `redis://`).
What each process keeps to itself: the journal, the faults, the virtual clock and the
handler-crash list; everything in the store (the vendors' state) is shared.
With Werkzeug, the hardened request handler of `mockserver.handler` (deadlines, protocol
errors in the vendor's shape). A server on a non-loopback address refuses to start without a
control token: the control API can reset or rewrite all state.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from mockserver.app import create_app, runtime_of
from mockserver.config import Config
from mockserver.errors import ConfigError
from mockserver.handler import request_handler

__all__ = ["ServerThread", "banner", "check_exposure", "is_loopback", "run_server",
           "run_workers"]


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


def _make_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    check_exposure(runtime_of(app).config, host)
    return make_server(host, port, app, threaded=True, request_handler=request_handler(app))


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
               announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted."""
    app = create_app(config)
    server = _make_server(app, host, port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    base = f"http://{_display_host(host)}:{server.server_port}"
    for line in banner(app, base):
        announce(line)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


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


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class ServerThread:
    """An app served on 127.0.0.1 in a background thread (port 0 picks a free port)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server: BaseWSGIServer = _make_server(app, host, port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="jobmock-server")
        self.url = f"http://{_display_host(host)}:{self._server.server_port}"

    def start(self) -> ServerThread:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
