"""`create_app(config)`: the Flask application. A thin layer over `Runtime`.

No globals: every app owns its `Runtime` (state, journal, faults, clock), so two apps in one
process never share anything. Every answer — including Werkzeug's own 400/404/405/413 — is
rendered in the shape of the API the path belongs to; never an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from mockserver import jsonio
from mockserver.apis.base import Reply
from mockserver.config import Config
from mockserver.control import CONTROL_PREFIX, control_blueprint
from mockserver.runtime import Runtime
from mockserver.validation import MISSING, HttpRequest

__all__ = ["REQUEST_READ", "create_app", "runtime_of"]

REQUEST_READ = "jobmock.request_read"  # environ key the server sets: call once the body is in

log = logging.getLogger("jobmock")
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """A fresh app with its own state. `config` is a `Config` or a mapping of settings."""
    cfg = config if isinstance(config, Config) else Config.load(config)
    runtime = Runtime(cfg)
    app = Flask("jobmock")
    # One byte over the limit: a chunked body is cut there silently, and the pipeline
    # then sees it is too long and answers the vendor's 413.
    app.config["MAX_CONTENT_LENGTH"] = cfg.max_body_bytes + 1
    app.extensions["jobmock"] = runtime
    app.register_blueprint(control_blueprint(runtime), url_prefix=CONTROL_PREFIX)
    app.url_map.converters["anypath"] = _AnyPath
    app.add_url_rule("/", "mocked_root", _mocked_view(runtime), methods=_METHODS)
    app.add_url_rule("/<anypath:_rest>", "mocked", _mocked_view(runtime), methods=_METHODS)
    app.before_request(_read_request)
    app.register_error_handler(HTTPException, _http_error_handler(runtime))
    app.register_error_handler(Exception, _crash_handler(runtime))
    return app


class _AnyPath(PathConverter):
    """Like `path`, but a decoded line feed (`%0A`) in a segment still routes to the mock
    (Werkzeug's `path` uses `.`, which stops at a newline, and the request would miss)."""

    regex = r"[^/](?s:.)*?"


def _read_request() -> None:
    """Read the whole body first (413 past the limit), then tell the server the request has
    arrived, which ends its deadline for slow clients (`mockserver.handler`)."""
    request.get_data(cache=True)
    request.environ.get(REQUEST_READ, _nothing)()


def _nothing() -> None:
    return None


def runtime_of(app: Flask) -> Runtime:
    """The `Runtime` behind an app made by `create_app`."""
    runtime: Runtime = app.extensions["jobmock"]
    return runtime


def _mocked_view(runtime: Runtime) -> Any:
    def view(_rest: str = "") -> Response:
        incoming = _http_request()
        if runtime.api_for(incoming.path) is None:
            return _json_response(404, {"error": "nothing is mounted at this path",
                                        "mounted": _mount_table(runtime)})
        return to_response(runtime.dispatch(incoming))

    return view


def _http_request() -> HttpRequest:
    return HttpRequest(
        method=request.method,
        path=request.path,
        query=request.args.to_dict(flat=False),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.get_data(cache=True),
        cookies=dict(request.cookies),
    )


def _http_error_handler(runtime: Runtime) -> Any:
    def handle(error: HTTPException) -> Response:
        status = error.code or 400
        path = request.path
        if path.startswith(CONTROL_PREFIX) or runtime.api_for(path) is None:
            return _json_response(status, {"error": error.name, "detail": error.description})
        incoming = HttpRequest(method=request.method, path=path,
                               headers={k.lower(): v for k, v in request.headers.items()})
        return to_response(runtime.refuse(incoming, status, str(error.description or "")))

    return handle


def _crash_handler(runtime: Runtime) -> Any:
    def handle(error: Exception) -> Response:
        log.exception("unhandled error in jobmock")
        return _json_response(500, {"error": "jobmock internal error",
                                    "exception": f"{type(error).__name__}: {error}"})

    return handle


def to_response(reply: Reply) -> Response:
    """Encode a `Reply` as a Flask response."""
    if reply.body is MISSING:
        payload = b""
    elif isinstance(reply.body, str) and not _is_json(reply.content_type):
        payload = reply.body.encode("utf-8")
    else:
        payload = jsonio.dumps(reply.body)
    response = Response(payload, status=reply.status, headers=reply.headers)
    if reply.content_type and reply.body is not MISSING:
        response.headers["Content-Type"] = reply.content_type
    elif reply.body is MISSING:
        response.headers.pop("Content-Type", None)
    return response


def _is_json(content_type: str | None) -> bool:
    return bool(content_type) and "json" in (content_type or "")


def _json_response(status: int, body: Any) -> Response:
    return to_response(Reply(status, body))


def _mount_table(runtime: Runtime) -> dict[str, str]:
    return {name: runtime.config.mount_of(name) for name in runtime.apis}
