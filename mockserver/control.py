"""The control API under `/__jobmock/`: health, reset, state, journal, faults, clock, actions.

Requests and responses are validated against `specs/control.yaml` by the same functions that
validate the mocked APIs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

from mockserver.apis.base import Reply, bearer_of, json_reply, secret_equals
from mockserver.errors import ApiError, ConfigError
from mockserver.faults import Fault
from mockserver.runtime import Runtime
from mockserver.spec import Spec, load_spec, spec_path
from mockserver.validation import HttpRequest, ValidRequest, validate_request, validate_response

__all__ = ["CONTROL_PREFIX", "CONTROL_TOKEN_HEADER", "control_blueprint", "control_spec",
           "control_token_accepted"]

CONTROL_PREFIX = "/__jobmock"
CONTROL_TOKEN_HEADER = "x-jobmock-control-token"
View = Callable[[Runtime, ValidRequest], Reply]


@cache
def control_spec() -> Spec:
    """The control API's own spec document (loaded once per process)."""
    return load_spec(Path(spec_path("nimble")).with_name("control.yaml"))


def control_blueprint(runtime: Runtime) -> Blueprint:
    spec = control_spec()
    blueprint = Blueprint("jobmock_control", __name__)
    for route, method, operation_id, view in _ROUTES:
        endpoint = f"{operation_id}"
        blueprint.add_url_rule(route, endpoint, _wrap(runtime, spec, operation_id, view),
                               methods=[method])
    return blueprint


def _wrap(runtime: Runtime, spec: Spec, operation_id: str, view: View) -> Callable[..., Any]:
    op = spec.operation(operation_id)

    def endpoint(**path_params: str) -> Response:
        from mockserver.app import to_response

        incoming = HttpRequest(
            method=request.method, path=request.path,
            query=request.args.to_dict(flat=False),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.get_data(cache=True),
        )
        if not control_token_accepted(runtime.config.control_token, incoming):
            return to_response(json_reply(401, {
                "error": "this server's control API needs its control token: send "
                         f"Authorization: Bearer <token> or {CONTROL_TOKEN_HEADER}: <token>"}))
        valid = validate_request(op, incoming, path_params)
        if isinstance(valid, list):
            return to_response(json_reply(400, {"error": "invalid control request",
                                                "issues": [i.describe() for i in valid]}))
        try:
            reply = view(runtime, valid)
        except (ApiError, ConfigError) as error:
            status = getattr(error, "status", 400)
            reply = json_reply(status, {"error": str(error)})
        violations = validate_response(op, reply.status, reply.content_type, reply.body)
        if violations and runtime.config.strict:
            reply = json_reply(500, {"error": "control response violates control.yaml",
                                     "issues": [v.describe() for v in violations]})
        return to_response(reply)

    return endpoint


def control_token_accepted(expected: str | None, request: HttpRequest) -> bool:
    """True when no control token is set, or the request carries it (compared in constant
    time) as a bearer token or in the `x-jobmock-control-token` header."""
    if expected is None:
        return True
    given = request.headers.get(CONTROL_TOKEN_HEADER)
    if given is None:
        given = bearer_of(request)
    return secret_equals(given, expected)


def _health(runtime: Runtime, valid: ValidRequest) -> Reply:
    mounts = {name: runtime.config.mount_of(name) for name in runtime.apis}
    return json_reply(200, {"status": "ok", "apis": mounts,
                            "virtual_clock": runtime.clock.virtual})


def _reset(runtime: Runtime, valid: ValidRequest) -> Reply:
    api = (valid.body or {}).get("api")
    if api is not None and api not in runtime.apis:
        raise ApiError(404, f"API {api!r} is not served here; served: {', '.join(runtime.apis)}")
    runtime.reset(api)
    return json_reply(200, {"reset": [api] if api else list(runtime.apis)})


def _get_state(runtime: Runtime, valid: ValidRequest) -> Reply:
    return json_reply(200, runtime.dump_state())


def _put_state(runtime: Runtime, valid: ValidRequest) -> Reply:
    runtime.load_state(valid.body)
    return json_reply(200, {"loaded": True})


def _journal(runtime: Runtime, valid: ValidRequest) -> Reply:
    entries = runtime.journal.entries(valid.query.get("api"), valid.query.get("operation"),
                                      valid.query.get("limit"))
    return json_reply(200, {"entries": [e.to_json() for e in entries]})


