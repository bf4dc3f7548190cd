"""The request pipeline, framework-free: route → size → auth → validate → fault → handler →
validate the response → journal. One `Runtime` per app; it owns the state.

The web layer (`mockserver.app`) turns a WSGI request into an `HttpRequest`, calls
`Runtime.dispatch`, and encodes the returned `Reply`.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockserver import jsonio
from mockserver.apis.base import ApiContext, Reply, VendorApi, json_reply
from mockserver.clock import Clock, IdSource
from mockserver.config import Config
from mockserver.dispatch import Dispatcher, Outbound
from mockserver.errors import ApiError, Issue
from mockserver.faults import FaultBook
from mockserver.journal import Journal, JournalEntry, mask_headers, mask_query, preview
from mockserver.limits import LimitedStore
from mockserver.spec import Operation
from mockserver.store import Store, open_store
from mockserver.validation import (
    MISSING,
    HttpRequest,
    ValidRequest,
    validate_request,
    validate_response,
)

__all__ = ["Runtime", "ServerBug"]

log = logging.getLogger("jobmock")


@dataclass
class ServerBug:
    """An exception raised inside a handler, kept so a test can re-raise it."""

    api: str
    operation: str | None
    error: BaseException
    trace: str


def vendor_class(name: str) -> type[VendorApi]:
    """The vendor module of API `name`: `mockserver.apis.<name>.Api`."""
    module = importlib.import_module(f"mockserver.apis.{name}")
    api_class: type[VendorApi] = module.Api
    return api_class


class Runtime:
    """Holds the APIs, their shared store, clock, journal and faults; dispatches requests.

    The store (`config.store`) may be shared with other processes (`jobmock serve --workers`);
    the clock, ids, journal, faults and bugs belong to this runtime alone."""

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store: Store = LimitedStore(store or open_store(config.store), config.max_items)
        self.clock = Clock(virtual=config.virtual_clock or config.random_seed is not None)
        self.ids = IdSource(config.random_seed, stream=self.store.process_number())
        self.journal = Journal(config.journal_size)
        self.faults = FaultBook()
        self.bugs: list[ServerBug] = []
        self.outbound = Outbound(self.journal, config.call_hosts)
        context = ApiContext(self.store, self.clock, self.ids, config, self.outbound)
        self.apis: dict[str, VendorApi] = {n: vendor_class(n)(context) for n in config.apis}
        self.dispatcher = Dispatcher(self.apis, self.clock, self.outbound,
                                     settle_seconds=config.settle_seconds,
                                     on_error=self._dispatch_bug)
        self._mounts = sorted(((config.mount_of(n), n) for n in config.apis),
                              key=lambda item: -len(item[0]))
        if config.fixture is not None:
            self.load_state(config.fixture)

    # -- routing ------------------------------------------------------------------------------

    def api_for(self, path: str) -> tuple[VendorApi, str] | None:
        """The API mounted at the longest prefix of `path`, and the path below it."""
        for prefix, name in self._mounts:
            base = prefix.rstrip("/")
            if path == base or path.startswith(base + "/"):
                return self.apis[name], path[len(base):] or "/"
        return None

    def dispatch(self, request: HttpRequest) -> Reply:
        """Answer a request for one of the mounted APIs (the caller checked `api_for`)."""
        found = self.api_for(request.path)
        if found is None:
            return json_reply(404, {"error": "no API is mounted here"})
        api, sub_path = found
        started = time.perf_counter()
        outcome = _Outcome()
        reply = self._answer(api, request, sub_path, outcome)
        self._record(api, request, reply, outcome, started)
        return reply

    def refuse(self, request: HttpRequest, status: int, description: str) -> Reply:
        """Render a refusal the web layer decided (unknown method, unreadable or oversize body)
        in the shape of the API the path belongs to."""
        found = self.api_for(request.path)
        if found is None:
            return json_reply(status, {"error": description})
        api, sub_path = found
        route = api.spec.match(request.method, sub_path)
        if status == 405:
            error = api.method_not_allowed(request, route.allowed_methods)
        elif status == 404:
            error = api.route_not_found(request)
        elif status == 413:
            error = api.too_large(self.config.max_body_bytes)
        else:
            error = ApiError(status, description)
        op = route.operation
        outcome = _Outcome(op=op)
        if status == 400 and op is not None:  # an unreadable body (e.g. broken chunks)
            outcome.issues = [Issue(("body",), f"unreadable body: {description}",
                                    "json_invalid")]
            reply = api.render_issues(outcome.issues, op)
        else:
            reply = api.render_error(error, op)
        if op is not None:
            reply = self._validated_response(api, op, reply, outcome)
        self._record(api, request, reply, outcome, time.perf_counter())
        return reply

    def protocol_error(self, method: str, path: str, status: int, message: str) -> Reply:
        """An answer to a request the HTTP layer could not parse (414, 431, 501, 505...):
        in the shape of the API the path belongs to when it can be told, else plain JSON.
        Not validated against an operation: no operation was matched."""
        found = self.api_for(path) if path.startswith("/") else None
        if found is None:
            return json_reply(status, {"error": message})
        return found[0].render_error(ApiError(status, message), None)

    # -- the pipeline -------------------------------------------------------------------------

    def _answer(self, api: VendorApi, request: HttpRequest, sub_path: str,
                outcome: _Outcome) -> Reply:
        route = api.spec.match(request.method, sub_path)
        if route.operation is None:
            error = (api.method_not_allowed(request, route.allowed_methods)
                     if route.path_known else api.route_not_found(request))
            return api.render_error(error, None)
        op = outcome.op = route.operation
        try:
            reply = self._checked(api, op, request, route.path_params, outcome)
        except ApiError as error:
            reply = api.render_error(error, op)
        except Exception as error:  # a bug of the mock: keep it, answer 500, never HTML
            return self._bug(api, op, error)
        return self._validated_response(api, op, reply, outcome)

    def _checked(self, api: VendorApi, op: Operation, request: HttpRequest,
                 path_params: Mapping[str, str], outcome: _Outcome) -> Reply:
        if len(request.body) > self.config.max_body_bytes:
            raise api.too_large(self.config.max_body_bytes)
        refusal = api.authenticate(op, request)
        if refusal is not None:
            raise refusal
        valid = validate_request(op, request, path_params, schemas=self.config.validate)
        if isinstance(valid, list):
            outcome.issues = valid
            return api.render_issues(valid, op)
        return self._handle(api, op, valid, outcome)

    def _handle(self, api: VendorApi, op: Operation, valid: ValidRequest,
                outcome: _Outcome) -> Reply:
        fault = self.faults.find(api.name, op.operation_id)
        if fault is not None:
            time.sleep(fault.delay_seconds())
            status = fault.error_status(op)
            if status is not None:
                outcome.fault = f"injected {status}"
                raise ApiError(status, "jobmock: injected fault")
        return api.handlers[op.operation_id](valid)

    def _validated_response(self, api: VendorApi, op: Operation, reply: Reply,
                            outcome: _Outcome) -> Reply:
        if not self.config.validate:
            return reply
        violations = validate_response(op, reply.status, reply.content_type, reply.body,
                                       reply.headers)
        if not violations:
            return reply
        outcome.violations = violations
        described = "; ".join(v.describe() for v in violations)
        log.error("response of %s %s violates the spec: %s", api.name, op.operation_id,
                  described)
        if not self.config.strict:
            return reply
        return json_reply(500, _violation_body(op, violations))

    def _bug(self, api: VendorApi, op: Operation, error: Exception) -> Reply:
        trace = traceback.format_exc()
        log.error("handler %s.%s raised:\n%s", api.name, op.operation_id, trace)
        self.bugs.append(ServerBug(api.name, op.operation_id, error, trace))
        return json_reply(500, {"error": "jobmock handler error", "api": api.name,
                                "operation": op.operation_id,
                                "exception": f"{type(error).__name__}: {error}"})

    def _record(self, api: VendorApi, request: HttpRequest, reply: Reply,
                outcome: _Outcome, started: float) -> None:
        body = "" if reply.body is MISSING else preview(
            reply.body if isinstance(reply.body, str) else _json_text(reply.body))
        self.journal.add(JournalEntry(
            seq=self.journal.next_seq(), api=api.name,
            operation=outcome.op.operation_id if outcome.op else None,
            method=request.method, path=request.path,
            query=mask_query(request.query),
            request_headers=mask_headers(request.headers), request_body=preview(request.body),
            status=reply.status, response_body=body,
            request_issues=[i.describe() for i in outcome.issues],
            response_violations=[v.describe() for v in outcome.violations],
            fault=outcome.fault, duration_ms=round((time.perf_counter() - started) * 1000, 3),
        ))

    def _dispatch_bug(self, api: str, error: BaseException) -> None:
        self.bugs.append(ServerBug(api, "dispatch", error, traceback.format_exc()))

    # -- state --------------------------------------------------------------------------------

    def reset(self, api: str | None = None) -> None:
        """Forget the state of one API, or of all of them (and the journal, faults, clock)."""
        names = [api] if api else list(self.apis)
        for name in names:
            self.apis[name].reset()
            self.journal.clear(name)
            self.faults.clear(name)
        if api is None:
            self.store.reset()
            self.clock.reset()
            self.ids.reset()
            self.bugs.clear()

    def dump_state(self) -> dict[str, Any]:
        return {"jobmock_state": 1, "store": self.store.dump()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        if "store" not in state:
            raise ApiError(400, "a state document has a `store` key (see GET /__jobmock/state)")
        self.store.load(dict(state["store"]))


@dataclass
class _Outcome:
    op: Operation | None = None
    fault: str | None = None

    def __post_init__(self) -> None:
        self.issues: list[Issue] = []
        self.violations: list[Issue] = []


def _violation_body(op: Operation, violations: list[Issue]) -> dict[str, Any]:
    return {
        "error": "jobmock response validation failed: this is a bug of the mock",
        "operation": op.operation_id,
        "violations": [{"pointer": v.pointer if v.location[:1] == ("body",) else "/",
                        "location": ".".join(str(p) for p in v.location),
                        "rule": v.kind, "message": v.message} for v in violations],
    }


def _json_text(value: Any) -> str:
    try:
        return jsonio.dumps(value, default=str).decode("utf-8")
    except (TypeError, ValueError):
        return repr(value)
