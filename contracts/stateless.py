"""Stateless, per-operation suites: generated valid and invalid requests.

Positive: parameters and bodies generated from the spec's schemas (hypothesis-jsonschema);
the answer must be documented, conform to its schema, never be a 5xx, and never refuse the
valid credentials sent. Negative: one mutation of a valid request that the spec itself
rejects (a required field dropped, a wrong JSON type, a query value out of range or not a
number, credentials left out); the answer must be a documented 4xx in the vendor's shape.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contracts.client import ApiClient
from contracts.strategies import body_pointer, schema_of, values
from contracts.targets import Target
from mockserver.spec import Operation, Parameter, Spec
from mockserver.validation import MISSING

__all__ = ["Case", "negative_cases", "positive_cases", "stateless_tests"]



@dataclass(frozen=True)
class Case:
    """One generated request of an operation."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: Any = MISSING
    raw_body: bytes | None = None
    auth: bool = True
    mutation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _param_values(spec: Spec, param: Parameter) -> st.SearchStrategy[Any]:
    """Values of a parameter from its schema; free-form strings stay URL-safe (a generated
    `/` would change the route, not test the parameter)."""
    schema = param.schema
    if param.primitive == "string" and not {"pattern", "format", "enum", "const"} & set(schema):
        low = max(int(schema.get("minLength", 1)), 1)
        high = max(min(int(schema.get("maxLength", 16)), 40), low)
        return st.from_regex(rf"[A-Za-z0-9][A-Za-z0-9_-]{{{low - 1},{high - 1}}}",
                             fullmatch=True)
    return values(spec, f"{param.pointer}/schema")


def _path_strategy(spec: Spec, op: Operation) -> st.SearchStrategy[dict[str, Any]]:
    params = {p.name: _param_values(spec, p) for p in op.parameters if p.location == "path"}
    return st.fixed_dictionaries(params)


def _query_strategy(spec: Spec, op: Operation) -> st.SearchStrategy[dict[str, Any]]:
    usable = [p for p in op.parameters if p.location == "query" and p.style != "deepObject"
              and p.primitive != "object"]
    required = {p.name: _param_values(spec, p) for p in usable if p.required}
    optional = {p.name: _param_values(spec, p) for p in usable if not p.required}
    return st.fixed_dictionaries(required, optional=optional).map(_wire_query)


def _wire_query(query: dict[str, Any]) -> dict[str, Any]:
    """JSON values as a query string carries them (booleans lower-case, lists joined)."""
    wire: dict[str, Any] = {}
    for name, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            wire[name] = str(value).lower()
        elif isinstance(value, list):
            wire[name] = ",".join(str(v) for v in value)
        else:
            wire[name] = value
    return wire


_LARGE_SCHEMA = 4000  # characters of the inlined schema: beyond this, generation is slow


def _body_strategy(spec: Spec, op: Operation) -> st.SearchStrategy[Any]:
    """Generated bodies; for large schemas the spec's own valid examples (generating those
    from scratch takes seconds per value and is mostly filtered away)."""
    media = op.body.get("application/json")
    if media is None or media.validator is None:
        return st.just(MISSING)
    examples = [e for e in _examples(op) if media.validator.is_valid(e)]
    size = len(json.dumps(schema_of(spec, body_pointer(op))))
    if examples and size > _LARGE_SCHEMA:
        return st.sampled_from(examples)
    generated = values(spec, body_pointer(op))
    return st.one_of(st.sampled_from(examples), generated) if examples else generated


def _examples(op: Operation) -> list[Any]:
    content = op.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    found = [e["value"] for e in (content.get("examples") or {}).values()
             if isinstance(e, dict) and "value" in e]
    return found + ([content["example"]] if "example" in content else [])


def positive_cases(spec: Spec, op: Operation) -> st.SearchStrategy[Case]:
    """Valid requests of `op`."""
    return st.builds(Case, path=_path_strategy(spec, op), query=_query_strategy(spec, op),
                     body=_body_strategy(spec, op))


def negative_cases(spec: Spec, op: Operation) -> st.SearchStrategy[Case]:
    """Requests of `op` with one mutation that the spec rejects."""
    mutations = _mutations(spec, op)
    if not mutations:
        return st.nothing()
    return positive_cases(spec, op).flatmap(
        lambda case: st.sampled_from(mutations).flatmap(lambda mutate: mutate(case)))


Mutation = Callable[[Case], st.SearchStrategy[Case]]


