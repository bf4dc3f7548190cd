"""Load an OpenAPI 3.1 document, check it, and compile every operation's validators once.

Framework-free: imports neither Flask nor pytest. `load_spec("nimble")` finds the bundled
document; `load_spec(Path("my.yaml"))` loads a user's file. A broken document raises one
`SpecError` naming the file, the JSON pointer and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from mockserver.errors import SpecError

__all__ = [
    "API_NAMES",
    "CompiledSchema",
    "MediaType",
    "Operation",
    "Parameter",
    "ResponseSpec",
    "RouteMatch",
    "Spec",
    "load_spec",
    "spec_path",
]

API_NAMES: tuple[str, ...] = ("sap", "nemo", "bullmq", "intuned", "nimble")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SpecLoader(_BaseLoader):
    """YAML loader (libyaml when present) that keeps timestamps as strings (JSON has none)."""


_SpecLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, eq=False)
class CompiledSchema:
    """A schema compiled twice, once at load time: jsonschema-rs (Rust) answers whether an
    instance is valid, and only when it is not does jsonschema walk it to explain why.

    The answer is jsonschema's either way: a "valid" from the fast validator is trusted
    (tests/unit/core/test_fast_validation.py shows the two agree on every example of the
    specs and on generated data, formats being checked by jsonschema's own functions), and
    an instance it rejects gets jsonschema's issues, or none if jsonschema finds none.
    """

    exact: Validator = field(repr=False)
    fast: Any = field(repr=False)

    @property
    def schema(self) -> Any:
        return self.exact.schema

    def is_valid(self, instance: Any) -> bool:
        return self._fast_valid(instance) or self.exact.is_valid(instance)

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self._fast_valid(instance):
            return iter(())
        return self.exact.iter_errors(instance)

    def _fast_valid(self, instance: Any) -> bool:
        try:
            return bool(self.fast.is_valid(instance))
        except (ValueError, TypeError, OverflowError):  # e.g. an integer beyond 64 bits
            return False


@dataclass(frozen=True)
class Parameter:
    """A path, query, header or cookie parameter with its compiled validator."""

    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]
    validator: CompiledSchema
    primitive: str
    item_primitive: str
    style: str
    explode: bool
    pointer: str = ""


@dataclass(frozen=True)
class MediaType:
    """One documented content type of a request or response body."""

    name: str
    validator: CompiledSchema | None


@dataclass(frozen=True)
class ResponseSpec:
    """One documented response: its media types and required headers."""

    status: str
    content: Mapping[str, MediaType]
    required_headers: tuple[str, ...]
    pointer: str


@dataclass(frozen=True, eq=False)
class Operation:
    """An operation of a spec, compiled: everything a request or response is checked against."""

    api: str
    operation_id: str
    method: str
    path: str
    source: str
    seed: bool
    parameters: tuple[Parameter, ...]
    body_required: bool
    body: Mapping[str, MediaType]
    responses: Mapping[str, ResponseSpec]
    security: tuple[tuple[str, ...], ...]
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def pointer(self) -> str:
        """The operation's JSON pointer inside its document."""
        return f"/paths/{_escape(self.path)}/{self.method.lower()}"

    def response_for(self, status: int) -> ResponseSpec | None:
        """The documented response for `status` (exact, then `4XX`-style, then default)."""
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            found = self.responses.get(key)
            if found is not None:
                return found
        return None

    @property
    def documented_statuses(self) -> tuple[int, ...]:
        """The exact status codes documented on the operation."""
        return tuple(int(code) for code in self.responses if code.isdigit())


@dataclass(frozen=True)
class RouteMatch:
    """The result of routing a method and path: an operation, or why there is none."""

    operation: Operation | None
    path_params: Mapping[str, str]
    path_known: bool
    allowed_methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Route:
    template: str
    regex: re.Pattern[str]
    operations: Mapping[str, Operation]


@dataclass(frozen=True, eq=False)
class Spec:
    """A loaded, checked and compiled spec document."""

    name: str
    file: str
    document: Mapping[str, Any] = field(repr=False)
    operations: tuple[Operation, ...]
    _routes: tuple[_Route, ...] = field(repr=False)

    @property
    def title(self) -> str:
        return str(self.document.get("info", {}).get("title", self.name))

    @property
    def security_schemes(self) -> Mapping[str, Any]:
        return self.document.get("components", {}).get("securitySchemes", {})

    def operation(self, operation_id: str) -> Operation:
        """The operation with this operationId; KeyError naming the known ones otherwise."""
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        known = ", ".join(sorted(op.operation_id for op in self.operations))
        raise KeyError(f"{self.name} has no operation {operation_id!r}; known: {known}")

    def validator_at(self, pointer: str) -> Validator:
        """A validator for the schema at a JSON pointer of the document (not for hot paths)."""
        if _resolve_pointer(self.document, pointer) is None:
            raise SpecError(self.file, pointer, "no schema at this pointer")
        return _Compiler(self.file, self.name, self.document).validator(pointer)

    def match(self, method: str, path: str) -> RouteMatch:
        """Route a request path (without the mount prefix) to its operation."""
        method = method.upper()
        for route in self._routes:
            found = route.regex.fullmatch(path)
            if found is None:
                continue
            op = route.operations.get(method)
            if op is None and method == "HEAD":
                op = route.operations.get("GET")
            return RouteMatch(op, found.groupdict(), True, tuple(route.operations))
        return RouteMatch(None, {}, False)


def spec_path(name: str) -> Path:
    """The bundled document of API `name` (inside the wheel, or the checkout's specs/)."""
    if name not in API_NAMES:
        known = ", ".join(API_NAMES)
        raise SpecError(name, "/", f"unknown API {name!r}; known APIs: {known}")
    bundled = Path(str(resources.files("mockserver"))) / "_specs" / f"{name}.yaml"
    if bundled.is_file():
        return bundled
    return Path(__file__).resolve().parent.parent / "specs" / f"{name}.yaml"


@cache
def _load_bundled(name: str) -> Spec:
    return _load_file(spec_path(name))


def load_spec(source: str | Path) -> Spec:
    """Load a bundled spec by short name (cached), or a spec file by path."""
    if isinstance(source, str) and source in API_NAMES:
        return _load_bundled(source)
    return _load_file(Path(source))


def _load_file(path: Path) -> Spec:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(file, "/", f"cannot read the file: {exc.strerror}") from exc
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    document = _checked_before(digest)
    if document is None:
        document = _parse_yaml(file, text)
        _check_refs(file, document)
        if not _known_valid(digest):
            _check_openapi(file, document)
        _remember_valid(digest, document)
    return _compile(file, path.stem, document)


def _validity_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jobmock" / "valid-specs"


def _known_valid(digest: str) -> bool:
    """Whether a document with exactly this content passed the OpenAPI check before
    (the check is the slow part of loading; its result depends on the content only)."""
    return (_validity_cache() / digest).is_file()


def _checked_before(digest: str) -> dict[str, Any] | None:
    """The parsed document with exactly this content, if it passed every check before and
    was kept as JSON (reading JSON is several times faster than parsing the YAML)."""
    try:
        kept = json.loads((_validity_cache() / digest).read_bytes() or b"null")
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) else None


