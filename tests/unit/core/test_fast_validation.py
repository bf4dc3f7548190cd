"""The fast validator (jsonschema-rs) never accepts what jsonschema rejects, so `CompiledSchema`
answers exactly as jsonschema does, on every schema the mock checks.

`CompiledSchema` trusts jsonschema-rs when it says an instance is valid, and asks jsonschema
otherwise. So it is exact as long as jsonschema-rs is sound: "valid" from it implies valid
for jsonschema. The converse may fail without harm (it only costs time): Python's `$` in a
`pattern` also matches before a final line feed, Rust's does not, so `"job_1\n"` against
`^[A-Za-z0-9_-]*[A-Za-z_-][A-Za-z0-9_-]*$` is rejected by jsonschema-rs, then accepted by
jsonschema.

These tests check soundness and the composite's verdict, for every parameter, request-body and
response-body schema of the five specs, on: every example the documents and the example
fixtures hold (each tried against every schema of its API, so most are invalid there), values
known to split validators (64-bit overflow, 1.0 as an integer, booleans as numbers, a
trailing line feed against an anchored pattern, formats), values generated from each schema
by hypothesis-jsonschema, the same values with one part replaced by arbitrary JSON, and
arbitrary JSON.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from contracts.strategies import schema_of
from mockserver.spec import API_NAMES, CompiledSchema, Spec, load_spec

FIXTURES = Path(__file__).parents[2] / "data" / "examples"
SPLITTERS: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 1.5, 2**63, 2**64, -(2**63) - 1, 2**70, float("inf"),
    float("nan"), "", "x", "1", "true", "job_1\n", "run_12", "job_0", "2024-06-10T15:22:30Z",
    "2024-06-10T15:22:30z", "2024-13-40T99:99:99Z", "2024-06-10", "2024-02-30",
    "https://example.com/hook", "not a uri", "urn:x", "123e4567-e89b-12d3-a456-426614174000",
    "123e4567e89b12d3a456426614174000", "ZZZe4567-e89b-12d3-a456-426614174000",
    "/scheduler/jobs/12\n", "0 6 * * *", "0 6 * * *\n", "s3://bucket/", "ftp://x", [], [1],
    {}, {"": None}, {"name": "n", "agent_name": "a"},
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _schemas(spec: Spec) -> list[tuple[str, CompiledSchema]]:
    """(JSON pointer, compiled schema) of every schema the pipeline validates against."""
    found: dict[str, CompiledSchema] = {}
    for op in spec.operations:
        for param in op.parameters:
            found[f"{param.pointer}/schema"] = param.validator
        media_lists = [op.body, *(r.content for r in op.responses.values())]
        for content in media_lists:
            for media in content.values():
                if media.validator is not None:
                    reference = str(media.validator.exact.schema["$ref"])
                    found[unquote(reference.split("#", 1)[1])] = media.validator
    return sorted(found.items())


def _examples(node: Any) -> list[Any]:
    """Every `example` value and every entry of `examples` anywhere under `node`."""
    found: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "example":
                found.append(value)
            elif key == "examples" and isinstance(value, list):
                found.extend(value)
            elif key == "examples" and isinstance(value, dict):
                found.extend(v["value"] for v in value.values()
                             if isinstance(v, dict) and "value" in v)
            found.extend(_examples(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_examples(value))
    return found


def _fixture_bodies(api: str) -> list[Any]:
    data = yaml.safe_load((FIXTURES / f"{api}.yaml").read_text(encoding="utf-8"))
    return [entry["body"] for section in data.values() if isinstance(section, list)
            for entry in section if isinstance(entry, dict) and "body" in entry]


def _agree(schema: CompiledSchema, value: Any) -> bool:
    """jsonschema-rs is sound on `value`, and the composite answers as jsonschema does."""
    exact = schema.exact.is_valid(value)
    sound = exact or not schema._fast_valid(value)
    issues = list(schema.iter_errors(value))
    return sound and schema.is_valid(value) == exact and (not issues) == exact


@pytest.mark.parametrize("api", API_NAMES)
def test_agree_on_every_example_and_splitting_value(api: str) -> None:
    spec = load_spec(api)
    values = [*_examples(spec.document), *_fixture_bodies(api), *SPLITTERS]
    schemas = _schemas(spec)
    assert len(schemas) > 10 and len(values) > len(SPLITTERS)
    verdicts = {True: 0, False: 0}
    for pointer, schema in schemas:
        for value in values:
            assert _agree(schema, value), f"{api} {pointer}: the validators split on {value!r}"
            verdicts[schema.exact.is_valid(value)] += 1
    assert verdicts[True] and verdicts[False]  # both answers were exercised


@cache
def _generated(api: str, pointer: str) -> st.SearchStrategy[Any]:
    return from_schema(schema_of(load_spec(api), pointer), allow_x00=False)


def _body_pointers(api: str) -> list[str]:
    return [p for p, _ in _schemas(load_spec(api)) if "/parameters/" not in p]


def _replace_somewhere(data: st.DataObject, value: Any) -> Any:
    """`value` with one nested part (or the whole) replaced by arbitrary JSON."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        return {**value, key: _replace_somewhere(data, value[key])}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], _replace_somewhere(data, value[index]), *value[index + 1:]]
    return data.draw(JSON)


@pytest.mark.parametrize("api", API_NAMES)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_agree_on_generated_and_mutated_values(api: str, data: st.DataObject) -> None:
    spec = load_spec(api)
    pointer = data.draw(st.sampled_from(_body_pointers(api)), label="schema")
    schema = dict(_schemas(spec))[pointer]
    generated = data.draw(_generated(api, pointer), label="generated")
    assert _agree(schema, generated), f"{pointer}: split on generated {generated!r}"
    mutated = _replace_somewhere(data, generated)
    assert _agree(schema, mutated), f"{pointer}: split on mutated {mutated!r}"
    anything = data.draw(JSON, label="arbitrary")
    assert _agree(schema, anything), f"{pointer}: split on arbitrary {anything!r}"


def test_a_trailing_line_feed_is_decided_by_jsonschema() -> None:
    name = next(p for p in load_spec("sap").operation("listJobs").parameters if p.name == "name")
    schema = name.validator  # pattern ^[A-Za-z0-9_-]*[A-Za-z_-][A-Za-z0-9_-]*$
    assert not schema._fast_valid("job_1\n")  # Rust's `$`
    assert schema.exact.is_valid("job_1\n") and schema.is_valid("job_1\n")  # Python's `$`


def test_a_rejected_instance_gets_jsonschemas_issues() -> None:
    schema = load_spec("nimble").operation("update_job_v1_jobs__job_id__patch").body[
        "application/json"].validator
    assert schema is not None
    bad = {"schedule": 5}
    assert not schema.is_valid(bad)
    assert [e.message for e in schema.iter_errors(bad)] == [
        e.message for e in schema.exact.iter_errors(bad)] != []
    assert list(schema.iter_errors({"display_name": "ok"})) == []