def _mutations(spec: Spec, op: Operation) -> list[Mutation]:
    found: list[Mutation] = []
    schema = _body_schema(spec, op)
    if isinstance(schema, dict) and schema.get("required") and schema.get("type") == "object":
        found.append(lambda case: _drop_required(spec, op, case, list(schema["required"])))
    if isinstance(schema, dict) and isinstance(schema.get("type"), str):
        found.append(lambda case: _wrong_body_type(spec, op, case, str(schema["type"])))
    for param in op.parameters:
        if param.location == "query" and param.primitive in ("integer", "number"):
            found.append(partial(_just, _not_a_number, param))
            if _bound(param) is not None:
                found.append(partial(_just, _out_of_range, param))
    if op.security and all(requirement for requirement in op.security):
        found.append(lambda case: st.just(Case(case.path, case.query, case.body, auth=False,
                                                mutation="missing-credentials")))
    return found


def _just(mutate: Callable[[Case, Parameter], Case], param: Parameter,
          case: Case) -> st.SearchStrategy[Case]:
    return st.just(mutate(case, param))


def _body_schema(spec: Spec, op: Operation) -> Any:
    if "application/json" not in op.body:
        return None
    return schema_of(spec, body_pointer(op))


def _drop_required(spec: Spec, op: Operation, case: Case,
                   required: list[str]) -> st.SearchStrategy[Case]:
    def drop(name: str) -> Case:
        body = copy.deepcopy(case.body) if isinstance(case.body, dict) else {}
        body.pop(name, None)
        return Case(case.path, case.query, body, mutation=f"missing-required-field:{name}")

    return st.sampled_from(required).map(drop)


_WRONG = {"object": "not an object", "array": {"not": "an array"}, "string": 12345,
          "integer": "12", "number": "1.5", "boolean": "yes"}


def _wrong_body_type(spec: Spec, op: Operation, case: Case, kind: str) -> st.SearchStrategy[Case]:
    wrong = _WRONG.get(kind)
    return st.just(Case(case.path, case.query, wrong, mutation=f"wrong-body-type:{kind}"))


def _not_a_number(case: Case, param: Parameter) -> Case:
    return Case(case.path, {**case.query, param.name: "not-a-number"}, case.body,
                mutation=f"query-not-a-number:{param.name}")


def _bound(param: Parameter) -> Any:
    if "maximum" in param.schema:
        return param.schema["maximum"] + 1
    if "minimum" in param.schema:
        return param.schema["minimum"] - 1
    return None


def _out_of_range(case: Case, param: Parameter) -> Case:
    return Case(case.path, {**case.query, param.name: _bound(param)}, case.body,
                mutation=f"query-out-of-range:{param.name}")


def _send(client: ApiClient, op: Operation, case: Case) -> Any:
    return client.call(op.operation_id, case.path, case.query, body=case.body,
                       raw_body=case.raw_body, auth=case.auth)


def _configured_credentials_suffice(spec: Spec, op: Operation) -> bool:
    """False when every security requirement needs a per-resource credential (a scheme
    marked `x-credential-scope`, e.g. BullMQ's job lock token)."""
    schemes = spec.security_schemes
    return not op.security or any(
        all("x-credential-scope" not in schemes.get(name, {}) for name in requirement)
        for requirement in op.security)


def _positive_test(target: Target, op: Operation) -> Callable[[Case], None]:
    spec = target.spec

    def run(case: Case) -> None:
        client = target.client()
        result = _send(client, op, case)
        if result.status in (401, 403) and _configured_credentials_suffice(spec, op):
            client.fail(op.operation_id, "valid-credentials-accepted",
                        f"valid credentials were refused with {result.status}")

    return run


def _negative_test(target: Target, spec: Spec, op: Operation) -> Callable[[Case], None]:
    def run(case: Case) -> None:
        if case.mutation.startswith(("missing-required", "wrong-body")):
            validator = op.body["application/json"].validator
            assume(validator is not None and not validator.is_valid(case.body))
        client = target.client()
        result = _send(client, op, case)
        if not 400 <= result.status < 500:
            client.fail(op.operation_id, "invalid-request-rejected",
                        f"{case.mutation}: answered {result.status}, expected a documented 4xx")
        if case.mutation == "missing-credentials" and result.status != 401:
            client.fail(op.operation_id, "missing-credentials-rejected",
                        f"answered {result.status} without credentials, expected 401")

    return run


def stateless_tests(target: Target, op: Operation, max_examples: int,
                    seed: int | None = None) -> list[tuple[str, Callable[[], None]]]:
    """(kind, test) pairs for one operation; each test raises ContractFailure on a failure."""
    spec = target.spec
    budget = settings(max_examples=max_examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), derandomize=seed is not None)
    tests: list[tuple[str, Callable[[], None]]] = [
        ("positive", budget(given(positive_cases(spec, op))(_positive_test(target, op)))),
    ]
    if _mutations(spec, op):
        negative = given(negative_cases(spec, op))(_negative_test(target, spec, op))
        tests.append(("negative", budget(negative)))
    return tests