def _clear_journal(runtime: Runtime, valid: ValidRequest) -> Reply:
    runtime.journal.clear()
    return json_reply(200, {"cleared": True})


def _faults(runtime: Runtime, valid: ValidRequest) -> Reply:
    return json_reply(200, {"faults": [f.to_json() for f in runtime.faults.all()]})


def _set_fault(runtime: Runtime, valid: ValidRequest) -> Reply:
    body = dict(valid.body)
    if body["api"] not in runtime.apis:
        raise ApiError(404, f"API {body['api']!r} is not served here")
    operation = body.get("operation", "*")
    if operation != "*":
        runtime.apis[body["api"]].spec.operation(operation) if _known(
            runtime, body["api"], operation) else _unknown_operation(runtime, body["api"],
                                                                     operation)
    body["statuses"] = tuple(body.get("statuses", ()))
    fault = Fault(**body)
    runtime.faults.set(fault)
    return json_reply(200, fault.to_json())


def _known(runtime: Runtime, api: str, operation: str) -> bool:
    return any(op.operation_id == operation for op in runtime.apis[api].spec.operations)


def _unknown_operation(runtime: Runtime, api: str, operation: str) -> None:
    known = ", ".join(op.operation_id for op in runtime.apis[api].spec.operations)
    raise ApiError(404, f"{api} has no operation {operation!r}; known: {known}")


def _clear_faults(runtime: Runtime, valid: ValidRequest) -> Reply:
    runtime.faults.clear()
    return json_reply(200, {"cleared": True})


def _clock(runtime: Runtime, valid: ValidRequest) -> Reply:
    now = runtime.clock.now().isoformat().replace("+00:00", "Z")
    return json_reply(200, {"now": now, "virtual": runtime.clock.virtual})


def _advance(runtime: Runtime, valid: ValidRequest) -> Reply:
    """Move the virtual clock, running everything that falls due on the way (dispatch)."""
    if not runtime.clock.virtual:
        raise ApiError(409, "the clock is real time; start with a virtual clock to advance it")
    settle = valid.body.get("settle")
    runtime.dispatcher.advance(float(valid.body["advance"]),
                               None if settle is None else float(settle))
    return _clock(runtime, valid)


def _actions(runtime: Runtime, valid: ValidRequest) -> Reply:
    api = _served(runtime, valid.path["api"])
    listed = [{"name": name, "doc": inspect.getdoc(fn) or ""}
              for name, fn in sorted(runtime.apis[api].actions.items())]
    return json_reply(200, {"actions": listed})


def _run_action(runtime: Runtime, valid: ValidRequest) -> Reply:
    api = _served(runtime, valid.path["api"])
    actions = runtime.apis[api].actions
    name = valid.path["action"]
    if name not in actions:
        raise ApiError(404, f"{api} has no action {name!r}; actions: {', '.join(sorted(actions))}")
    params = valid.body or {}
    try:
        inspect.signature(actions[name]).bind(**params)
    except TypeError as error:
        raise ApiError(400, f"{api} action {name}: {error}") from error
    return json_reply(200, actions[name](**params))


def _served(runtime: Runtime, api: str) -> str:
    if api not in runtime.apis:
        raise ApiError(404, f"API {api!r} is not served here; served: {', '.join(runtime.apis)}")
    return api


_ROUTES: list[tuple[str, str, str, View]] = [
    ("/health", "GET", "health", _health),
    ("/reset", "POST", "reset", _reset),
    ("/state", "GET", "getState", _get_state),
    ("/state", "PUT", "putState", _put_state),
    ("/journal", "GET", "getJournal", _journal),
    ("/journal", "DELETE", "clearJournal", _clear_journal),
    ("/faults", "GET", "listFaults", _faults),
    ("/faults", "PUT", "setFault", _set_fault),
    ("/faults", "DELETE", "clearFaults", _clear_faults),
    ("/clock", "GET", "getClock", _clock),
    ("/clock", "POST", "advanceClock", _advance),
    ("/apis/<api>/actions", "GET", "listActions", _actions),
    ("/apis/<api>/actions/<action>", "POST", "runAction", _run_action),
]
