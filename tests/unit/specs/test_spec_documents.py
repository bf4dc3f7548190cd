"""Every bundled spec is valid OpenAPI 3.1, loads, and every example in it is valid."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_openapi

from mockserver.spec import API_NAMES, load_spec

SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_ONES = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
               "propertyNames", "unevaluatedProperties", "unevaluatedItems")


def _esc(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _schema_examples(node: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """(schema pointer, example name, value) for `example`/`examples` inside a schema."""
    if not isinstance(node, dict):
        return
    if "example" in node:
        yield pointer, "example", node["example"]
    for index, value in enumerate(node.get("examples", []) if isinstance(
            node.get("examples"), list) else []):
        yield pointer, f"examples/{index}", value
    for key in SCHEMA_MAPS:
        for name, child in (node.get(key) or {}).items():
            yield from _schema_examples(child, f"{pointer}/{key}/{_esc(name)}")
    for key in SCHEMA_LISTS:
        for index, child in enumerate(node.get(key) or []):
            yield from _schema_examples(child, f"{pointer}/{key}/{index}")
    for key in SCHEMA_ONES:
        if isinstance(node.get(key), dict):
            yield from _schema_examples(node[key], f"{pointer}/{key}")


def _owner_examples(owner: dict[str, Any], pointer: str) -> Iterator[tuple[str, str, Any]]:
    """Examples on a media type or parameter object, checked against its `schema`."""
    if "schema" not in owner:
        return
    target = f"{pointer}/schema"
    if "example" in owner:
        yield target, f"{pointer}/example", owner["example"]
    for name, example in (owner.get("examples") or {}).items():
        if isinstance(example, dict) and "value" in example:
            yield target, f"{pointer}/examples/{name}", example["value"]
    yield from _schema_examples(owner["schema"], target)


def all_examples(document: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        yield from _schema_examples(schema, f"/components/schemas/{_esc(name)}")
    for name, param in document.get("components", {}).get("parameters", {}).items():
        yield from _owner_examples(param, f"/components/parameters/{_esc(name)}")
    for kind in ("responses", "requestBodies"):
        for name, owner in document.get("components", {}).get(kind, {}).items():
            yield from _content_examples(owner, f"/components/{kind}/{_esc(name)}")
    for template, item in document.get("paths", {}).items():
        yield from _path_examples(item, f"/paths/{_esc(template)}")


def _content_examples(owner: dict[str, Any], pointer: str) -> Iterator[tuple[str, str, Any]]:
    for media, spec in (owner.get("content") or {}).items():
        yield from _owner_examples(spec, f"{pointer}/content/{_esc(media)}")


def _path_examples(item: dict[str, Any], pointer: str) -> Iterator[tuple[str, str, Any]]:
    for index, param in enumerate(item.get("parameters", [])):
        yield from _owner_examples(param, f"{pointer}/parameters/{index}")
    for method, op in item.items():
        if not isinstance(op, dict) or method == "parameters":
            continue
        where = f"{pointer}/{method}"
        for index, param in enumerate(op.get("parameters", [])):
            yield from _owner_examples(param, f"{where}/parameters/{index}")
        if isinstance(op.get("requestBody"), dict):
            yield from _content_examples(op["requestBody"], f"{where}/requestBody")
        for status, response in (op.get("responses") or {}).items():
            yield from _content_examples(response, f"{where}/responses/{status}")


@pytest.mark.parametrize("name", API_NAMES)
def test_spec_is_valid_openapi_31(name: str) -> None:
    spec = load_spec(name)
    assert spec.document["openapi"].startswith("3.1")
    validate_openapi(dict(spec.document))


@pytest.mark.parametrize("name", API_NAMES)
def test_every_operation_has_an_id_and_a_source(name: str) -> None:
    spec = load_spec(name)
    assert spec.operations
    for op in spec.operations:
        assert op.operation_id
        assert op.source, f"{op.operation_id} has no x-source"


@pytest.mark.parametrize("name", API_NAMES)
def test_every_example_in_the_spec_is_valid(name: str) -> None:
    spec = load_spec(name)
    checked = 0
    for schema_pointer, where, value in all_examples(dict(spec.document)):
        errors = list(spec.validator_at(schema_pointer).iter_errors(value))
        assert not errors, f"{name} {where}: {errors[0].message}"
        checked += 1
    assert checked >= 10, f"{name} has only {checked} examples"


@pytest.mark.parametrize("name", API_NAMES)
def test_create_operations_link_to_the_resource(name: str) -> None:
    spec = load_spec(name)
    ids = {op.operation_id for op in spec.operations}
    links = [link for op in spec.operations for response in op.raw["responses"].values()
             for link in (response.get("links") or {}).values()]
    assert links, f"{name} has no links"
    for link in links:
        assert link["operationId"] in ids
