"""The error dialect of FastAPI services (NeMo and Nimble run on FastAPI with pydantic v2).

`{"detail": "<message>"}` for refusals, and 422 `{"detail": [{type, loc, msg, input, ctx}]}`
for validation failures, with pydantic v2's error types and messages.
"""

from __future__ import annotations

from typing import Any

from mockserver.apis.base import Reply, json_reply
from mockserver.errors import ApiError, Issue
from mockserver.spec import Operation
from mockserver.validation import HttpRequest

__all__ = ["FastApiDialect", "pydantic_error"]

_TYPE_NAMES = {
    "string": ("string_type", "Input should be a valid string"),
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "object": ("dict_type", "Input should be a valid dictionary"),
    "array": ("list_type", "Input should be a valid list"),
    "null": ("none_required", "Input should be None"),
}
_PARSING = {
    "integer": "int_parsing",
    "number": "float_parsing",
    "boolean": "bool_parsing",
}
_BOUNDS = {
    "minimum": ("greater_than_equal", "Input should be greater than or equal to {}", "ge"),
    "maximum": ("less_than_equal", "Input should be less than or equal to {}", "le"),
    "exclusiveMinimum": ("greater_than", "Input should be greater than {}", "gt"),
    "exclusiveMaximum": ("less_than", "Input should be less than {}", "lt"),
    "minLength": ("string_too_short", "String should have at least {} characters", "min_length"),
    "maxLength": ("string_too_long", "String should have at most {} characters", "max_length"),
    "minItems": ("too_short", "List should have at least {} items", "min_length"),
    "maxItems": ("too_long", "List should have at most {} items", "max_length"),
}


def pydantic_error(issue: Issue) -> dict[str, Any]:
    """One entry of FastAPI's 422 `detail` list for a validation issue."""
    kind, message, ctx = _describe(issue)
    entry: dict[str, Any] = {"type": kind, "loc": list(issue.location), "msg": message,
                             "input": issue.value}
    if ctx is not None:
        entry["ctx"] = ctx
    return entry


def _describe(issue: Issue) -> tuple[str, str, dict[str, Any] | None]:
    if issue.kind in ("missing", "extra_forbidden"):
        return issue.kind, issue.message, None
    if issue.kind == "json_invalid":
        return "json_invalid", "JSON decode error", issue.constraint or {"error": issue.message}
    if issue.kind == "content_type":
        return ("model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from", None)
    if issue.kind == "parsing":
        return _PARSING.get(str(issue.constraint), "value_error"), issue.message, None
    if issue.kind == "type":
        wanted = issue.constraint[0] if isinstance(issue.constraint, list) else issue.constraint
        name, message = _TYPE_NAMES.get(str(wanted), ("value_error", issue.message))
        return name, message, None
    if issue.kind in ("enum", "const"):
        options = issue.constraint if issue.kind == "enum" else [issue.constraint]
        expected = " or ".join(repr(o) for o in options or [])
        return "enum", f"Input should be {expected}", {"expected": expected}
    if issue.kind == "pattern":
        return ("string_pattern_mismatch", f"String should match pattern '{issue.constraint}'",
                {"pattern": issue.constraint})
    if issue.kind in _BOUNDS:
        name, template, key = _BOUNDS[issue.kind]
        return name, template.format(issue.constraint), {key: issue.constraint}
    return "value_error", f"Value error, {issue.message}", {"error": issue.message}


class FastApiDialect:
    """Mixin for vendor modules whose real service is a FastAPI app."""

    not_found_message = "Not Found"

    def method_not_allowed(self, request: HttpRequest, allowed: tuple[str, ...]) -> ApiError:
        """Starlette's 405 for a known path: `Method Not Allowed` with an `Allow` header."""
        return ApiError(405, "Method Not Allowed", detail={"allow": list(allowed)})

    def render_error(self, error: ApiError, op: Operation | None) -> Reply:
        if error.status == 422 and isinstance(error.detail, list):
            return json_reply(422, {"detail": error.detail})
        reply = json_reply(error.status, {"detail": error.message})
        if error.status == 405 and isinstance(error.detail, dict):
            reply.headers["Allow"] = ", ".join(error.detail.get("allow", ()))
        return reply

    def render_issues(self, issues: list[Issue], op: Operation) -> Reply:
        return json_reply(422, {"detail": [pydantic_error(issue) for issue in issues]})
