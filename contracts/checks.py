"""Checks applied to every response: plain functions in a registry, extensible with `@check`.

A check takes a `CheckContext` and raises `ContractFailure` (via `ctx.fail`) when the
response breaks its rule::

    from contracts.checks import check

    @check
    def has_request_id(ctx):
        if "x-request-id" not in ctx.response.headers:
            ctx.fail("has-request-id", "no x-request-id header")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.failures import ContractFailure
from contracts.transport import Received, Sent
from mockserver.spec import Operation
from mockserver.validation import MISSING, media_type_of, validate_response

__all__ = ["CHECKS", "Check", "CheckContext", "check", "decoded_body", "run_checks"]


@dataclass(frozen=True)
class CheckContext:
    """One exchange, with the operation it was for and the requests that led to it."""

    operation: Operation
    sent: Sent
    response: Received
    history: Sequence[Sent]

    def fail(self, rule: str, message: str) -> None:
        raise ContractFailure(self.operation.operation_id, rule, message, self.history)


Check = Callable[[CheckContext], None]
CHECKS: dict[str, Check] = {}


def check(function: Check) -> Check:
    """Register `function` as a check run on every response (keyed by its name)."""
    CHECKS[function.__name__] = function
    return function


def run_checks(ctx: CheckContext, names: Sequence[str] | None = None) -> None:
    for name, function in CHECKS.items():
        if names is None or name in names:
            function(ctx)


def decoded_body(response: Received) -> Any:
    """The body as the validator wants it: JSON value, text, or MISSING when empty."""
    if not response.body:
        return MISSING
    if "json" in media_type_of(response.content_type):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


@check
def not_a_server_error(ctx: CheckContext) -> None:
    if ctx.response.status >= 500:
        ctx.fail("not-a-server-error",
                 f"answered {ctx.response.status}: {ctx.response.text[:300]}")


@check
def status_code_documented(ctx: CheckContext) -> None:
    if ctx.operation.response_for(ctx.response.status) is None:
        listed = ", ".join(ctx.operation.responses)
        ctx.fail("status-code-documented",
                 f"status {ctx.response.status} is not documented (documented: {listed})")


@check
def response_conforms(ctx: CheckContext) -> None:
    """Body, content type and required headers match the documented response."""
    if ctx.operation.response_for(ctx.response.status) is None:
        return
    issues = validate_response(ctx.operation, ctx.response.status, ctx.response.content_type,
                               decoded_body(ctx.response), ctx.response.headers)
    if issues:
        described = "; ".join(i.describe() for i in issues[:5])
        ctx.fail("response-conforms",
                 f"status {ctx.response.status} response does not match the spec: {described}")