def _remember_valid(digest: str, document: dict[str, Any]) -> None:
    text = json.dumps(document)
    exact = json.loads(text) == document  # e.g. a non-string key would come back changed
    try:
        _validity_cache().mkdir(parents=True, exist_ok=True)
        (_validity_cache() / digest).write_text(text if exact else "", encoding="utf-8")
    except OSError:  # a read-only home only costs the check next time
        pass


def _parse_yaml(file: str, text: str) -> dict[str, Any]:
    try:
        document = yaml.load(text, Loader=_SpecLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown"
        raise SpecError(file, "/", f"not valid YAML at {where}: {exc}") from exc
    if not isinstance(document, dict):
        raise SpecError(file, "/", "the document must be a mapping with an `openapi` key")
    _stringify_status_keys(document)
    if not str(document.get("openapi", "")).startswith("3.1"):
        found = document.get("openapi")
        raise SpecError(file, "/openapi", f"jobmock needs OpenAPI 3.1.x, found {found!r}")
    return document


def _stringify_status_keys(document: dict[str, Any]) -> None:
    """YAML reads `200:` as an integer; OpenAPI response keys are strings."""
    for item in document.get("paths", {}).values():
        for method in HTTP_METHODS:
            op = item.get(method) if isinstance(item, dict) else None
            if isinstance(op, dict) and isinstance(op.get("responses"), dict):
                op["responses"] = {str(k): v for k, v in op["responses"].items()}


def _check_refs(file: str, document: Mapping[str, Any]) -> None:
    for pointer, ref in _iter_refs(document, ""):
        if not ref.startswith("#/"):
            raise SpecError(file, pointer, f"only local $refs are supported, found {ref!r}")
        if _resolve_pointer(document, ref[1:]) is None:
            raise SpecError(file, pointer, f"$ref {ref!r} points to nothing in this document")


def _iter_refs(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield pointer + "/$ref", ref
        for key, value in node.items():
            yield from _iter_refs(value, f"{pointer}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _iter_refs(value, f"{pointer}/{index}")


def _resolve_pointer(document: Any, pointer: str) -> Any:
    node = document
    for raw in pointer.strip("/").split("/") if pointer.strip("/") else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _check_openapi(file: str, document: Mapping[str, Any]) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator  # slow to import: only if needed

    try:
        error = next(iter(OpenAPIV31SpecValidator(document).iter_errors()), None)
    except Unresolvable as exc:  # pragma: no cover - _check_refs catches these first
        raise SpecError(file, "/", f"unresolvable reference: {exc}") from exc
    if error is not None:
        pointer = "/" + "/".join(_escape(str(p)) for p in getattr(error, "absolute_path", []))
        raise SpecError(file, pointer, getattr(error, "message", str(error)))


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class _Compiler:
    """Builds validators that resolve `$ref`s against the whole document."""

    def __init__(self, file: str, name: str, document: Mapping[str, Any]) -> None:
        self.file = file
        self.name = name
        self.document = document
        self.uri = f"urn:jobmock:spec:{name}"
        resource: Resource[Any] = DRAFT202012.create_resource(document)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)
        self._fast_registry: Any = None
        self._fast_formats = _format_functions(document)

    def validator(self, pointer: str) -> Validator:
        """jsonschema's validator of the schema at `pointer` (resolving `$ref`s)."""
        return Draft202012Validator(
            self._reference(pointer), registry=self.registry, format_checker=_FORMAT_CHECKER
        )

    def compiled(self, pointer: str) -> CompiledSchema:
        """The schema at `pointer`, compiled for the hot path (`CompiledSchema`)."""
        if self._fast_registry is None:
            self._fast_registry = jsonschema_rs.Registry([(self.uri, dict(self.document))])
        fast = jsonschema_rs.Draft202012Validator(
            self._reference(pointer), registry=self._fast_registry, validate_formats=True,
            formats=self._fast_formats)
        return CompiledSchema(self.validator(pointer), fast)

    def _reference(self, pointer: str) -> dict[str, str]:
        return {"$ref": f"{self.uri}#{quote(pointer, safe='/~')}"}

    def resolved(self, node: Any) -> Any:
        """Follow `$ref`s at the top of `node` (not inside it)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            node = _resolve_pointer(self.document, node["$ref"][1:])
        return node


def _format_functions(document: Mapping[str, Any]) -> dict[str, Any]:
    """For every `format` the document names, jsonschema's own check (a name jsonschema does
    not check passes), so that both validators agree on formats by construction."""

    def check(name: str) -> Any:
        return lambda value: _FORMAT_CHECKER.conforms(value, name)

    return {name: check(name) for name in _format_names(document)}


def _format_names(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            found.add(node["format"])
        for value in node.values():
            found |= _format_names(value)
    elif isinstance(node, list):
        for value in node:
            found |= _format_names(value)
    return found


def _compile(file: str, stem: str, document: dict[str, Any]) -> Spec:
    name = str(document.get("info", {}).get("x-jobmock-name", stem))
    compiler = _Compiler(file, name, document)
    operations: list[Operation] = []
    routes: list[_Route] = []
    for template, item in document.get("paths", {}).items():
        by_method = {
            method.upper(): _compile_operation(compiler, template, method, item)
            for method in HTTP_METHODS
            if isinstance(item.get(method), dict)
        }
        operations.extend(by_method.values())
        routes.append(_Route(template, _template_regex(template), by_method))
    routes.sort(key=lambda r: _specificity(r.template))
    return Spec(name, file, document, tuple(operations), tuple(routes))


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(pattern)


def _specificity(template: str) -> tuple[tuple[int, ...], int]:
    """Literal segments win over parameters, earlier segments first."""
    segments = template.strip("/").split("/")
    return tuple(1 if s.startswith("{") else 0 for s in segments), -len(segments)


def _compile_operation(c: _Compiler, template: str, method: str, item: dict[str, Any]) -> Operation:
    raw = item[method]
    pointer = f"/paths/{_escape(template)}/{method}"
    if not raw.get("operationId"):
        raise SpecError(c.file, pointer, "every operation needs an operationId")
    params = _compile_parameters(c, template, method, item)
    body_required, body = _compile_body(c, raw, pointer)
    responses = {
        status: _compile_response(c, f"{pointer}/responses/{_escape(status)}", spec)
        for status, spec in raw.get("responses", {}).items()
    }
    security = raw.get("security", c.document.get("security", []))
    return Operation(
        api=c.name,
        operation_id=raw["operationId"],
        method=method.upper(),
        path=template,
        source=str(raw.get("x-source", "")),
        seed=bool(raw.get("x-seed", False)),
        parameters=tuple(params),
        body_required=body_required,
        body=body,
        responses=responses,
        security=tuple(tuple(req) for req in security),
        raw=raw,
    )


def _compile_parameters(
    c: _Compiler, template: str, method: str, item: dict[str, Any]
) -> list[Parameter]:
    """Path-item parameters, overridden by operation parameters of the same name and place."""
    merged: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for owner, pointer in ((item, f"/paths/{_escape(template)}"),
                           (item[method], f"/paths/{_escape(template)}/{method}")):
        for index, param in enumerate(owner.get("parameters", [])):
            resolved = c.resolved(param)
            where = f"{pointer}/parameters/{index}"
            if "$ref" in param:
                where = param["$ref"][1:]
            merged[(resolved["name"], resolved["in"])] = (where, resolved)
    return [_compile_parameter(c, where, p) for where, p in merged.values()]


def _compile_parameter(c: _Compiler, pointer: str, param: dict[str, Any]) -> Parameter:
    schema = c.resolved(param.get("schema", {}))
    items = c.resolved(schema.get("items", {})) if isinstance(schema, dict) else {}
    location = param["in"]
    default_style = {"query": "form", "cookie": "form"}.get(location, "simple")
    style = param.get("style", default_style)
    return Parameter(
        name=param["name"],
        location=location,
        required=bool(param.get("required", location == "path")),
        schema=schema,
        validator=c.compiled(f"{pointer}/schema"),
        primitive=_primitive(schema),
        item_primitive=_primitive(items),
        style=style,
        explode=bool(param.get("explode", style == "form")),
        pointer=pointer,
    )


def _primitive(schema: Any) -> str:
    """The JSON type a raw string parameter is converted to before validation."""
    if not isinstance(schema, dict):
        return "string"
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared]
    for kind in ("array", "object", "integer", "number", "boolean"):
        if kind in types:
            return kind
    return "string"


def _compile_body(
    c: _Compiler, raw: dict[str, Any], pointer: str
) -> tuple[bool, dict[str, MediaType]]:
    body = c.resolved(raw.get("requestBody"))
    if not isinstance(body, dict):
        return False, {}
    where = raw["requestBody"]["$ref"][1:] if "$ref" in raw["requestBody"] else (
        f"{pointer}/requestBody"
    )
    return bool(body.get("required", False)), _compile_content(c, where, body)


def _compile_content(c: _Compiler, pointer: str, owner: dict[str, Any]) -> dict[str, MediaType]:
    content = owner.get("content", {}) or {}
    media: dict[str, MediaType] = {}
    for name, spec in content.items():
        has_schema = isinstance(spec, dict) and "schema" in spec
        schema_pointer = f"{pointer}/content/{_escape(name)}/schema"
        media[name] = MediaType(name, c.compiled(schema_pointer) if has_schema else None)
    return media


def _compile_response(c: _Compiler, pointer: str, spec: dict[str, Any]) -> ResponseSpec:
    where = spec["$ref"][1:] if "$ref" in spec else pointer
    resolved = c.resolved(spec)
    headers = resolved.get("headers", {}) or {}
    required = tuple(
        name.lower() for name, header in headers.items() if c.resolved(header).get("required")
    )
    status = pointer.rsplit("/", 1)[-1]
    return ResponseSpec(status, _compile_content(c, where, resolved), required, where)
