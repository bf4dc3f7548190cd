"""Validate a plain request or response description against a compiled `Operation`.

Framework-free: the inputs are `HttpRequest` values (method, path, query, headers, body bytes)
and the outputs are `ValidRequest` or a list of typed `Issue`s. Nothing here parses the spec:
every validator was compiled by `mockserver.spec` at load time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import ValidationError

from mockserver.errors import Issue
from mockserver.spec import MediaType, Operation, Parameter

__all__ = [
    "MISSING",
    "HttpRequest",
    "ValidRequest",
    "media_type_of",
    "validate_request",
    "validate_response",
]


class _Missing:
    """Marks an absent body (distinct from a JSON `null`)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
_INT = re.compile(r"[+-]?\d+")
_DEEP_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
MAX_JSON_DEPTH = 64  # nesting levels of arrays and objects a JSON body may have
MAX_INT_DIGITS = 4300  # Python's own limit for converting digits to an int


@dataclass(frozen=True)
class HttpRequest:
    """A request as seen by the validator. Header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookies: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidRequest:
    """A request that passed validation, with parameters converted to their JSON types."""

    operation: Operation
    path: Mapping[str, Any]
    query: Mapping[str, Any]
    headers: Mapping[str, str]
    cookies: Mapping[str, Any]
    body: Any
    raw: HttpRequest


def media_type_of(content_type: str | None) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def validate_request(
    op: Operation, request: HttpRequest, path_params: Mapping[str, str], *, schemas: bool = True
) -> ValidRequest | list[Issue]:
    """Check parameters and body; return the typed request, or every issue found.

    With `schemas=False` (`jobmock serve --no-validate`, a benchmarking aid) parameters are
    still converted and the body decoded, but nothing is checked against a schema.
    """
    issues: list[Issue] = []
    values: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}, "cookie": {}}
    sources = _parameter_sources(request, path_params)
    for param in op.parameters:
        _check_parameter(param, sources[param.location], values[param.location], issues,
                         schemas)
    body = _check_body(op, request, issues, schemas)
    if issues:
        return issues
    return ValidRequest(
        op, values["path"], values["query"], request.headers, values["cookie"], body, request
    )


def _parameter_sources(
    request: HttpRequest, path_params: Mapping[str, str]
) -> dict[str, Mapping[str, list[str]]]:
    return {
        "path": {k: [v] for k, v in path_params.items()},
        "query": request.query,
        "header": {k: [v] for k, v in request.headers.items()},
        "cookie": {k: [v] for k, v in request.cookies.items()},
    }


def _check_parameter(
    param: Parameter,
    source: Mapping[str, list[str]],
    out: dict[str, Any],
    issues: list[Issue],
    schemas: bool = True,
) -> None:
    location = ("header" if param.location == "header" else param.location, param.name)
    name = param.name.lower() if param.location == "header" else param.name
    if param.style == "deepObject":
        raw: Any = _deep_object(param.name, source)
    else:
        raw = source.get(name)
    if raw is None or raw == []:
        if param.required:
            issues.append(Issue(location, "Field required", "missing"))
        return
    try:
        value = _convert(param, raw)
    except ValueError as exc:
        issues.append(Issue(location, str(exc), "parsing", _first(raw), param.primitive))
        return
    found = list(param.validator.iter_errors(value)) if schemas else []
    if found:
        issues.extend(_issues_from(location, found))
        return
    out[param.name] = value


def _first(raw: Any) -> Any:
    return raw[0] if isinstance(raw, list) and raw else raw


def _deep_object(name: str, source: Mapping[str, list[str]]) -> dict[str, Any] | None:
    """`filter[status]=x&filter[created_at][$gte]=y` → `{"status": "x", "created_at": {...}}`."""
    result: dict[str, Any] = {}
    for key, values in source.items():
        found = _DEEP_KEY.match(key)
        if not found or found.group(1) != name:
            continue
        parts = re.findall(r"\[([^\[\]]*)\]", found.group(2))
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[parts[-1]] = values[-1]
    return result or None


def _convert(param: Parameter, raw: Any) -> Any:
    if param.primitive == "object":
        return raw
    if param.primitive == "array":
        items = raw if param.explode else raw[-1].split(",")
        if param.explode and len(items) == 1 and param.style == "form" and "," in items[0]:
            items = items[0].split(",")
        return [_scalar(param.item_primitive, item) for item in items]
    return _scalar(param.primitive, raw[-1])


def _scalar(kind: str, text: str) -> Any:
    if kind == "integer":
        if not _INT.fullmatch(text.strip()):
            raise ValueError(
                "Input should be a valid integer, unable to parse string as an integer")
        if len(text.strip().lstrip("+-")) > MAX_INT_DIGITS:
            raise ValueError(f"Input should be a valid integer of at most {MAX_INT_DIGITS} "
                             "digits")
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError(
                "Input should be a valid number, unable to parse string as a number") from None
        if not math.isfinite(number):
            raise ValueError("Input should be a finite number")
        return int(number) if number.is_integer() and _INT.fullmatch(text.strip()) else number
    if kind == "boolean":
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError("Input should be a valid boolean, unable to interpret input")
    return text


def _check_body(op: Operation, request: HttpRequest, issues: list[Issue],
                schemas: bool = True) -> Any:
    if not op.body:
        return MISSING
    if not request.body:
        if op.body_required:
            issues.append(Issue(("body",), "Field required", "missing"))
        return MISSING
    media = _request_media(op, request.headers.get("content-type"))
    if media is None:
        expected = ", ".join(op.body)
        got = media_type_of(request.headers.get("content-type")) or "none"
        issues.append(Issue(("body",), f"Unsupported content type {got}; send {expected}",
                            "content_type", got, expected))
        return MISSING
    body = _decode(media.name, request.body, issues)
    if body is MISSING or media.validator is None or not schemas:
        return body
    issues.extend(_issues_from(("body",), media.validator.iter_errors(body)))
    return body


def _request_media(op: Operation, content_type: str | None) -> MediaType | None:
    wanted = media_type_of(content_type)
    if wanted in op.body:
        return op.body[wanted]
    if not wanted and len(op.body) == 1:
        return None
    for name, media in op.body.items():
        if name.endswith("/*") and wanted.startswith(name[:-1]):
            return media
    return None


def _decode(media: str, raw: bytes, issues: list[Issue]) -> Any:
    """The body as text (or JSON for JSON media types); an issue when it cannot be read.

    Hostile JSON is refused here, before any schema or handler sees it: nesting deeper than
    `MAX_JSON_DEPTH`, numbers that overflow a float (`1e999`), `NaN`/`Infinity` (not JSON),
    and integers longer than `MAX_INT_DIGITS`. Duplicate keys: the last one wins, as in the
    vendors' own parsers (Python's `json` under FastAPI, Node's `JSON.parse`).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        issues.append(Issue(("body", exc.start), "Invalid UTF-8 in the body", "json_invalid"))
        return MISSING
    if "json" not in media:
        return text
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float,
                           parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        issues.append(Issue(("body", exc.pos), f"JSON decode error: {exc.msg}", "json_invalid",
                            constraint={"error": exc.msg}))
        return MISSING
    except ValueError as exc:  # one of the parse hooks below refused a number
        issues.append(Issue(("body",), f"JSON decode error: {exc}", "json_invalid",
                            constraint={"error": str(exc)}))
        return MISSING
    except RecursionError:
        value = _TOO_DEEP
    if value is _TOO_DEEP or _deeper_than(value, MAX_JSON_DEPTH):
        issues.append(Issue(("body",), f"JSON nested too deeply (more than {MAX_JSON_DEPTH} "
                            "levels)", "json_invalid"))
        return MISSING
    return value


