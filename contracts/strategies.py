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
from jsonschema import Draft202012Validator

from mockserver.spec import Operation, Spec

__all__ = ["body_pointer", "body_values", "schema_of", "strategy_for", "values"]

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
    return {k: _inline_member(document, k, v, depth) for k, v in node.items()
            if k not in _DROP and not k.startswith("x-")}


_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions",
                        "dependentSchemas"})


def _inline_member(document: Any, key: str, value: Any, depth: int) -> Any:
    """One member of a schema object; the members of a map of names (`properties`) are
    schemas whatever their names are (a property may well be called `description`)."""
    if key in ("enum", "const"):
        return value
    if key in _NAME_MAPS and isinstance(value, dict):
        return {name: _inline(document, sub, depth + 1) for name, sub in value.items()}
    return _inline(document, value, depth + 1)


def _resolve(document: Any, ref: str) -> Any:
    node = document
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def strategy_for(schema: Any) -> st.SearchStrategy[Any]:
    """Values of a self-contained schema. Objects with plain `properties` and arrays with
    plain `items` are composed here from their members' strategies (hypothesis-jsonschema
    draws whole objects slowly: it re-canonicalises sub-schemas on every draw); leaves and
    anything else go to hypothesis-jsonschema. Every value is a valid one, and some valid
    values are never drawn: no undeclared members, at most a few members of a free-form
    object. "Exactly one of these keys" (SAP's schedules) is drawn as such, not rejected."""
    if not isinstance(schema, dict):
        return _from_schema(schema)
    branches = _alternatives(schema)
    if branches:
        return st.one_of([strategy_for(branch) for branch in branches])
    if _plain(schema, "object", _OBJECT_KEYS) and schema.get("properties"):
        return _object_values(schema, list(schema.get("required", [])))
    one_key = _exactly_one_key(schema)
    if one_key:
        return st.one_of([_object_values(schema, [*schema.get("required", []), key],
                                         excluded=set(one_key) - {key}) for key in one_key])
    if _plain(schema, "array", _ARRAY_KEYS) and isinstance(schema.get("items"), dict):
        low = int(schema.get("minItems", 0))
        high = min(int(schema.get("maxItems", low + 3)), low + 3)
        return st.lists(strategy_for(schema["items"]), min_size=low, max_size=high)
    if isinstance(schema.get("not"), dict) and _plain(_without_not(schema), "object",
                                                      _OBJECT_KEYS):
        excluded = Draft202012Validator(schema["not"])
        return strategy_for(_without_not(schema)).filter(lambda v: not excluded.is_valid(v))
    if _plain(schema, "object", _OBJECT_KEYS) and schema.get("additionalProperties", True) is True:
        scalars = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none())
        return st.dictionaries(st.text(min_size=1, max_size=12), scalars, max_size=3)
    return _from_schema(schema)


_OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties"})
_ARRAY_KEYS = frozenset({"type", "items", "minItems", "maxItems"})


def _alternatives(schema: dict[str, Any]) -> list[Any]:
    """Branches whose values are exactly the schema's: an `anyOf` alone, a `oneOf` alone
    whose branches have disjoint types, or one branch per type of a list of types."""
    if set(schema) == {"anyOf"}:
        return list(schema["anyOf"])
    if set(schema) == {"oneOf"} and _disjoint_types(schema["oneOf"]):
        return list(schema["oneOf"])
    kinds = schema.get("type")
    if isinstance(kinds, list) and len(kinds) > 1 and len(set(kinds)) == len(kinds) and (
            "integer" not in kinds or "number" not in kinds):
        return [{**schema, "type": kind} for kind in kinds]
    return []


def _disjoint_types(branches: list[Any]) -> bool:
    kinds: list[set[str]] = []
    for branch in branches:
        kind = branch.get("type") if isinstance(branch, dict) else None
        if not kind:
            return False
        kinds.append({kind} if isinstance(kind, str) else set(kind))
    every = set().union(*kinds)
    return sum(map(len, kinds)) == len(every) and not {"integer", "number"} <= every


def _without_not(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "not"}


def _from_schema(schema: Any) -> st.SearchStrategy[Any]:
    return from_schema(schema, custom_formats=_FORMATS, allow_x00=False)


def _plain(schema: dict[str, Any], kind: str, keys: frozenset[str]) -> bool:
    return schema.get("type") == kind and set(schema) <= keys


def _object_values(schema: dict[str, Any], required: list[str],
                   excluded: frozenset[str] | set[str] = frozenset()) -> st.SearchStrategy[Any]:
    properties = schema.get("properties", {})
    if any(name not in properties for name in required) or any(
            properties[name] is False for name in required):
        return _from_schema(schema)
    members = {name: strategy_for(sub) for name, sub in properties.items()
               if name not in excluded and sub is not False}
    return st.fixed_dictionaries({name: members[name] for name in required},
                                 optional={name: value for name, value in members.items()
                                           if name not in required})


def _exactly_one_key(schema: dict[str, Any]) -> list[str]:
    """The keys of an object schema that says "exactly one of these keys" as an `anyOf` of
    single `required` and a `not` of the `anyOf` of every pair; [] for any other schema."""
    any_of, not_ = schema.get("anyOf"), schema.get("not")
    rest = set(schema) - {"anyOf", "not"}
    if schema.get("type") != "object" or not rest <= _OBJECT_KEYS:
        return []
    if not (isinstance(any_of, list) and isinstance(not_, dict) and set(not_) == {"anyOf"}):
        return []
    if not all(isinstance(b, dict) and set(b) == {"required"} and len(b["required"]) == 1
               for b in any_of):
        return []
    keys = [b["required"][0] for b in any_of]
    pairs = [frozenset(b.get("required", ())) for b in not_["anyOf"] if isinstance(b, dict)]
    every_pair = {frozenset((a, b)) for a in keys for b in keys if a < b}
    return keys if set(pairs) == every_pair and len(pairs) == len(not_["anyOf"]) else []


@cache
def _cached_values(spec: Spec, pointer: str) -> st.SearchStrategy[Any]:
    validator = spec.validator_at(pointer)
    generated = strategy_for(schema_of(spec, pointer))
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
