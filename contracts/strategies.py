"""Hypothesis strategies from the spec's own schemas (through hypothesis-jsonschema).

`schema_of` inlines `$ref`s and drops OpenAPI-only keywords, so hypothesis-jsonschema gets a
self-contained JSON Schema; `values(spec, pointer)` is the strategy for the schema there.
Generated values are checked against the compiled validator, so a schema feature the
generator reads differently can never produce a "valid" value the spec rejects.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from mockserver.spec import Operation, Spec

__all__ = ["body_pointer", "body_values", "schema_of", "values"]

_DROP = frozenset({"example", "examples", "discriminator", "xml", "externalDocs",
                   "deprecated", "readOnly", "writeOnly", "$schema", "$id", "description",
                   "title", "default"})
_FORMATS = {"uuid": st.uuids().map(str)}


def schema_of(spec: Spec, pointer: str) -> Any:
    """The schema at `pointer`, self-contained (refs inlined, OpenAPI keywords dropped)."""
    node: Any = spec.document
    for part in pointer.strip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return _inline(spec.document, node, 0)


def _inline(document: Any, node: Any, depth: int) -> Any:
    if depth > 40:
        raise ValueError("schema nests too deeply (recursive $ref?)")
    if isinstance(node, list):
        return [_inline(document, item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _resolve(document, node["$ref"])
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(document, merged, depth + 1)
    return {k: (v if k in ("enum", "const") else _inline(document, v, depth + 1))
            for k, v in node.items() if k not in _DROP and not k.startswith("x-")}


def _resolve(document: Any, ref: str) -> Any:
    node = document
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@cache
def _cached_values(spec: Spec, pointer: str) -> st.SearchStrategy[Any]:
    validator = spec.validator_at(pointer)
    generated = from_schema(schema_of(spec, pointer), custom_formats=_FORMATS, allow_x00=False)
    return generated.filter(validator.is_valid)


def values(spec: Spec, pointer: str) -> st.SearchStrategy[Any]:
    """Values valid against the schema at `pointer` of `spec`."""
    return _cached_values(spec, pointer)


def body_pointer(op: Operation, media: str = "application/json") -> str:
    return f"{op.pointer}/requestBody/content/{media.replace('/', '~1')}/schema"


def body_values(spec: Spec, operation_id: str) -> st.SearchStrategy[Any]:
    """Valid JSON request bodies of an operation."""
    op = spec.operation(operation_id)
    return values(spec, body_pointer(op))