_TOO_DEEP: Any = object()


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer longer than {MAX_INT_DIGITS} digits")
    return int(digits)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:40]} is out of range")
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iterative: no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children)
    return False


def _issues_from(prefix: tuple[str | int, ...], errors: Iterable[ValidationError]) -> list[Issue]:
    """Issues of jsonschema errors, each once (one `required` error may name several fields,
    or one field per error, depending on the jsonschema version)."""
    issues: dict[tuple[tuple[str | int, ...], str], Issue] = {}
    for error in errors:
        for issue in _issues_of(prefix, error):
            issues.setdefault((issue.location, issue.kind), issue)
    return list(issues.values())


def _issues_of(prefix: tuple[str | int, ...], error: ValidationError) -> list[Issue]:
    location = prefix + tuple(error.absolute_path)
    schema_path = tuple(error.absolute_schema_path)
    keyword = str(error.validator)
    if keyword == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        return [Issue((*location, name), "Field required", "missing", None, None, schema_path)
                for name in missing]
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(
        error.instance, dict
    ):
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed] or [""]
        return [Issue((*location, name), "Extra inputs are not permitted", "extra_forbidden",
                      error.instance.get(name), None, schema_path) for name in extra]
    return [Issue(location, error.message, keyword, error.instance, error.validator_value,
                  schema_path)]


def validate_response(
    op: Operation,
    status: int,
    content_type: str | None,
    body: Any,
    headers: Mapping[str, str] | None = None,
) -> list[Issue]:
    """Check a response the server is about to send (or received) against the operation.

    `body` is the decoded JSON value for JSON media types, the text for others, and `MISSING`
    for an empty body.
    """
    documented = op.response_for(status)
    if documented is None:
        listed = ", ".join(op.responses)
        return [Issue(("status",), f"status {status} is not documented (documented: {listed})",
                      "status", status)]
    issues = [Issue(("header", name), f"required header {name} is missing", "missing")
              for name in documented.required_headers
              if name not in {k.lower() for k in (headers or {})}]
    if body is MISSING:
        return issues
    if not documented.content:
        return [*issues, Issue(("body",), f"status {status} is documented without a body",
                               "content", body)]
    media = documented.content.get(media_type_of(content_type))
    if media is None:
        listed = ", ".join(documented.content)
        return [*issues, Issue(("content-type",), f"content type {content_type!r} is not "
                               f"documented for status {status} (documented: {listed})",
                               "content_type", content_type)]
    if media.validator is not None:
        issues.extend(_issues_from(("body",), media.validator.iter_errors(body)))
    return issues
