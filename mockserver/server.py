"""Run an app on a real socket: `jobmock serve`, the pytest plugin and integration tests.

One process (`run_server`, `ServerThread`): Werkzeug's threaded server (one thread per
connection). Several processes (`run_workers`, `jobmock serve --workers N`): gunicorn's
``gthread`` workers, each with its own app on the one shared store (`sqlite:` or `redis://`).
What each process keeps to itself: the journal, the faults, the virtual clock and the
handler-crash list; everything in the store (the vendors' state) is shared.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from mockserver.app import create_app, runtime_of
from mockserver.config import Config
from mockserver.dispatch import Dispatcher
from mockserver.errors import ConfigError

__all__ = ["ServerThread", "banner", "run_server", "run_workers", "start_dispatch"]


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
    server = make_server(host, port, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    base = f"http://{_display_host(host)}:{server.server_port}"
    for line in banner(app, base):
        announce(line)
    dispatcher = start_dispatch(app)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        dispatcher.stop()
        server.server_close()


def run_workers(config: Config, host: str, port: int, workers: int, threads: int = 4,
                announce: Callable[[str], None] = print) -> None:
    """Serve with `workers` gunicorn processes of `threads` threads each until interrupted.

    The state fixture (`config.fixture`) is loaded here, once, before the workers start; each
    worker then builds its own app on the shared store."""
    from gunicorn.app.base import BaseApplication

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


class ServerThread:
    """An app served on 127.0.0.1 in a background thread (port 0 picks a free port)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0,
                 dispatch: bool = False) -> None:
        self.app = app
        self._dispatch = dispatch
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="jobmock-server")
        self.url = f"http://{_display_host(host)}:{self._server.server_port}"

    def start(self) -> ServerThread:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._thread.start()
        if self._dispatch:
            start_dispatch(self.app)
        return self

    def stop(self) -> None:
        if self._dispatch:
            runtime_of(self.app).dispatcher.stop()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
