"""What every vendor module builds on: replies, handler registration, generic auth.

A vendor module subclasses `VendorApi`, names its spec, registers one handler per
operationId with `@handles`, lifecycle drivers for the control API with `@action`, and
implements its error dialect (`render_error`, `render_issues`). It imports no web framework:
handlers take a `ValidRequest` and return a `Reply` or raise `ApiError`.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from mockserver.clock import Clock, IdSource
from mockserver.config import Config
from mockserver.dispatch import Outbound, OutboundRequest, OutboundResult, Timer, Timers
from mockserver.errors import ApiError, Issue, SpecError
from mockserver.spec import Operation, Spec, load_spec
from mockserver.store import Store
from mockserver.validation import MISSING, HttpRequest, ValidRequest

__all__ = [
    "ApiContext",
    "Reply",
    "VendorApi",
    "action",
    "handles",
    "json_reply",
    "no_content",
    "text_reply",
]


@dataclass
class Reply:
    """A response before it is encoded: status, JSON value or text, content type, headers."""

    status: int
    body: Any = MISSING
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, body, "application/json", dict(headers or {}))


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, text, "text/plain; charset=utf-8")


def no_content(status: int = 204) -> Reply:
    return Reply(status, MISSING, None)


@dataclass
class ApiContext:
    """The shared services a vendor module works with."""

    store: Store
    clock: Clock
    ids: IdSource
    config: Config
    outbound: Outbound | None = None


Handler = Callable[[Any, ValidRequest], Reply]
F = TypeVar("F", bound=Callable[..., Any])


def handles(operation_id: str) -> Callable[[F], F]:
    """Register a method as the handler of an operationId of the vendor's spec."""

    def mark(method: F) -> F:
        method._jobmock_operation = operation_id  # type: ignore[attr-defined]
        return method

    return mark


def action(name: str) -> Callable[[F], F]:
    """Register a method as a control-API action: `POST /__jobmock/apis/<api>/actions/<name>`.

    The method takes the JSON body as keyword arguments and returns a JSON value.
    """

    def mark(method: F) -> F:
        method._jobmock_action = name  # type: ignore[attr-defined]
        return method

    return mark


class VendorApi:
    """Base of the five vendor modules."""

    name: ClassVar[str]
    not_found_message: ClassVar[str] = "Not Found"

    def __init__(self, context: ApiContext, spec: Spec | None = None) -> None:
        self.context = context
        self.spec = spec or load_spec(self.name)
        self.handlers: dict[str, Callable[[ValidRequest], Reply]] = {}
        self.actions: dict[str, Callable[..., Any]] = {}
        self._collect()

    @property
    def store(self) -> Store:
        return self.context.store

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def ids(self) -> IdSource:
        return self.context.ids

    @property
    def config(self) -> Config:
        return self.context.config

    def _collect(self) -> None:
        for attr in dir(type(self)):
            member = getattr(type(self), attr)
            operation_id = getattr(member, "_jobmock_operation", None)
            if operation_id is not None:
                self.handlers[operation_id] = getattr(self, attr)
            action_name = getattr(member, "_jobmock_action", None)
            if action_name is not None:
                self.actions[action_name] = getattr(self, attr)
        missing = [op.operation_id for op in self.spec.operations
                   if op.operation_id not in self.handlers]
        if missing:
            raise SpecError(self.spec.file, "/paths",
                            f"{self.name} has no handler for: {', '.join(missing)}")

    # -- error dialect: each vendor renders refusals in its own documented shape -------------

    def render_error(self, error: ApiError, op: Operation | None) -> Reply:
        raise NotImplementedError

    def render_issues(self, issues: list[Issue], op: Operation) -> Reply:
        raise NotImplementedError

    def route_not_found(self, request: HttpRequest) -> ApiError:
        return ApiError(404, self.not_found_message)

    def method_not_allowed(self, request: HttpRequest, allowed: tuple[str, ...]) -> ApiError:
        return ApiError(405, "Method Not Allowed")

    def too_large(self, limit: int) -> ApiError:
        return ApiError(413, f"Request body is larger than the limit of {limit} bytes")

    # -- auth ---------------------------------------------------------------------------------

    def authenticate(self, op: Operation, request: HttpRequest) -> ApiError | None:
        """None when one of the operation's security requirements is met."""
        if not op.security or any(not requirement for requirement in op.security):
            return None
        for requirement in op.security:
            if all(self.check_scheme(name, op, request) for name in requirement):
                return None
        return self.auth_failure(op, request)

    def auth_failure(self, op: Operation, request: HttpRequest) -> ApiError:
        return ApiError(401, "Unauthorized")

    def check_scheme(self, name: str, op: Operation, request: HttpRequest) -> bool:
        """Generic checks by scheme type; vendors override for their own schemes."""
        scheme = self.spec.security_schemes.get(name, {})
        creds = self.config.credentials
        kind, flavour = scheme.get("type"), str(scheme.get("scheme", "")).lower()
        if kind == "http" and flavour == "basic":
            return basic_matches(request, creds.basic_user, creds.basic_password)
        if kind == "http" and flavour == "bearer":
            return secret_equals(bearer_of(request), creds.token)
        if kind == "apiKey" and scheme.get("in") == "header":
            return secret_equals(request.headers.get(str(scheme["name"]).lower()), creds.api_key)
        return False

    # -- dispatch: timers on the clock and calls to the user's code (mockserver/dispatch) ------

    @property
    def timers(self) -> Timers:
        return Timers(self.store, self.name)

    def next_due(self, now: datetime) -> datetime | None:
        """The earliest moment this API has work to do (its timers by default)."""
        return self.timers.next_due()

    def run_due(self, now: datetime) -> None:
        """Fire the timers due at `now`, earliest first, through `on_timer`."""
        for timer in self.timers.claim_due(now):
            self.on_timer(timer)

    def on_timer(self, timer: Timer) -> None:
        """Do what a timer of this API stands for; vendors with timers override it."""

    def may_call(self, url: str) -> bool:
        """Whether the mock may call `url` (its host is in `call_hosts`)."""
        return self.context.outbound is not None and self.context.outbound.allows(url)

    def call_out(self, request: OutboundRequest,
                 on_done: Callable[[OutboundResult], None]) -> None:
        """Call the user's code (a URL they registered) off the request path."""
        if self.context.outbound is None:
            raise RuntimeError("this runtime makes no outbound calls")
        self.context.outbound.send(request, on_done)

    # -- state --------------------------------------------------------------------------------

    def reset(self) -> None:
        self.store.reset(f"{self.name}:")


def secret_equals(given: str | None, expected: str) -> bool:
    """Constant-time comparison; a missing value never matches."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_of(request: HttpRequest) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def basic_matches(request: HttpRequest, user: str, password: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    given_user, sep, given_password = decoded.partition(":")
    return bool(sep) and secret_equals(given_user, user) & secret_equals(given_password, password)
